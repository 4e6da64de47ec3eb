"""results.plot knows every figure kind (issue 22, item 10): latency_nines and
message_timeline too, drawing the numbers of the raw agent logs."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import EXAMPLE
from independent_messages import expected_summary, expected_timeline
from test_columns import written  # noqa: F401  (the example's results, a fixture)

from ombt_postmortem.results import ResultsError, open_campaign


def test_plot_latency_nines(written: Path) -> None:  # noqa: F811
    c = open_campaign(written)
    rows = c.select(call_type="rpc-call")
    fig, ax = plt.subplots()
    c.plot("latency_nines", ax, rows, which="rtt")
    lines = [ln for ln in ax.get_lines() if len(ln.get_ydata()) == 5]
    assert len(lines) == len(rows)
    for ln, run in zip(lines, rows["run_id"], strict=True):
        want = expected_summary(EXAMPLE / run)
        assert np.allclose(ln.get_ydata(), [want[f"rtt_{q}_ms"] for q in
                                            ("p50", "p90", "p99", "p999", "max")], rtol=1e-9)
    plt.close(fig)


def test_plot_message_timeline(written: Path) -> None:  # noqa: F811
    c = open_campaign(written)
    run = c.select(call_type="rpc-cast", nbr_clients=6)["run_id"].iloc[0]
    want = expected_timeline(EXAMPLE / run)
    seconds = sorted(s for s, side in want if side == "server")
    fig, ax = plt.subplots()
    c.plot("message_timeline", ax, run, panel="rate", side="server")
    (ln,) = ax.get_lines()
    assert list(ln.get_ydata()) == [want[(s, "server")][0] for s in seconds]
    assert 0 in list(ln.get_ydata())  # the server's silent seconds of this cast run
    ax.clear()
    c.plot("message_timeline", ax, run, panel="latency", side="server")
    p50 = ax.get_lines()[0].get_ydata()
    assert [math.isnan(v) for v in p50] == [math.isnan(want[(s, "server")][2])
                                            for s in seconds]
    plt.close(fig)


def test_plot_names_the_kinds(written: Path) -> None:  # noqa: F811
    c = open_campaign(written)
    fig, ax = plt.subplots()
    with pytest.raises(ResultsError, match="latency_nines, message_timeline"):
        c.plot("nope", ax)
    plt.close(fig)
