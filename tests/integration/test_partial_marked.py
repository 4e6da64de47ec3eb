"""Partial runs are marked in the figures that mix runs, and listed in their CSVs
(issue 22, item 6): hollow markers and a legend entry with the failed calls in the load
curves, "(partial: N errors)" in latency_nines. Counts from the controllers' raw JSON."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import controller_log
from independent import load_sides
from test_cli_reader import CLI, _results

from ombt_postmortem.figures import load_curves
from ombt_postmortem.figures.load_curves import draw_load_curves, load_curve_data
from ombt_postmortem.figures.messages import draw_nines, latency_nines


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, list[str]]:
    """A synthetic campaign with timeouts; its table with two runs made clean (their
    failures zeroed by hand, as a campaign mixing clean and partial runs)."""
    tmp = tmp_path_factory.mktemp("partial")
    subprocess.run([*CLI, "synth", str(tmp / "c"), "--clients", "1", "2", "4", "--servers", "1",
                    "--fail-rate", "0.003", "--no-influx", "--agent-logs", "--seed", "3"],
                   check=True, capture_output=True)
    results = _results(tmp / "c", tmp / "results" / "c")
    table = pd.read_parquet(results / "campaign.parquet")
    params = json.loads((results / "layout.json").read_text())["params"]
    table.loc[[1, 4], "status"] = "ok"
    return tmp / "c", table, params


def _client_fail(campaign: Path, run_id: str) -> int:
    clients = load_sides(controller_log(campaign / run_id))["client"]
    return sum(a["msgs_fail"] for a in clients.values())


def test_load_curves_mark_and_list_partial_runs(mixed, tmp_path: Path) -> None:
    campaign, table, params = mixed
    fs = load_curves(table, tmp_path, params=params)
    assert len(fs.written) == 2
    for w in fs.written:
        with w.data.open() as f:
            rows = [r for r in csv.DictReader(f) if r["side"] == "client"]
        want = {r: ("ok" if i in (1, 4) else "partial") for i, r in enumerate(table["run_id"])}
        for r in rows:
            assert r["status"] == want[r["run_id"]]
            assert int(float(r["msgs_fail"])) == _client_fail(campaign, r["run_id"])
    sub = table[table["call_type"] == "rpc-call"]
    data = load_curve_data(sub, {}, ["nbr_servers"], "nbr_clients")
    fig = draw_load_curves(data, "nbr_clients", ["nbr_servers"], "t")
    partial = sub[sub["status"] != "ok"]
    n, fail = len(partial), sum(_client_fail(campaign, r) for r in partial["run_id"])
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"hollow: partial ({n} runs, {fail} failed calls)" in texts
    for ax in fig.axes:
        hollow = [ln for ln in ax.get_lines() if ln.get_markerfacecolor() == "white"
                  and ln.get_linestyle() == "None"]
        assert sum(len(ln.get_xdata()) for ln in hollow) == n


def test_latency_nines_names_partial_runs(mixed, tmp_path: Path) -> None:
    campaign, table, params = mixed
    fs = latency_nines(table, tmp_path, params=params)
    with fs.written[0].data.open() as f:
        rows = list(csv.DictReader(f))
    assert {r["status"] for r in rows} == {"ok", "partial"}
    for r in rows:
        errors = sum(1 for p in campaign.joinpath(r["run_id"]).glob("*rpc-client-*.log")
                     for ln in p.read_text().splitlines() if '"error"' in ln)
        assert int(float(r["msg_errors"])) == errors
    assert np.isfinite([float(r["latency_ms"]) for r in rows]).all()
    data = pd.DataFrame(rows).astype({"x": float, "latency_ms": float})
    series = [c for c in ("nbr_clients", "nbr_servers") if c in data.columns]
    fig = draw_nines(data, series, "t")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    for r in {r["run_id"]: r for r in rows}.values():
        name = ", ".join(str(r[c]) for c in series)
        mark = f" (partial: {int(float(r['msg_errors']))} errors)"
        assert (name + mark if r["status"] == "partial" else name) in texts, texts
