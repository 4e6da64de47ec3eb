"""Faults at the library level, on copies of a real run (altered): the variants the
one-snakemake-run test (test_faults_workflow.py) does not repeat, strict mode, bugs
that must stay loud, a port stolen from under influxd, params.json missing."""

from __future__ import annotations

import json
import math
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, controller_log, run_ids, snakemake, write_config
from influx_helpers import http_query, influx_test, influxd_children, run_dirs, untar

from ombt_postmortem.errors import CampaignError, StrictModeError, check_strict
from ombt_postmortem.influx import stage as stage_mod
from ombt_postmortem.influx.backends import native
from ombt_postmortem.influx.backends.native import native_server
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.stage import RunLogs, run_influx_stage
from ombt_postmortem.ombt import run as run_mod
from ombt_postmortem.ombt.run import analyse_run
from ombt_postmortem.params import load_params

RUN = run_ids()[1]  # 2 clients, 1 server


@pytest.fixture
def run_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "r"
    shutil.copytree(EXAMPLE / RUN, dst)
    return dst


def _sides(folder: Path) -> tuple[Path, dict, dict]:
    log = controller_log(folder)
    lines = log.read_text().splitlines()
    return log, json.loads(lines[0]), json.loads(lines[1])


def _clean(tmp_path: Path) -> dict:
    return analyse_run(EXAMPLE / RUN, RUN).summary


# --------------------------------------------------------------------------- controller log


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("msgs_fail",), -1, "msgs_fail is -1, expected a count (integer >= 0)"),
    (("msgs_ok",), 2.5, "msgs_ok is 2.5, expected a count (integer >= 0)"),
    (("msgs_ok",), True, "msgs_ok is True, expected a count (integer >= 0)"),
    (("start_time",), "yesterday", "start_time is 'yesterday', expected a number"),
    (("latency",), [1, 2], "latency is not an object"),
    (("latency", "min"), float("nan"), "min is nan, not finite"),
    (("latency", "count"), "500", "count is '500', expected a count (integer >= 0)"),
    (("latency", "distribution"), {"x": [0] * 10},
     "distribution key 'x' is not a decade number"),
    (("latency", "distribution"), {"0": [1] * 9},
     "distribution['0'] is not a list of 10 counts"),
    (("latency", "distribution"), {"-1": [0] * 10}, "distribution decade -1 < 0"),
    (("errors",), ["timeout"], "errors is not an object {message: count}"),
])
def test_wrong_types_skip_the_agent_and_name_it(run_copy: Path, path: tuple[str, ...],
                                                value: object, reason: str) -> None:
    log, clients, servers = _sides(run_copy)
    bad, good = sorted(clients)
    target = clients[bad]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    log.write_text(json.dumps(clients) + "\n" + json.dumps(servers) + "\n")
    stats = analyse_run(run_copy, "r")
    assert stats.status == "partial"
    assert stats.problems == [f"run r ({log.name}): client {bad}: {reason}; agent skipped"]
    assert stats.summary["n_clients"] == 1
    assert stats.summary["client_msgs_ok"] == clients[good]["msgs_ok"]
    clean = _clean(run_copy)
    for k, v in clean.items():  # the servers are untouched
        if k.startswith("server_"):
            assert stats.summary[k] == v or (math.isnan(v) and math.isnan(stats.summary[k]))


@pytest.mark.parametrize(("text", "status", "reasons"), [
    ("", "failed", ["clients line missing (line 1): the controller wrote 0 line(s), expected 2",
                    "servers line missing (line 2): the controller wrote 0 line(s), expected 2"]),
    ("[1, 2]\n{SERVERS}\n", "partial",
     ["line 1 (clients) is a JSON list, expected an object {agent_id: TestResults}"]),
    ("{CLIENTS}\n{}\n", "partial", ["line 2 reports 0 servers"]),
    ("{CLIENTS}\n{SERVERS}\n{}\n", "partial", ["1 unexpected extra line(s) after line 2 ignored"]),
    ('{"c": 3}\n{"s": null}\n', "failed",
     ["client c: TestResults is int, expected an object; agent skipped",
      "server s: TestResults is NoneType, expected an object; agent skipped"]),
])
def test_controller_log_shapes(run_copy: Path, text: str, status: str,
                               reasons: list[str]) -> None:
    log, clients, servers = _sides(run_copy)
    log.write_text(text.replace("{CLIENTS}", json.dumps(clients))
                   .replace("{SERVERS}", json.dumps(servers)))
    stats = analyse_run(run_copy, "r")
    assert stats.status == status
    assert stats.problems == [f"run r ({log.name}): {r}" for r in reasons]
    assert stats.summary["problems"] == "; ".join(stats.problems)


def test_one_broken_shard_keeps_the_other(run_copy: Path) -> None:
    """Two controller files (one per topic shard): a truncated one does not lose the other."""
    log, clients, servers = _sides(run_copy)
    other = log.with_name(log.name.replace("controller-0", "controller-1"))
    other.write_text(json.dumps(clients)[:100])
    stats = analyse_run(run_copy, "r")
    assert stats.status == "partial"
    assert stats.problems[0].startswith(f"run r ({other.name}): line 1 (clients) is not valid "
                                        "JSON (truncated file?): ")
    assert stats.summary["n_clients"] == 2
    assert stats.summary["controller_files"] == f"{log.name};{other.name}"


def test_server_failures_are_partial_with_errors(run_copy: Path) -> None:
    log, clients, servers = _sides(run_copy)
    (sid,) = servers
    servers[sid]["msgs_fail"] = 2
    servers[sid]["errors"] = {"Connection reset by peer": 1, "AMQP channel closed": 1}
    log.write_text(json.dumps(clients) + "\n" + json.dumps(servers) + "\n")
    stats = analyse_run(run_copy, "r")
    assert stats.status == "partial"
    assert stats.problems == [
        f'run r ({log.name}): 2 server message(s) failed; errors: 2 kinds: '
        '1 x "AMQP channel closed"; 1 x "Connection reset by peer"']
    # the raw dict stays in the run's file, the kinds beside it
    assert json.loads(stats.summary["server_errors_detail"]) == servers[sid]["errors"]
    assert json.loads(stats.summary["server_error_kinds"]) == [
        {"kind": "AMQP channel closed", "count": 1, "example": "AMQP channel closed"},
        {"kind": "Connection reset by peer", "count": 1, "example": "Connection reset by peer"}]
    assert stats.summary["server_errors"] == 2


# --------------------------------------------------------------------------- influx stage glue


def _logs(tmp_path: Path, times: bool, controller: bool = True) -> RunLogs:
    """The example run's controller file (its agents' start/stop times dropped unless
    ``times``), or none at all; no agent logs, so no rescue window."""
    if not controller:
        return RunLogs(controller=[], agents=[])
    log = controller_log(EXAMPLE / RUN)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not times:
        for side in lines:
            for agent in side.values():
                agent["start_time"] = agent["stop_time"] = None
    out = tmp_path / log.name
    out.write_text("".join(json.dumps(side) + "\n" for side in lines))
    return RunLogs(controller=[out], agents=[])


def test_no_window_is_a_problem_unless_the_run_already_failed(tmp_path: Path) -> None:
    cfg = InfluxConfig.from_dict({"tmpdir": str(tmp_path)})
    tar = EXAMPLE / RUN / "influxdb-data.tar.gz"
    timeless = run_influx_stage("r", _logs(tmp_path, times=False), tar, cfg, None, Limits())
    assert timeless.problems == ["run r: no test window: the ombt statistics have "
                                 "no start/stop time (see the run's ombt problems)"]
    failed = run_influx_stage("r", _logs(tmp_path, times=False, controller=False), tar, cfg,
                              None, Limits())
    assert failed.problems == []
    assert failed.metrics["influx_notes"].iloc[0] == ("skipped: the run's ombt statistics "
                                                      "failed, no test window")
    assert all(math.isnan(failed.metrics[c].iloc[0]) for c in cfg.query_set.columns)


# --------------------------------------------------------------------------- bugs stay loud


def test_a_bug_in_the_statistics_is_not_a_data_fault(run_copy: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> dict:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(run_mod, "side_summary", broken)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        analyse_run(run_copy, "r")


def test_a_bug_in_the_influx_stage_is_not_a_data_fault(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(stage_mod, "collect_run_metrics", broken)
    cfg = InfluxConfig.from_dict({"tmpdir": str(tmp_path)})
    with pytest.raises(KeyError, match="a bug"):
        run_influx_stage("r", _logs(tmp_path, times=True), None, cfg, None, Limits())


def test_check_strict() -> None:
    check_strict(False, ["run r: bad"], "run r")
    check_strict(True, [], "run r")
    with pytest.raises(StrictModeError, match="strict mode: run r has data faults: run r: bad"):
        check_strict(True, ["run r: bad"], "run r")


# --------------------------------------------------------------------------- workflow level


@pytest.mark.workflow
def test_strict_mode_fails_the_workflow_with_the_reason(tmp_path: Path,
                                                        campaign_copy: Path) -> None:
    params = json.loads((campaign_copy / "params.json").read_text())
    log = controller_log(campaign_copy / params[1]["backup_dir"])
    log.write_text(log.read_text().splitlines()[0] + "\n")  # clients line only
    (campaign_copy / "params.json").write_text(json.dumps(params[:2]))
    cfg = write_config(tmp_path, {"ex": campaign_copy}, strict=True, influx={"enabled": False})
    res = snakemake(tmp_path, cfg, "results/ex/campaign.parquet")
    assert res.returncode != 0
    assert (f"strict mode: run {params[1]['backup_dir']} has data faults: run "
            f"{params[1]['backup_dir']} ({log.name}): servers line missing (line 2)") in res.output
    assert not (tmp_path / "results/ex/campaign.parquet").exists()
    # the same campaign without strict: done, the run reported
    lax = write_config(tmp_path, {"ex": campaign_copy}, influx={"enabled": False})
    res = snakemake(tmp_path, lax, "results/ex/campaign.parquet")
    assert res.returncode == 0, res.output
    table = pd.read_parquet(tmp_path / "results/ex/campaign.parquet")
    assert table["status"].tolist() == ["ok", "partial"]


@pytest.mark.workflow
def test_params_json_missing_stops_with_the_file(tmp_path: Path) -> None:
    camp = tmp_path / "camp"
    camp.mkdir()
    with pytest.raises(CampaignError, match="params.json: file not found"):
        load_params(camp)
    res = snakemake(tmp_path, write_config(tmp_path, {"bad": camp}), "-n")
    assert res.returncode != 0
    assert f"campaign 'bad': {camp / 'params.json'}: file not found" in res.output


# --------------------------------------------------------------------------- a port taken


class _Impostor(BaseHTTPRequestHandler):
    """Another program on the port: it even answers /ping like an InfluxDB."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_a: object) -> None:
        pass


@influx_test
def test_http_port_taken_by_another_server_is_retried(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP port chosen is taken by a process that answers /ping: never mistaken for
    our influxd (which logs 'address already in use' and dies), a new port is chosen."""
    data = untar(run_dirs()[0] / "influxdb-data.tar.gz", tmp_path / "d") / "influxdb-data"
    impostor = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    taken = impostor.server_address[1]
    real, calls = native.pick_ports, []

    def racy() -> tuple[int, int]:
        calls.append(1)
        http, rpc = real()
        return (taken, rpc) if len(calls) == 1 else (http, rpc)

    monkeypatch.setattr(native, "pick_ports", racy)
    try:
        with native_server(data, Limits(), log_path=tmp_path / "influxd.log") as h:
            assert h.info["attempts"] == "2" and h.port != taken
            assert ["telegraf"] in http_query(h.url, "SHOW DATABASES")["series"][0]["values"]
        assert "address already in use" in (tmp_path / "influxd.log").read_text()
    finally:
        impostor.shutdown()
        impostor.server_close()
    assert influxd_children() == []
