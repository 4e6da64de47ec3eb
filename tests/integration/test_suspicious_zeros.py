"""A zero where the run clearly had traffic gets a note in influx_notes (issue 22, item 6),
and the resources figure draws the cumulative messages_delivered counter as what the run
delivered, never as a level.

The InfluxDB test writes its own points into a real influxd (line protocol, plain
urllib), tars the server's folder like a backup and runs the stage on a synthetic run's
real controller files; the message count expected in the note is read straight from the
controller's JSON lines."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from influx_helpers import controller_log, influx_test, make_tar_of, reference_server, run_window

from ombt_postmortem.figures.resources import METRICS, resources_vs_load
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.stage import RunLogs, run_influx_stage
from ombt_postmortem.influx.suspicious import zero_notes

# --------------------------------------------------------------------------- the rule


def test_zero_notes_only_for_a_zero_with_traffic() -> None:
    busy = {"server_msgs_ok": 1500, "client_msgs_ok": 1500}
    notes = zero_notes({"connections": 0.0, "consumers": 4.0, "sockets_used": math.nan,
                        "queues": 0.0}, busy)
    assert notes == ["connections 0 while the run delivered 1500 messages: RabbitMQ's "
                     "management API may have been sampled between runs"]
    assert zero_notes({"connections": 0.0}, {"server_msgs_ok": 0, "client_msgs_ok": 0}) == []
    assert zero_notes({"connections": 0.0}, {}) == []
    # cast: the clients' count when the servers' is unknown
    assert zero_notes({"sockets_used": 0.0}, {"client_msgs_ok": 7})[0].startswith(
        "sockets_used 0 while the run delivered 7 messages")
    assert zero_notes({"connections": 3.0, "messages_delivered_in_run": 1.0}, busy) == []


# --------------------------------------------------------------------------- real influxd


def _line(measurement: str, tags: dict[str, str], fields: dict[str, float], t: float) -> str:
    tag = "".join(f",{k}={v}" for k, v in sorted(tags.items()))
    field = ",".join(f"{k}={float(v)!r}" for k, v in fields.items())
    return f"{measurement}{tag} {field} {round(t * 1e9)}"


def _post(url: str, path: str, params: dict[str, str], body: bytes = b"") -> None:
    req = urllib.request.Request(f"{url}{path}?{urllib.parse.urlencode(params)}", data=body,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status in (200, 204), r.read()


def _backup(folder: Path, lines: list[str]) -> Path:
    """A real influxd writes ``lines`` into database telegraf; tarred as a backup."""
    folder.mkdir(parents=True)
    with reference_server(folder) as url:
        _post(url, "/query", {"q": 'CREATE DATABASE "telegraf"'})
        _post(url, "/write", {"db": "telegraf", "precision": "ns"}, "\n".join(lines).encode())
    return make_tar_of(folder / "influxdb-data", folder / "influxdb-data.tar.gz")


def _points(lo: float, hi: float, idle: bool) -> list[str]:
    """Telegraf every 2 s over the run's window and 40 s around it: the bus's rabbitmq
    overview and node, and cpu. ``idle``: the management API said 0 connections,
    consumers and sockets for the whole window (its counter still moved)."""
    out, delivered = [], 10_000.0
    t = lo - 40
    while t <= hi + 40:
        tags = {"host": "bus-0", "role": "bus"}
        busy = 0.0 if idle else 6.0
        delivered += 50
        out.append(_line("rabbitmq_overview", tags, {
            "messages_delivered": delivered, "connections": busy, "consumers": busy,
            "queues": 3.0, "exchanges": 5.0}, t))
        out.append(_line("rabbitmq_node", {**tags, "node": "rabbit@bus-0"}, {
            "mem_used": 2.0**27, "fd_used": 40.0, "sockets_used": busy}, t))
        out.append(_line("cpu", {**tags, "cpu": "cpu-total"}, {"usage_idle": 80.0}, t))
        t += 2
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("zeros")
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(tmp / "c"),
                    "--runs", "1", "--clients", "2", "--servers", "1", "--call-types",
                    "rpc-call", "--no-influx"], check=True, capture_output=True)
    (folder,) = [p for p in (tmp / "c").iterdir() if p.is_dir()]
    return folder


@influx_test
@pytest.mark.parametrize("idle", [True, False])
def test_a_zero_mid_run_with_traffic_is_noted(run: Path, tmp_path: Path, idle: bool) -> None:
    lo, hi = run_window(run)
    lines = controller_log(run).read_text().splitlines()
    servers_ok = sum(a["msgs_ok"] for a in json.loads(lines[1]).values())
    assert servers_ok > 0
    tar = _backup(tmp_path / "db", _points(lo, hi, idle))
    (tmp_path / "tmp").mkdir()
    cfg = InfluxConfig.from_dict({"tmpdir": str(tmp_path / "tmp"), "window_margin_s": 0})
    result = run_influx_stage(run.name, RunLogs([controller_log(run)], []), tar, cfg,
                              tmp_path / "influx.log", Limits(threads=1, mem_mb=512))
    row = result.metrics.iloc[0]
    assert result.problems == []
    notes = str(row["influx_notes"])
    why = "RabbitMQ's management API may have been sampled between runs"
    for col in ("connections", "consumers", "sockets_used"):
        assert row[col] == (0.0 if idle else 6.0)
        assert (f"{col} 0 while the run delivered {servers_ok} messages: " in notes) \
            == idle, notes
    assert (f"connections 0 while the run delivered {servers_ok} messages: {why}"
            in notes) == idle
    assert (f"sockets_used 0 while the run delivered {servers_ok} messages: RabbitMQ 3.7 "
            "and later may report 0 sockets" in notes) == idle
    # the counter moved: 50 per 2 s sample over the window widened by 30 s on each side
    assert row["messages_delivered_in_run"] > 0
    assert "messages_delivered_in_run 0" not in notes


# --------------------------------------------------------------------------- the figure


def test_resources_draw_the_counter_per_run_not_as_a_level(tmp_path: Path) -> None:
    assert "messages_delivered" not in METRICS  # the cumulative counter's max
    assert {"messages_delivered_in_run", "messages_delivered_rate"} <= set(METRICS)
    n = np.arange(4, dtype=float)
    table = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(4)], "label": [f"nbr_clients={2**i}" for i in range(4)],
        "status": "ok", "driver": "broker", "call_type": "rpc-call",
        "nbr_clients": [1, 2, 4, 8], "nbr_servers": 1,
        # what the counter read at the end of each run: it grows from run to run
        "messages_delivered": 10_000 + 3000 * (n + 1),
        "messages_delivered_in_run": 500 * (n + 1),
        "messages_delivered_rate": 50 * (n + 1)})
    fs = resources_vs_load(table, tmp_path, params=["driver", "call_type", "nbr_clients",
                                                    "nbr_servers"])
    (w,) = fs.written
    got = pd.read_csv(w.data)
    assert set(got["metric"]) == {"messages_delivered_in_run", "messages_delivered_rate"}
    per_run = got[got["metric"] == "messages_delivered_in_run"].sort_values("run_id")
    assert per_run["value"].tolist() == [500.0, 1000.0, 1500.0, 2000.0]


def test_resources_mark_a_noted_zero(tmp_path: Path) -> None:
    """A zero noted in influx_notes is flagged in the figure's CSV (and drawn with a red
    cross); a zero without the note (no traffic said) and a non-zero are not."""
    notes = ["", "connections 0 while the run delivered 1000 messages: RabbitMQ's ...", "",
             "consumers 0 while the run delivered 9 messages: ..."]
    table = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(4)], "label": [f"n={i}" for i in range(4)],
        "status": "ok", "driver": "broker", "call_type": "rpc-call",
        "nbr_clients": [1, 2, 4, 8], "nbr_servers": 1,
        "connections": [7.0, 0.0, 0.0, 41.0], "influx_notes": notes})
    fs = resources_vs_load(table, tmp_path, params=["driver", "call_type", "nbr_clients",
                                                    "nbr_servers"])
    (w,) = fs.written
    got = pd.read_csv(w.data).sort_values("run_id")
    assert got["suspicious_zero"].tolist() == [False, True, False, False]
