"""The comparison wired in the real workflow and the CLI (issue 24): two synthetic
campaigns of the same seed, the candidate's latencies scaled by 1.2 and one of its runs
missing; per-run .hgrm files checked against the raw agent logs."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, snakemake, write_config

from ombt_postmortem.synth import SynthSpec, synth_campaign

pytestmark = pytest.mark.workflow

SPEC = SynthSpec(clients=(2, 4, 8), servers=(1,), call_types=("rpc-call",), nbr_calls=2000,
                 pause=0.005, influx=False, agent_logs=True)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("compare")
    synth_campaign(work / "base", SPEC)
    synth_campaign(work / "slow", dataclasses.replace(SPEC, latency_scale=1.2))
    params = json.loads((work / "slow" / "params.json").read_text())
    dropped = [p for p in params if p["nbr_clients"] == 8]
    (work / "slow" / "params.json").write_text(
        json.dumps([p for p in params if p["nbr_clients"] != 8]))
    (work / "dropped.txt").write_text(dropped[0]["backup_dir"])
    cfg = write_config(work, {"base": work / "base", "slow": work / "slow"},
                       influx={"enabled": False}, figures={"per_run": False},
                       compare={"baseline": "base", "candidate": "slow", "hgrm": True})
    res = snakemake(work, cfg)
    assert res.returncode == 0, res.output[-3000:]
    return work


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "compare", *args],
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})


def test_deltas_worse_with_intervals_and_missing_run_listed(compared: Path) -> None:
    out = compared / "results" / "comparison" / "base_vs_slow"
    d = pd.read_parquet(out / "deltas.parquet")
    assert pd.read_csv(out / "deltas.csv").shape == d.shape
    assert sorted(d["pair"].unique()) == ["nbr_clients=2", "nbr_clients=4"]
    for metric in ("p50", "p99", "oneway_p50", "oneway_p99"):
        rows = d[d["metric"] == metric]
        assert (rows["verdict"] == "worse").all(), rows
        assert (rows["ci_low"] <= 1.2).all() and (rows["ci_high"] >= 1.2).all()
        assert (rows["ci_low"] > 1.0).all()
    assert (d.loc[d["metric"] == "p50", "source"] == "exact").all()
    # the point values are those the per-message stage wrote into the campaign tables
    for side, run_col in (("baseline", "baseline_run"), ("candidate", "candidate_run")):
        table = pd.read_parquet(compared / "results" / ("base" if side == "baseline"
                                                        else "slow") / "campaign.parquet")
        by_run = table.set_index("run_id")
        for metric, col in (("p50", "rtt_p50_ms"), ("p99", "rtt_p99_ms"),
                            ("p999", "rtt_p999_ms"), ("oneway_p50", "oneway_p50_ms"),
                            ("oneway_p99", "oneway_p99_ms"), ("throughput", "steady_rate"),
                            ("errors", "msg_errors"), ("unreceived", "msg_unreceived")):
            rows = d[d["metric"] == metric]
            want = by_run.loc[rows[run_col], col].to_numpy(dtype=float)
            assert rows[side].to_numpy() == pytest.approx(want, rel=1e-12), metric
    unmatched = pd.read_csv(out / "unmatched.csv")
    assert unmatched[["side", "run_id"]].values.tolist() == [
        ["baseline", (compared / "dropped.txt").read_text()]]
    assert (out / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    notes = (out / "notes.txt").read_text()
    assert "runs on one side only (1)" in notes and "nbr_clients=8" in notes


def test_agent_logs_and_per_message_give_the_same_samples(compared: Path,
                                                          tmp_path: Path) -> None:
    """The workflow's compare job re-read the agent logs (per_message.parquet not kept);
    given per_message.parquet files written from the same logs instead, the library gives
    the very same deltas (same samples, same bootstrap seed)."""
    import pyarrow.parquet as pq

    from ombt_postmortem.compare import Side, compare_campaigns
    from ombt_postmortem.layout import PER_MESSAGE, run_key
    from ombt_postmortem.messages import analyse_messages

    res = compared / "results"
    sides = []
    for name in ("base", "slow"):
        table = pd.read_parquet(res / name / "campaign.parquet")
        runs = tmp_path / name
        for run_id in table["run_id"]:
            r = analyse_messages(compared / name / run_id, run_id, keep_per_message=True)
            (runs / run_key(run_id)).mkdir(parents=True)
            pq.write_table(r.per_message, runs / run_key(run_id) / PER_MESSAGE)
        opened = Side.open(res / name)
        sides.append(Side(name, table, opened.params, runs, campaign_folder=None))
    got = compare_campaigns(*sides).deltas
    want = pd.read_parquet(res / "comparison" / "base_vs_slow" / "deltas.parquet")
    cols = ["pair", "metric", "baseline", "candidate", "ratio", "ci_low", "ci_high", "verdict"]
    pd.testing.assert_frame_equal(got[cols], want[cols])


def raw_latencies(run: Path) -> tuple[np.ndarray, np.ndarray]:
    """Round trips and one-way times (ms) straight from the agents' JSON lines."""
    rtt, oneway = [], []
    for log in run.glob("*.log"):
        if "controller" in log.name:
            continue
        for line in log.read_text().splitlines():
            obj = json.loads(line)
            if "id" not in obj:
                continue
            if "recv" in obj:
                oneway.append((obj["recv"] - obj["start"]) * 1000.0)
            elif "error" not in obj:
                rtt.append((obj["stop"] - obj["start"]) * 1000.0)
    return np.array(rtt), np.array(oneway)


def test_hgrm_files_parse_back_to_the_exact_quantiles(compared: Path) -> None:
    from test_hgrm import parse_hgrm

    table = pd.read_parquet(compared / "results" / "base" / "campaign.parquet")
    folder = compared / "results" / "base" / "hgrm"
    assert sorted(p.name for p in folder.glob("*.hgrm")) == sorted(
        f"{label}.{kind}.hgrm" for label in table["label"] for kind in ("rtt", "oneway"))
    for run_id, label in zip(table["run_id"], table["label"], strict=True):
        for kind, raw in zip(("rtt", "oneway"), raw_latencies(compared / "base" / run_id),
                             strict=True):
            rows, footer = parse_hgrm((folder / f"{label}.{kind}.hgrm").read_text())
            srt = np.sort(raw)
            assert footer["Total count"] == len(raw)
            for value, p, count in rows:
                k = max(math.ceil(p * len(raw) - 1e-9), 1)
                assert value == pytest.approx(srt[k - 1], abs=5e-7)
                assert count == int((raw <= srt[k - 1]).sum())
            row50 = next(r for r in rows if r[1] == 0.5)
            assert row50[0] == pytest.approx(np.quantile(raw, 0.5, method="inverted_cdf"),
                                             abs=5e-7)


def test_cli_exit_status(compared: Path) -> None:
    res = compared / "results"
    slower = cli(str(res / "base"), str(res / "slow"), "--baseline-backup",
                 str(compared / "base"), "--candidate-backup", str(compared / "slow"))
    assert slower.returncode == 1, slower.stderr
    assert "worse" in slower.stdout and "nbr_clients=8" in slower.stdout
    faster = cli(str(res / "slow"), str(res / "base"), "--baseline-backup",
                 str(compared / "slow"), "--candidate-backup", str(compared / "base"))
    assert faster.returncode == 0, faster.stdout
    assert "better" in faster.stdout
    # a threshold above the change: nothing is worse by more than it
    tolerant = cli(str(res / "base"), str(res / "slow"), "--threshold", "60",
                   "--baseline-backup", str(compared / "base"),
                   "--candidate-backup", str(compared / "slow"))
    assert tolerant.returncode == 0, tolerant.stdout
    # no samples (no per_message.parquet, no backup given): exact values, no interval
    blind = cli(str(res / "base"), str(res / "slow"))
    assert blind.returncode == 0 and "no interval" in blind.stdout
    missing = cli(str(compared / "nowhere"), str(res / "slow"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
