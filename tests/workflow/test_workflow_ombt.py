"""Real snakemake on a copy of the real campaign: the table's contract, all 8 runs."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, controller_log, run_ids, snakemake, write_config
from independent import histogram, load_sides, side_expected
from independent_messages import expected_summary, expected_timeline

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wf")
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    cfg = write_config(work, {"ex": camp}, influx={"enabled": False})
    res = snakemake(work, cfg)
    assert res.returncode == 0, res.output
    return work


@pytest.fixture(scope="module")
def table(processed: Path) -> pd.DataFrame:
    return pd.read_parquet(processed / "results/ex/campaign.parquet")


def test_one_row_per_run_in_params_order(table: pd.DataFrame) -> None:
    assert list(table["run_id"]) == run_ids()
    assert list(table["run_id"]) == list(table["backup_dir"])
    assert set(table["status"]) == {"ok"}
    assert (table["problems"] == "").all()


def test_params_are_columns_verbatim(table: pd.DataFrame) -> None:
    params = json.loads((EXAMPLE / "params.json").read_text())
    for p, row in zip(params, table.to_dict("records"), strict=True):
        for k, v in p.items():
            assert row[k] == v, k


@pytest.mark.parametrize("run", run_ids())
def test_every_column_matches_raw_json(table: pd.DataFrame, run: str) -> None:
    row = table.set_index("run_id").loc[run]
    sides = load_sides(controller_log(EXAMPLE / run))
    assert row["n_clients"] == len(sides["client"])
    assert row["n_servers"] == len(sides["server"])
    for side, agents in sides.items():
        for col, want in side_expected(agents).items():
            got = row[f"{side}_{col}"]
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9), (side, col, got, want)


def _controller_text_blocks(docker_log: Path) -> dict[str, dict[str, float]]:
    """The aggregated results that ombt itself printed in the *_docker.log human text."""
    text = docker_log.read_text()
    out = {}
    for side, title in (("client", "Client"), ("server", "Server")):
        m = re.search(rf"Aggregated RPC {title} results:\n-+\n(.*?)(?:\n\n|\Z)", text, re.S)
        assert m, f"no {title} block in {docker_log}"
        block = m.group(1)
        total = int(re.search(r"Total Messages: (\d+)", block).group(1))
        s, e, d = map(float, re.search(r"Test Interval: ([\d.]+) - ([\d.]+) \(([\d.]+) secs",
                                       block).groups())
        thr = float(re.search(r"Aggregate throughput: ([\d.]+)", block).group(1))
        n, avg, std, lo, hi = re.search(
            r"Latency (\d+) samples \(msecs\): Average ([\d.]+) StdDev ([\d.]+) "
            r"Min ([\d.]+) Max ([\d.]+)", block).groups()
        out[side] = {"total": total, "start_time": s, "stop_time": e, "duration_s": d,
                     "rate": thr, "latency_count": int(n), "latency_mean_ms": float(avg),
                     "latency_std_ms": float(std), "latency_min_ms": float(lo),
                     "latency_max_ms": float(hi)}
    return out


@pytest.mark.parametrize("run", run_ids())
def test_matches_what_ombt_printed(table: pd.DataFrame, run: str) -> None:
    """ombt's controller printed its own merge (6 decimals) in the _docker.log."""
    row = table.set_index("run_id").loc[run]
    docker = next((EXAMPLE / run).glob("*_docker.log"))
    for side, printed in _controller_text_blocks(docker).items():
        assert row[f"{side}_msgs_ok"] + row[f"{side}_msgs_fail"] == printed.pop("total")
        for col, want in printed.items():
            assert abs(row[f"{side}_{col}"] - want) <= 1e-6 * max(1.0, abs(want)) + 1e-6, col


@pytest.mark.parametrize("run", run_ids())
def test_per_run_parquet(processed: Path, run: str) -> None:
    folder = processed / "results/ex/runs" / run
    sides = load_sides(controller_log(EXAMPLE / run))
    agents = pd.read_parquet(folder / "agents.parquet")
    assert sorted(agents["agent_id"]) == sorted([*sides["client"], *sides["server"]])
    for rec in agents.to_dict("records"):
        raw = sides[rec["side"]][rec["agent_id"]]
        assert rec["msgs_ok"] == raw["msgs_ok"] and rec["msgs_fail"] == raw["msgs_fail"]
        assert rec["latency_count"] == raw["latency"]["count"]
        assert rec["latency_min"] == raw["latency"]["min"]
        assert rec["controller_file"] == controller_log(EXAMPLE / run).name
    hist = pd.read_parquet(folder / "latency_hist.parquet")
    for side, agents_raw in sides.items():
        want = histogram(agents_raw)
        h = hist[hist["side"] == side]
        assert sorted(set(h["decade"])) == sorted(want)
        for rec in h.to_dict("records"):
            assert rec["count"] == want[rec["decade"]][rec["bucket"]]
            assert rec["lower_ms"] == rec["bucket"] * 10.0 ** rec["decade"]
            assert rec["upper_ms"] == (rec["bucket"] + 1) * 10.0 ** rec["decade"]
        assert h["count"].sum() == sum(a["latency"]["count"] for a in agents_raw.values())


def test_csv_and_seed_notebook_files(processed: Path, table: pd.DataFrame) -> None:
    csv = pd.read_csv(processed / "results/ex/campaign.csv")
    assert list(csv.columns) == list(table.columns)
    assert (csv["client_rate"] - table["client_rate"]).abs().max() < 1e-9
    calc = json.loads((processed / "results/ex/params_calculated.json").read_text())
    assert [c["backup_dir"] for c in calc] == run_ids()
    for c in calc:
        sides = load_sides(controller_log(EXAMPLE / c["backup_dir"]))
        assert c["_ombt_clients"] == len(sides["client"])
        agg = c["_agg_clients"]
        assert agg["msgs_ok"] == sum(a["msgs_ok"] for a in sides["client"].values())
        assert agg["latency"]["distribution"] == {
            str(k): v.tolist() for k, v in histogram(sides["client"]).items()}
        assert c["_ombt_msgs_received_ok"]["max"] == max(
            a["msgs_ok"] for a in sides["server"].values())
    stats = json.loads((processed / "results/ex/all_stats.json").read_text())
    for key in ("_ombt_clients", "client_rate", "server_latency", "client_latency",
                "per_client_ok", "server_rate"):
        assert key in stats, key
    # the seed notebook divided the clients' total by the SERVERS' count: not here
    for i, run in enumerate(run_ids()):
        sides = load_sides(controller_log(EXAMPLE / run))
        cl = sides["client"].values()
        want = sum(a["latency"]["total"] for a in cl) / sum(a["latency"]["count"] for a in cl)
        assert math.isclose(stats["client_latency"][str(i)], want, rel_tol=1e-12)


def test_problems_csv_empty_on_good_campaign(processed: Path) -> None:
    problems = pd.read_csv(processed / "results/ex/problems.csv")
    assert list(problems.columns) == ["run_id", "label", "status", "problems"]
    assert problems.empty


@pytest.mark.parametrize("run", run_ids())
def test_message_columns_match_the_agents_logs(table: pd.DataFrame, processed: Path,
                                               run: str) -> None:
    """Every per-message contract column of the table and the run's timeline, against an
    independent recomputation from the agents' raw JSON lines
    (tests/support/independent_messages)."""
    row = table.set_index("run_id").loc[run]
    want = expected_summary(EXAMPLE / run)
    assert want["msg_sent"] > 0
    for col, v in want.items():
        got = row[col]
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got), col
        else:
            assert math.isclose(got, v, rel_tol=1e-12, abs_tol=1e-9), (col, got, v)
    tl = pd.read_parquet(processed / "results/ex/runs" / run / "timeline.parquet")
    want_tl = expected_timeline(EXAMPLE / run)
    assert len(tl) == len(want_tl)
    for rec in tl.to_dict("records"):
        count, errors, p50, p99, mx = want_tl[(rec["second"], rec["side"])]
        assert (rec["count"], rec["errors"]) == (count, errors)
        for got, exp in ((rec["p50_ms"], p50), (rec["p99_ms"], p99), (rec["max_ms"], mx)):
            # NaN both: a second without messages (count 0)
            assert (math.isnan(got) and math.isnan(exp)) or \
                math.isclose(got, exp, rel_tol=1e-12, abs_tol=1e-9)


def test_message_figures_are_drawn(processed: Path, table: pd.DataFrame) -> None:
    figs = processed / "results/ex/figures"
    nines = pd.read_csv(figs / "latency_nines" / "manifest.csv")
    assert set(nines["status"]) == {"written"} and len(nines) == 2  # rpc-call, rpc-cast
    timelines = pd.read_csv(figs / "message_timeline" / "manifest.csv")
    assert sorted(timelines["name"]) == sorted(table["label"])
    assert set(timelines["status"]) == {"written"}
    data = pd.read_csv(figs / "latency_nines" / "driver=broker__call_type=rpc-cast.csv")
    by_run = data.set_index(["run_id", "kind", "quantile"])["latency_ms"]
    for run in table[table["call_type"] == "rpc-cast"]["run_id"]:
        want = expected_summary(EXAMPLE / run)
        assert math.isclose(by_run[(run, "rtt", "99.9%")], want["rtt_p999_ms"], rel_tol=1e-9)
        assert math.isclose(by_run[(run, "oneway", "max")], want["oneway_max_ms"], rel_tol=1e-9)
