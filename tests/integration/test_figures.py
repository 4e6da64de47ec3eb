"""Figures from Python (no Snakemake): each figure's CSV against values computed here.

The expected values are computed in this file from the campaign table and the
raw controller JSON with plain pandas/numpy, never with the figure code.
"""

from __future__ import annotations

import json
import logging
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, REPO, controller_log
from independent import histogram, labels_by_what_varies, load_sides
from PIL import Image

from ombt_postmortem.campaign import write_campaign
from ombt_postmortem.figspec import figure_paths
from ombt_postmortem.figures import (
    FigureOptions,
    bus_timeseries,
    campaign_comparison,
    campaign_table_html,
    latency_histograms,
    latency_overlay,
    load_curves,
    resources_comparison,
    resources_vs_load,
)
from ombt_postmortem.figures.distributions import histogram_data
from ombt_postmortem.layout import CampaignDir
from ombt_postmortem.ombt.run import analyse_run, write_run_stats
from ombt_postmortem.params import load_params, run_key

PARAMS = list(dict.fromkeys(k for r in load_params(EXAMPLE) for k in r.params
                            if k != "backup_dir"))
VALUES = ("rate", "latency_mean_ms", "latency_p50_ms", "latency_p99_ms")
#: run_id -> the name of its per-run figures: the parameters that vary, computed here
LABELS = labels_by_what_varies(json.loads((EXAMPLE / "params.json").read_text()))
METRICS = ["min_usage_idle_bus", "min_usage_idle_ombt_server", "mem_used", "connections",
           "consumers", "queues", "exchanges", "fd_used", "sockets_used",
           "messages_delivered_in_run"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """The real example's campaign table and runs folder, made by stages 1 and 3."""
    out = tmp_path_factory.mktemp("figs-table")
    runs = out / "runs"
    for run in load_params(EXAMPLE):
        d = runs / run.key
        d.mkdir(parents=True)
        write_run_stats(analyse_run(EXAMPLE / run.run_id, run.run_id), d / "ombt.parquet",
                        d / "agents.parquet", d / "latency_hist.parquet")
    write_campaign(EXAMPLE, CampaignDir(out), with_metrics=False)
    return pd.read_parquet(out / "campaign.parquet"), runs


def hist_files(runs: Path, table: pd.DataFrame) -> dict[str, Path]:
    """run_id -> its latency_hist.parquet under ``runs`` (spelled here, not by the product)."""
    return {r: runs / run_key(r) / "latency_hist.parquet" for r in table["run_id"]}


@pytest.fixture(scope="module")
def table(built: tuple[pd.DataFrame, Path]) -> pd.DataFrame:
    return built[0]


def two_drivers(table: pd.DataFrame, runs: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The table plus a copy of its rpc-call runs as driver 'qdr' (same histograms x 2
    shifted one bucket up), and the run_id -> histogram mapping of all rows."""
    hists = {r: pd.read_parquet(runs / run_key(r) / "latency_hist.parquet")
             for r in table["run_id"]}
    qdr = table[table["call_type"] == "rpc-call"].copy()
    qdr["driver"] = "qdr"
    qdr["run_id"] = qdr["run_id"] + "-qdr"
    for r in qdr["run_id"]:
        h = hists[r[: -len("-qdr")]].copy()
        h["count"] = np.roll(h["count"].to_numpy(), 1) * 2  # a different distribution
        h.loc[(h["decade"] >= 1) & (h["bucket"] == 0), "count"] = 0
        hists[r] = h
    return pd.concat([table, qdr], ignore_index=True), hists


# --------------------------------------------------------------------------- independent


def expected_load(table: pd.DataFrame, where: dict[str, object]) -> pd.DataFrame:
    """Rows run x side of the campaign table's subset, with the four plotted values."""
    sub = table
    for k, v in where.items():
        sub = sub[sub[k] == v]
    rows = []
    for r in sub.to_dict("records"):
        for side in ("client", "server"):
            rows.append({"run_id": r["run_id"], "side": side, "nbr_clients": r["nbr_clients"],
                         "nbr_servers": r["nbr_servers"],
                         **{v: r[f"{side}_{v}"] for v in VALUES}})
    return pd.DataFrame(rows).sort_values(["run_id", "side"]).reset_index(drop=True)


def check_load_csv(csv: Path, table: pd.DataFrame, where: dict[str, object]) -> None:
    got = pd.read_csv(csv)
    for k, v in where.items():
        assert (got[k].astype(str) == str(v)).all(), k
    got = got.sort_values(["run_id", "side"]).reset_index(drop=True)
    want = expected_load(table, where)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, rtol=1e-12)


def check_image(path: Path, fmt: str = "PNG") -> None:
    assert path.is_file() and path.stat().st_size > 0, path
    with Image.open(path) as im:
        assert im.format == fmt
        w, h = im.size
        im.verify()
    assert w >= 400 and h >= 300, (path, w, h)


def expected_hist(run_folder: Path) -> pd.DataFrame:
    rows = []
    for side, agents in load_sides(controller_log(run_folder)).items():
        hist = histogram(agents)
        total = sum(int(a.sum()) for a in hist.values())
        for d in sorted(hist):
            for i, c in enumerate(hist[d]):
                if d >= 1 and i == 0 and c == 0:
                    continue
                lo, hi = i * 10.0**d, (i + 1) * 10.0**d
                drawn = lo if lo > 0 else hi / 10  # the "< 1 ms" bucket drawn over 0.1-1
                rows.append({"side": side, "decade": d, "bucket": i, "lower_ms": lo,
                             "upper_ms": hi, "count": int(c), "share_pct": 100.0 * c / total,
                             "density_pct_per_decade": 100.0 * c / total / np.log10(hi / drawn)})
    return pd.DataFrame(rows).sort_values(["side", "decade", "bucket"]).reset_index(drop=True)


def expected_cdf(hist: pd.DataFrame, side: str) -> pd.DataFrame:
    h = hist[(hist["side"] == side)
             & ~((hist["decade"] >= 1) & (hist["bucket"] == 0) & (hist["count"] == 0))]
    h = h.sort_values("upper_ms")
    counts = h["count"].to_numpy()
    first, last = np.flatnonzero(counts)[[0, -1]]
    h = h.iloc[first: last + 1]
    cum = np.cumsum(h["count"].to_numpy())
    xs, ys = list(h["upper_ms"]), list(cum)
    if h["lower_ms"].iloc[0] > 0:
        xs, ys = [h["lower_ms"].iloc[0], *xs], [0, *ys]
    return pd.DataFrame({"latency_ms": xs, "cum_count": ys,
                         "cum_share_pct": np.asarray(ys) / cum[-1] * 100.0})


# --------------------------------------------------------------------------- load curves


def test_load_curves_one_figure_per_driver_and_call_type(table: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    fs = load_curves(table, tmp_path, params=PARAMS, title="example")
    combos = {(d, c) for d, c in zip(table["driver"], table["call_type"], strict=True)}
    assert {w.name for w in fs.written} == {f"driver={d}__call_type={c}" for d, c in combos}
    assert not fs.skipped
    for w in fs.written:
        driver, call_type = (p.split("=")[1] for p in w.name.split("__"))
        check_load_csv(w.data, table, {"driver": driver, "call_type": call_type})
        check_image(w.figure)
        # the lines are the nbr_servers values found in the data, never hard-coded
        got = sorted(pd.read_csv(w.data)["nbr_servers"].unique())
        sub = table[(table["driver"] == driver) & (table["call_type"] == call_type)]
        assert got == sorted(sub["nbr_servers"].unique())
    manifest = pd.read_csv(tmp_path / "manifest.csv")
    assert set(manifest["status"]) == {"written"} and len(manifest) == len(combos)


def test_load_curves_other_x_and_lines(table: pd.DataFrame, tmp_path: Path) -> None:
    """x and the line variable come from the options: servers on x, one line per client count."""
    opts = FigureOptions(x="nbr_servers", lines="nbr_clients", format="svg")
    fs = load_curves(table[table["call_type"] == "rpc-cast"], tmp_path, opts, params=PARAMS)
    assert len(fs.written) == 1
    for w in fs.written:
        assert w.figure.suffix == ".svg"
        assert ET.parse(w.figure).getroot().tag.endswith("svg")
        cols = list(pd.read_csv(w.data).columns)
        assert cols.index("nbr_clients") < cols.index("nbr_servers")  # series, then x


def test_failed_runs_leave_gaps_and_all_failed_is_skipped(table: pd.DataFrame, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    t = table.copy()
    cast = t["call_type"] == "rpc-cast"
    for side in ("client", "server"):
        for v in VALUES:
            t.loc[cast, f"{side}_{v}"] = np.nan
    t.loc[t.index[0], "client_rate"] = np.nan  # one failed point among the rpc-call runs
    with caplog.at_level(logging.INFO):
        fs = load_curves(t, tmp_path, params=PARAMS)
    assert [w.name for w in fs.written] == ["driver=broker__call_type=rpc-call"]
    assert [n for n, _ in fs.skipped] == ["driver=broker__call_type=rpc-cast"]
    assert "skipped driver=broker__call_type=rpc-cast: no rate or latency value" in caplog.text
    assert not (tmp_path / "driver=broker__call_type=rpc-cast.png").exists()
    check_load_csv(fs.written[0].data, t, {"driver": "broker", "call_type": "rpc-call"})


def test_repeated_runs_get_their_own_line(table: pd.DataFrame, tmp_path: Path) -> None:
    one = table[table["call_type"] == "rpc-call"]
    rep = one.assign(run_id=one["run_id"] + "-bis")
    fs = load_curves(pd.concat([one, rep], ignore_index=True), tmp_path, params=PARAMS)
    got = pd.read_csv(fs.written[0].data)
    assert sorted(got["repeat"].unique()) == [1, 2]
    assert not got.duplicated(["side", "nbr_servers", "nbr_clients", "repeat"]).any()


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        FigureOptions(format="gif")
    with pytest.raises(ValueError, match="different"):
        FigureOptions(x="nbr_clients", lines="nbr_clients")
    with pytest.raises(ValueError, match="compare"):
        FigureOptions(compare="nbr_clients")


def test_unknown_x_is_an_error(table: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nbr_topics"):
        load_curves(table, tmp_path, FigureOptions(x="nbr_topics"), params=PARAMS)


# --------------------------------------------------------------------------- distributions


def test_latency_histogram_per_run_equals_raw_json(built: tuple[pd.DataFrame, Path],
                                                   tmp_path: Path) -> None:
    table, runs = built
    for run_id in table["run_id"]:  # the data of every run (drawing them all is slow)
        got = histogram_data(pd.read_parquet(runs / run_key(run_id) / "latency_hist.parquet"))
        want = expected_hist(EXAMPLE / run_id)
        got = got.sort_values(["side", "decade", "bucket"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, rtol=1e-12)
    some = table[table["nbr_clients"].isin([1, 6])]  # rpc-call and rpc-cast, < 1 ms or not
    fs = latency_histograms(some, hist_files(runs, some), tmp_path, params=PARAMS, title="example",
                            workers=2)
    assert sorted(w.name for w in fs.written) == sorted(LABELS[r] for r in some["run_id"])
    run_of = {label: run_id for run_id, label in LABELS.items()}
    for w in fs.written:
        got = pd.read_csv(w.data).sort_values(["side", "decade", "bucket"])
        want = expected_hist(EXAMPLE / run_of[w.name])
        pd.testing.assert_frame_equal(got[want.columns].reset_index(drop=True), want,
                                      check_dtype=False, rtol=1e-12)
        check_image(w.figure)


def test_latency_histogram_skips_missing_and_empty_runs(built: tuple[pd.DataFrame, Path],
                                                        tmp_path: Path) -> None:
    table, runs = built
    first, second = table["run_id"].iloc[0], table["run_id"].iloc[1]
    empty = pd.read_parquet(runs / run_key(second) / "latency_hist.parquet").assign(count=0)
    hists = {second: empty}
    fs = latency_histograms(table.iloc[:2], hist_files(runs, table), tmp_path, hists=hists)
    assert fs.written == []
    assert dict(fs.skipped) == {LABELS[first]: "no latency histogram (latency_hist.parquet "
                                               "missing)",
                                LABELS[second]: "no latency recorded (status ok)"}
    assert list(tmp_path.iterdir()) == [tmp_path / "manifest.csv"]


def test_overlay_compares_drivers_at_equal_clients(built: tuple[pd.DataFrame, Path],
                                                   tmp_path: Path) -> None:
    t2, hists = two_drivers(*built)
    fs = latency_overlay(t2, None, tmp_path, params=PARAMS, hists=hists)
    assert sorted(w.name for w in fs.written) == ["call_type=rpc-call__side=client",
                                                 "call_type=rpc-call__side=server"]
    assert [n for n, _ in fs.skipped] == ["call_type=rpc-cast"]  # a single driver there
    for w in fs.written:
        check_image(w.figure)
        got = pd.read_csv(w.data)
        side = w.name.rsplit("=", 1)[1]
        assert set(got["side"]) == {side}
        rpc_call = t2[t2["call_type"] == "rpc-call"]
        assert set(got["run_id"]) == set(rpc_call["run_id"])
        for run_id, g in got.groupby("run_id"):
            row = t2[t2["run_id"] == run_id].iloc[0]
            assert (g["driver"] == row["driver"]).all()
            assert (g["nbr_clients"] == row["nbr_clients"]).all()
            want = expected_cdf(hists[run_id], side)
            pd.testing.assert_frame_equal(g[want.columns].reset_index(drop=True), want,
                                          check_dtype=False, rtol=1e-12)


def test_overlay_of_a_single_driver_compares_what_varies(
        built: tuple[pd.DataFrame, Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """issue 22: the example has one driver; the overlay compares call_type instead (the
    first parameter of params.json with two values at equal nbr_clients), and says so."""
    table, runs = built
    with caplog.at_level(logging.INFO):
        fs = latency_overlay(table, hist_files(runs, table), tmp_path / "a", params=PARAMS)
    note = ("figures.compare driver has a single value: compared call_type, the first "
            "parameter with several values at equal nbr_clients")
    assert note in caplog.text
    manifest = pd.read_csv(tmp_path / "a" / "manifest.csv")
    assert list(manifest["status"]) == ["written", "written"]
    assert set(manifest["reason"]) == {note}
    explicit = latency_overlay(table, hist_files(runs, table), tmp_path / "b",
                               FigureOptions(compare="call_type"), params=PARAMS)
    for a, b in zip(fs.written, explicit.written, strict=True):
        assert a.name == b.name
        assert a.data.read_text() == b.data.read_text()


def test_overlay_by_call_type_on_the_real_campaign(built: tuple[pd.DataFrame, Path],
                                                   tmp_path: Path) -> None:
    table, runs = built
    fs = latency_overlay(table, hist_files(runs, table), tmp_path,
                         FigureOptions(compare="call_type"),
                         params=PARAMS)
    assert sorted(w.name for w in fs.written) == ["driver=broker__side=client",
                                                 "driver=broker__side=server"]
    got = pd.read_csv(fs.written[0].data)
    assert set(got["call_type"]) == {"rpc-call", "rpc-cast"}
    assert sorted(got["nbr_clients"].unique()) == sorted(table["nbr_clients"].unique())


# --------------------------------------------------------------------------- resources


def with_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Synthetic metric columns of the InfluxDB stage's shape (NaN for a run, one all-NaN)."""
    t = table.copy()
    n = np.arange(len(t), dtype=float)
    for i, c in enumerate(METRICS):
        t[c] = (n + 1) * (i + 1) * (1e6 if c == "mem_used" else 1.0)
    t["min_usage_idle_bus"] = 90.0 - n
    t.loc[t.index[1], "connections"] = np.nan
    t["sockets_used"] = np.nan  # e.g. absent from the database
    return t


def test_resources_csv_equals_metric_columns(table: pd.DataFrame, tmp_path: Path) -> None:
    t = with_metrics(table)
    t = t[t["call_type"] == "rpc-call"]
    fs = resources_vs_load(t, tmp_path, params=PARAMS, title="example")
    assert len(fs.written) == 1
    for w in fs.written:
        check_image(w.figure)
        got = pd.read_csv(w.data)
        driver, call_type = (p.split("=")[1] for p in w.name.split("__"))
        sub = t[(t["driver"] == driver) & (t["call_type"] == call_type)]
        assert "sockets_used" not in set(got["metric"])  # all NaN: no panel
        for m in METRICS:
            if m == "sockets_used":
                continue
            g = got[got["metric"] == m].set_index("run_id")
            scale = 1 / 2**20 if m == "mem_used" else 1.0
            want = sub.set_index("run_id")[m] * scale
            assert g.index.tolist() == [r for r in sub["run_id"]]
            np.testing.assert_allclose(g["value"].to_numpy(float), want.to_numpy(float),
                                       rtol=1e-12, equal_nan=True)
            assert set(g["unit"]) == {"MiB" if m == "mem_used" else "%" if "idle" in m
                                      else "count"}


RABBIT_ONLY = ["queues", "connections", "messages_delivered_in_run"]
QDR_ONLY = ["qdr_deliveries_ingress", "qdr_deliveries_ingress_rate", "qdr_connections_max"]
SHARED = ["min_usage_idle_bus", "bus_container_cpu_max", "bus_tcp_established_max"]


def mixed_drivers(table: pd.DataFrame) -> pd.DataFrame:
    """The example's runs twice: as driver broker (RabbitMQ columns) and as driver router
    (qdr columns), with the metrics both drivers have; NaN where a bus lacks one."""
    rabbit, router = table.copy(), table.copy()
    router["driver"] = "router"
    router["run_id"] = router["run_id"] + "-router"
    n = np.arange(len(table), dtype=float)
    for i, c in enumerate([*RABBIT_ONLY, *QDR_ONLY, *SHARED]):
        rabbit[c] = np.nan if c in QDR_ONLY else (n + 1) * (i + 1)
        router[c] = np.nan if c in RABBIT_ONLY else (n + 1) * (i + 1) + 0.5
    return pd.concat([rabbit, router], ignore_index=True)


def check_resource_csv(got: pd.DataFrame, sub: pd.DataFrame, metrics: list[str]) -> None:
    """Each metric's rows of a resources CSV equal the table's column (MiB-free metrics);
    a run without the metric (the other driver's) is a NaN row."""
    assert set(got["metric"]) == set(metrics)
    for m in metrics:
        want = sub.set_index("run_id")[m]
        g = got[got["metric"] == m].set_index("run_id")["value"]
        assert sorted(g.index) == sorted(want.index)
        np.testing.assert_allclose(g[want.index].to_numpy(float), want.to_numpy(float),
                                   rtol=1e-12, equal_nan=True)
        assert want.notna().any()


def test_resources_by_driver_put_both_buses_side_by_side(table: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    t = mixed_drivers(table)
    fs = resources_vs_load(t, tmp_path, params=PARAMS, title="mixed")
    names = [w.name for w in fs.written]
    assert names == ["driver=broker__call_type=rpc-call", "driver=broker__call_type=rpc-cast",
                     "driver=router__call_type=rpc-call", "driver=router__call_type=rpc-cast",
                     "by_driver__call_type=rpc-call", "by_driver__call_type=rpc-cast"]
    for w in fs.written:
        check_image(w.figure)
        got = pd.read_csv(w.data)
        keys = dict(p.split("=") for p in w.name.removeprefix("by_driver__").split("__"))
        sub = t[np.logical_and.reduce([t[k] == v for k, v in keys.items()])]
        if w.name.startswith("by_driver"):
            # both drivers' lines; RabbitMQ's and the router's panels next to each other
            assert set(got["driver"]) == {"broker", "router"}
            check_resource_csv(got, sub, [*SHARED, *RABBIT_ONLY, *QDR_ONLY])
        elif keys["driver"] == "broker":
            check_resource_csv(got, sub, [*SHARED, *RABBIT_ONLY])
        else:
            check_resource_csv(got, sub, [*SHARED, *QDR_ONLY])
    # one driver only: no by_driver figure, nothing skipped for it
    fs = resources_vs_load(t[t["driver"] == "broker"], tmp_path / "one", params=PARAMS)
    assert not any(n.startswith("by_driver") for n in [w.name for w in fs.written]
                   + [k for k, _ in fs.skipped])


def test_resources_comparison_one_colour_per_campaign(table: pd.DataFrame,
                                                      tmp_path: Path) -> None:
    t = mixed_drivers(table)
    rabbit, router = t[t["driver"] == "broker"], t[t["driver"] == "router"]
    router = router[router["call_type"] == "rpc-call"]
    fs = resources_comparison({"rabbit": rabbit, "router": router}, tmp_path,
                              params={"rabbit": PARAMS, "router": PARAMS})
    assert [w.name for w in fs.written] == ["call_type=rpc-call"]
    assert dict(fs.skipped) == {"call_type=rpc-cast": "call_type=rpc-cast: only in campaign "
                                                      "rabbit, nothing to compare"}
    check_image(fs.written[0].figure)
    got = pd.read_csv(fs.written[0].data)
    both = pd.concat([rabbit[rabbit["call_type"] == "rpc-call"], router])
    check_resource_csv(got, both, [*SHARED, *RABBIT_ONLY, *QDR_ONLY])
    valued = got[got["value"].notna()]
    assert set(valued.loc[valued["metric"].isin(QDR_ONLY), "campaign"]) == {"router"}
    assert set(valued.loc[valued["metric"].isin(RABBIT_ONLY), "campaign"]) == {"rabbit"}
    assert set(valued.loc[valued["metric"].isin(SHARED), "campaign"]) == {"rabbit", "router"}


def test_resources_without_metric_columns_are_skipped(table: pd.DataFrame, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        fs = resources_vs_load(table, tmp_path, params=PARAMS)
    assert fs.written == [] and fs.skipped[0][0] == "all"
    assert "no InfluxDB metric column in the campaign table" in caplog.text
    t = table.copy()
    for m in METRICS:
        t[m] = np.nan  # columns there, all NaN (e.g. runs shorter than the sampling)
    fs = resources_vs_load(t, tmp_path / "nan", params=PARAMS)
    assert fs.written == [] and len(fs.skipped) == 2


# --------------------------------------------------------------------------- time series


def synthetic_timeseries(start: float, stop: float) -> pd.DataFrame:
    """A timeseries.parquet of the InfluxDB stage's shape: bus and server hosts, every 2 s."""
    times = pd.date_range(pd.Timestamp(start - 6, unit="s", tz="UTC").floor("s"),
                          pd.Timestamp(stop + 6, unit="s", tz="UTC"), freq="2s")
    rows = []
    for k, t in enumerate(times):
        for host, role in (("bus-0", "bus"), ("bus-1", "bus"), ("srv-0", "ombt-server")):
            for cpu in ("cpu-total", "cpu0"):
                rows.append(("cpu", "usage_idle", host, role, cpu, None, t, 90.0 - k))
                rows.append(("cpu", "usage_user", host, role, cpu, None, t, 5.0 + k))
            rows.append(("mem", "used", host, role, None, None, t, 2.0**30 + k * 2**20))
            if role == "bus":
                rows.append(("rabbitmq_node", "mem_used", host, role, None, f"rabbit@{host}",
                             t, 1.5 * 2**27 + k))
    df = pd.DataFrame(rows, columns=["measurement", "field", "host", "role", "cpu", "node",
                                     "time", "value"])
    for c in ("measurement", "field", "host", "role", "cpu", "node"):
        df[c] = df[c].astype("string")
    return df


def window(row: pd.Series) -> tuple[float, float]:
    return (min(row["client_start_time"], row["server_start_time"]),
            max(row["client_stop_time"], row["server_stop_time"]))


def check_timeseries_csv(csv: Path, ts: pd.DataFrame, win: tuple[float, float]) -> None:
    got = pd.read_csv(csv)
    w = got[got["panel"] == "test window"].set_index("field")["t_s"]
    assert w["start"] == 0.0 and w["stop"] == pytest.approx(win[1] - win[0], abs=1e-6)
    pts = got[got["panel"] != "test window"]
    bus = ts[ts["role"] == "bus"]
    bus = bus[bus["cpu"].isna() | (bus["cpu"] == "cpu-total")]
    for (meas, fld, scale) in (("cpu", "usage_idle", 1.0), ("mem", "used", 2.0**-20),
                               ("rabbitmq_node", "mem_used", 2.0**-20)):
        want = bus[(bus["measurement"] == meas) & (bus["field"] == fld)]
        g = pts[(pts["measurement"] == meas) & (pts["field"] == fld)]
        assert set(g["role"]) == {"bus"}
        assert len(g) == len(want), (meas, fld)
        want = want.sort_values(["host", "time"])
        g = g.sort_values(["host", "t_s"])
        np.testing.assert_allclose(g["value"].to_numpy(), want["value"].to_numpy() * scale,
                                   rtol=1e-12)
        t_s = (want["time"] - pd.Timestamp(win[0], unit="s", tz="UTC")).dt.total_seconds()
        np.testing.assert_allclose(g["t_s"].to_numpy(), t_s.to_numpy(), atol=1e-6)
    assert not (set(got["measurement"].dropna()) & {"usage_user"})


def test_bus_timeseries_of_the_export_shape(table: pd.DataFrame, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    rows = table.iloc[:3]
    series = {rows["run_id"].iloc[0]: synthetic_timeseries(*window(rows.iloc[0])),
              # a single sample time: too few for a time series
              rows["run_id"].iloc[1]: synthetic_timeseries(*window(rows.iloc[1])).head(9)}
    with caplog.at_level(logging.INFO):
        fs = bus_timeseries(rows, None, tmp_path, params=PARAMS, title="example",
                            series=series)
    assert [w.name for w in fs.written] == [LABELS[rows["run_id"].iloc[0]]]
    check_image(fs.written[0].figure)
    check_timeseries_csv(fs.written[0].data, series[rows["run_id"].iloc[0]],
                         window(rows.iloc[0]))
    reasons = dict(fs.skipped)
    assert "1 sample time(s)" in reasons[LABELS[rows["run_id"].iloc[1]]]
    assert reasons[LABELS[rows["run_id"].iloc[2]]] == "no timeseries.parquet"
    assert "figures timeseries: skipped" in caplog.text


def test_bus_timeseries_of_a_real_export(table: pd.DataFrame, tmp_path: Path) -> None:
    """The real time series of one run, exported by the InfluxDB stage (margin 60 s)."""
    pytest.importorskip("ombt_postmortem.influx.collect")
    if shutil.which("influxd") is None:
        pytest.skip("influxd not on PATH (apt-get install influxdb)")
    from ombt_postmortem.influx.backends.server import Limits
    from ombt_postmortem.influx.collect import collect_run_metrics
    from ombt_postmortem.influx.config import InfluxConfig

    row = table[(table["call_type"] == "rpc-call") & (table["nbr_clients"] == 6)].iloc[0]
    cfg = InfluxConfig(backend="native", window_margin_s=60, tmpdir=str(tmp_path),
                       base_dir=str(REPO))
    m = collect_run_metrics(row["run_id"], EXAMPLE / row["run_id"] / "influxdb-data.tar.gz",
                            window(row), cfg, None, Limits())
    assert len(m.timeseries) > 0
    fs = bus_timeseries(table[table["run_id"] == row["run_id"]], None, tmp_path / "figs",
                        params=PARAMS, series={row["run_id"]: m.timeseries})
    (w,) = fs.written
    check_image(w.figure)
    check_timeseries_csv(w.data, m.timeseries, window(row))


# --------------------------------------------------------------------------- comparison, table


def test_campaign_comparison_one_colour_per_campaign(table: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    other = table.copy()
    other["driver"] = "qdr"
    other = other[other["call_type"] == "rpc-call"]
    fs = campaign_comparison({"rabbit": table, "router": other}, tmp_path,
                             params={"rabbit": PARAMS, "router": PARAMS})
    assert [w.name for w in fs.written] == ["call_type=rpc-call"]
    assert dict(fs.skipped) == {"call_type=rpc-cast": "call_type=rpc-cast: only in campaign "
                                                      "rabbit, nothing to compare"}
    got = pd.read_csv(fs.written[0].data)
    check_image(fs.written[0].figure)
    for name, t in (("rabbit", table), ("router", other)):
        g = got[got["campaign"] == name].sort_values(["run_id", "side"]).reset_index(drop=True)
        want = expected_load(t, {"call_type": "rpc-call"})
        pd.testing.assert_frame_equal(g[want.columns], want, check_dtype=False, rtol=1e-12)


def test_campaign_table_page_holds_every_cell_label(table: pd.DataFrame, tmp_path: Path) -> None:
    page = campaign_table_html(table, tmp_path / "t.html", title="example",
                               params=PARAMS).read_text()
    for run_id in table["run_id"]:
        assert run_id in page
    for col in table.columns:
        assert f"<th>{col}</th>" in page
    assert page.count("<tr class=") == len(table)


def test_figure_paths_follow_the_options() -> None:
    one = figure_paths("results", "a", campaigns=["a"], opts=FigureOptions(), timeseries=True)
    assert "results/a/figures/timeseries" in one and "results/a/figures/latency_hist" in one
    off = figure_paths("results", "a", campaigns=["a", "b"],
                       opts=FigureOptions(per_run=False), timeseries=True)
    assert not any(p.endswith(("latency_hist", "timeseries")) for p in off)
    assert "results/comparison/load_curves" in off and "results/comparison/resources" in off
    assert "results/comparison/load_curves" not in figure_paths(
        "results", "b", campaigns=["a", "b"], opts=FigureOptions(), timeseries=False)


def test_params_json_keys_are_the_parameters() -> None:
    keys = {k for p in json.loads((EXAMPLE / "params.json").read_text()) for k in p}
    assert set(PARAMS) == keys - {"backup_dir"}


def test_group_names_of_long_values_are_capped_and_distinct() -> None:
    """A figure's file name comes from its group's values: 240 characters of driver
    gave ENAMETOOLONG (issue 25); capped like the run labels, a hash keeps them apart."""
    from ombt_postmortem.figures.common import stem_of

    short = stem_of({"driver": "broker", "call_type": "rpc-call"})
    assert short == "driver=broker__call_type=rpc-call"
    a = stem_of({"driver": "d" * 240, "call_type": "rpc-call"})
    b = stem_of({"driver": "d" * 239 + "e", "call_type": "rpc-call"})
    assert a != b and len(a) == len(b) == 100
    assert a.startswith("driver=ddd") and b.startswith("driver=ddd")


def test_every_figure_kind_is_declared_once_and_served_everywhere() -> None:
    """figspec.FIGURE_KINDS is the one list of figure kinds: each has its caption file,
    a rule of figures.smk drawing it under that output name, and a results.CampaignResults
    method redrawing it; figures.smk spells no kind's title or folder itself."""
    from ombt_postmortem.figspec import FIGURE_KINDS
    from ombt_postmortem.results import CampaignResults

    rules = (REPO / "workflow" / "rules" / "figures.smk").read_text()
    assert len({k.kind for k in FIGURE_KINDS}) == len(FIGURE_KINDS) == 7
    for k in FIGURE_KINDS:
        assert (REPO / "workflow" / "rules" / k.caption).resolve().is_file(), k.caption
        assert f"rule {k.rule}:" in rules, k.rule
        assert f'figure_outputs_of("{k.rule}")' in rules, k.rule
        assert callable(getattr(CampaignResults, k.plot)), k.plot
        assert f'"{k.kind}"' not in rules.replace('subcategory("load_curves")', "").replace(
            'subcategory("resources")', ""), k.kind
        assert k.title not in rules, k.title
