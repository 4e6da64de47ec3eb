"""Odd parameter values, end to end: ONE real snakemake run (figures on, InfluxDB off)
over a copy of the first example runs plus copies of them whose params.json entries
hold a 240-character driver (two runs: figure groups named by it) and a 200 KB string.

Each copy holds its source run's very files, so its statistics must be exactly its
source's; every run must be `ok`; the figures must be drawn under names the file
system takes. Then a change inside the 200 KB value re-runs that run's job alone.
(Issue 25, items 1 and 5.)
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, snakemake, write_config

pytestmark = pytest.mark.workflow

LONG_DRIVER = "d" * 240
BIG = "x" * 200_000
#: copy -> (source entry index, params changed)
COPIES = {
    "long-driver-a": (0, {"driver": LONG_DRIVER}),
    "long-driver-b": (1, {"driver": LONG_DRIVER}),
    "big-param": (2, {"note": BIG}),
}
SOURCES = 3
#: the ombt stage's statistics: equal between a run and its copy (same files)
STATS = ["n_clients", "n_servers", "client_msgs_ok", "server_msgs_ok", "client_rate",
         "server_rate", "client_latency_mean_ms", "client_latency_p99_ms", "msg_sent",
         "rtt_p50_ms"]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    work = tmp_path_factory.mktemp("odd-values")
    camp = work / "campaign"
    params = json.loads((EXAMPLE / "params.json").read_text())[:SOURCES]
    camp.mkdir()
    for entry in params:
        shutil.copytree(EXAMPLE / entry["backup_dir"], camp / entry["backup_dir"])
    for copy, (source, changed) in COPIES.items():
        shutil.copytree(EXAMPLE / params[source]["backup_dir"], camp / copy)
        params.append({**params[source], **changed, "backup_dir": copy})
    (camp / "params.json").write_text(json.dumps(params))
    cfg = write_config(work, {"ex": camp}, influx={"enabled": False})
    res = snakemake(work, cfg)
    assert res.returncode == 0, res.output
    return work, cfg, params


def test_every_run_is_ok_and_each_copy_has_its_sources_statistics(
        outcome: tuple[Path, Path, list[dict]]) -> None:
    work, _, params = outcome
    table = pd.read_parquet(work / "results/ex/campaign.parquet").set_index("run_id")
    assert list(table.index) == [p["backup_dir"] for p in params]
    assert set(table["status"]) == {"ok"}, table["status"]
    for copy, (source, _) in COPIES.items():
        src = table.loc[params[source]["backup_dir"]]
        for col in STATS:
            assert table.loc[copy, col] == src[col], (copy, col)
    assert table.loc["big-param", "note"] == BIG
    assert (table.loc["long-driver-a", "driver"], table.loc["long-driver-b", "driver"]) == (
        LONG_DRIVER, LONG_DRIVER)


def test_figures_of_the_long_driver_are_drawn_under_short_names(
        outcome: tuple[Path, Path, list[dict]]) -> None:
    work, _, _ = outcome
    figures = work / "results/ex/figures"
    names = [p.name for p in figures.rglob("*")]
    assert names and max(len(n.encode()) for n in names) <= 120, max(names, key=len)
    # the groups of the long driver: drawn, named by its first characters and a hash
    long_ones = [p for p in figures.rglob("*.png") if "driver=ddd" in p.name]
    # the group figures that failed with ENAMETOOLONG: figures_campaign's load curves,
    # figures_messages' latency nines
    assert {"load_curves", "latency_nines"} <= {p.parent.name for p in long_ones}, names
    for png in long_ones:
        assert len(png.stem) <= 100 and png.stat().st_size > 0, png.name
    # every figure the manifests list as written exists, and a group of the long
    # driver is listed (written, or skipped with its reason)
    listed = []
    for manifest in figures.rglob("manifest.csv"):
        with manifest.open(newline="") as f:
            for row in csv.DictReader(f):
                listed.append(row["name"])
                if row["status"] == "written":
                    assert (manifest.parent / row["figure"]).is_file(), row
                    assert (manifest.parent / row["data"]).is_file(), row
    assert any(n.startswith("driver=ddd") for n in listed), listed


def test_a_change_inside_the_big_value_reruns_that_run_only(
        outcome: tuple[Path, Path, list[dict]]) -> None:
    work, cfg, params = outcome
    changed = [dict(p) for p in params]
    changed[-1]["note"] = BIG[:-1] + "y"
    campaign = work / "campaign"
    (campaign / "params.json").write_text(json.dumps(changed))
    try:
        res = snakemake(work, cfg, "-n")
    finally:
        (campaign / "params.json").write_text(json.dumps(params))
    assert res.returncode == 0, res.output
    counts = res.job_counts()
    assert counts.get("run_logs") == 1 and "influx_metrics" not in counts, counts
    assert "run=big-param" in res.output
