"""Timelines never bridge silence (issue 22, item 1): every second of a run's window is
a row (count 0, NaN latency), the figure's latency lines break there, few points get
markers, the seconds with errors are shaded. Checked against the raw agent logs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, run_ids

from ombt_postmortem.figures.messages import draw_timeline, timeline_data
from ombt_postmortem.messages.analyse import analyse_messages


@pytest.fixture(scope="module")
def stuck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic rpc-call run of 1 client whose timeouts (60 s) leave it silent."""
    out = tmp_path_factory.mktemp("synth") / "stuck"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(out),
                    "--clients", "1", "--servers", "1", "--call-types", "rpc-call",
                    "--fail-rate", "0.01", "--no-influx", "--agent-logs"],
                   check=True, capture_output=True)
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def _client_lines(folder: Path) -> list[dict]:
    out = []
    for p in folder.glob("*rpc-client-*.log"):
        out += [d for d in map(json.loads, p.read_text().splitlines()) if "id" in d]
    return out


def _server_lines(folder: Path) -> list[dict]:
    out = []
    for p in folder.glob("*rpc-server-*.log"):
        out += [d for d in map(json.loads, p.read_text().splitlines()) if "id" in d]
    return out


def test_every_second_is_a_row(stuck: Path) -> None:
    clients, servers = _client_lines(stuck), _server_lines(stuck)
    times = [d[k] for d in clients + servers for k in ("start", "stop", "recv") if k in d]
    lo, hi = math.floor(min(times)), math.floor(max(times))
    completed = {math.floor(d["stop"]) for d in clients}
    tl = analyse_messages(stuck, "r").timeline.to_pandas()
    for side in ("client", "server"):
        s = tl[tl["side"] == side]
        assert s["second"].tolist() == list(range(lo, hi + 1))
    c = tl[tl["side"] == "client"].set_index("second")
    silent = [t for t in range(lo, hi + 1) if t not in completed]
    assert len(silent) >= 50  # the 60 s timeouts: a minute without a reply
    assert (c.loc[silent, "count"] == 0).all() and c.loc[silent, "p50_ms"].isna().all()
    assert c["count"].sum() == len(clients)
    errors = [d for d in clients if d.get("error")]
    assert errors and c["errors"].sum() == len(errors)


def test_figure_breaks_at_silence_and_marks_errors(stuck: Path) -> None:
    tl = analyse_messages(stuck, "r").timeline.to_pandas()
    data = timeline_data(tl, float(tl["second"].min()))
    fig = draw_timeline(data, None, "stuck")
    rate_ax, lat_ax = fig.axes[:2]
    client = data[data["side"] == "client"]
    p50 = next(ln for ln in lat_ax.get_lines() if len(ln.get_ydata()) == len(client))
    y = np.asarray(p50.get_ydata(), dtype=float)
    assert np.isnan(y).sum() == (client["count"] == 0).sum() > 0  # NaN: the line breaks
    assert p50.get_marker() == "o"  # few points: every one marked
    n_err = int((data.loc[data["side"] == "client", "errors"] > 0).sum())
    shaded = [p for p in rate_ax.patches if p.get_facecolor()[0] == 1.0
              and p.get_facecolor()[1] == 0.0]
    assert n_err > 0 and len(shaded) == n_err
    rate = next(ln for ln in rate_ax.get_lines() if len(ln.get_ydata()) == len(client))
    assert 0 in np.asarray(rate.get_ydata())  # silence drawn as 0 msg/s, not a slope


def test_old_timeline_files_are_filled_for_the_figure() -> None:
    old = pd.DataFrame({"second": [10, 13], "side": ["client", "client"], "count": [5, 1],
                        "errors": [0, 1], "p50_ms": [1.0, 2.0], "p99_ms": [1.5, 2.5],
                        "max_ms": [2.0, 3.0]})
    d = timeline_data(old, 10.0)
    assert d["second"].tolist() == [10, 11, 12, 13]
    assert d["count"].tolist() == [5, 0, 0, 1]
    assert d["p50_ms"].isna().tolist() == [False, True, True, False]


@pytest.mark.parametrize("run", run_ids()[:1] + run_ids()[4:5])
def test_example_timelines_are_contiguous(run: str) -> None:
    tl = analyse_messages(EXAMPLE / run, run).timeline.to_pandas()
    for side in ("client", "server"):
        s = tl[tl["side"] == side]["second"].to_numpy()
        assert len(s) and (np.diff(s) == 1).all()
    assert tl["count"].sum() == len(_client_lines(EXAMPLE / run)) + len(
        _server_lines(EXAMPLE / run))
