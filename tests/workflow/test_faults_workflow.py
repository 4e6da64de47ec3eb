"""Faults, end to end: ONE real snakemake run over a copy of the real campaign where
many added runs are broken in different ways (each a copy of a real run, altered).

Every broken run must get its exact status and a one-line reason naming the run
and the file, be listed in problems.csv, keep what could still be computed, and
leave the untouched real runs exactly as a clean run of them gives them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import tarfile
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, controller_log, run_ids, snakemake, write_config
from independent_messages import expected_summary
from influx_helpers import (
    add_file,
    add_link,
    http_query,
    influx,
    is_dead,
    make_tar_of,
    reference_server,
    untar,
)

from ombt_postmortem.params import run_key

pytestmark = [pytest.mark.workflow, *influx]

TAR = "influxdb-data.tar.gz"
METRICS = ["min_usage_idle_ombt_server", "min_usage_idle_bus", "messages_delivered", "queues",
           "connections", "consumers", "exchanges", "mem_used", "fd_used", "sockets_used"]
SIDE_PREFIXES = ("client_", "server_")
#: the real runs kept in both campaigns (the sources of every broken copy)
CLEAN = run_ids()[:4]


def targets(campaign: str = "ex") -> list[str]:
    """Stages 1-3 only: the figures stage is tested on its own."""
    return [f"results/{campaign}/{name}" for name in
            ("campaign.parquet", "problems.csv", "params_calculated.json")]


# --------------------------------------------------------------------------- the clean reference


def clean_example_run(factory: pytest.TempPathFactory) -> Path:
    """The workflow (influx on, native) over an untouched copy of the first 4 example runs.

    Run once per pytest session and shared (test_interrupt.py uses it too): the
    reference every fault and interruption test compares its table with.
    """
    work = factory.getbasetemp() / "clean-example-run"
    done = work / "done"
    if not done.exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        shutil.copytree(EXAMPLE, work / "campaign")
        params = json.loads((work / "campaign/params.json").read_text())
        (work / "campaign/params.json").write_text(json.dumps(params[:len(CLEAN)]))
        (work / "tmp").mkdir()
        cfg = write_config(work, {"ex": work / "campaign"},
                           influx={"backend": "native", "tmpdir": str(work / "tmp")})
        res = snakemake(work, cfg, *targets(), cores=4, env={"TMPDIR": str(work / "tmp")})
        assert res.returncode == 0, res.output
        done.touch()
    return work


def clean_table(factory: pytest.TempPathFactory) -> pd.DataFrame:
    return pd.read_parquet(clean_example_run(factory) / "results/ex/campaign.parquet")


def assert_rows_equal(got: pd.Series, want: pd.Series, columns: list[str], what: str) -> None:
    for col in columns:
        a, b = got[col], want[col]
        if isinstance(b, float) and math.isnan(b):
            assert isinstance(a, float) and math.isnan(a), (what, col, a, b)
        else:
            assert a == b, (what, col, a, b)


def side_columns(table: pd.DataFrame) -> list[str]:
    return ["n_clients", "n_servers", "controller_files",
            *[c for c in table.columns if c.startswith(SIDE_PREFIXES)]]


def our_influxd(marker: Path) -> list[int]:
    """Live influxd processes whose command line names a path under ``marker``."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            comm = (p / "comm").read_text().strip()
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if comm == "influxd" and str(marker) in cmd and not is_dead(int(p.name)):
            out.append(int(p.name))
    return out


# --------------------------------------------------------------------------- the faults


@dataclass
class Fault:
    run: str  # the broken copy's backup_dir
    source: int  # index in params.json of the real run it is copied from
    make: Callable[[Path, Path], None] | None  # alter (run folder, work dir); None: no folder
    status: str
    #: the exact problems text, or its start when it quotes a message of a library/server;
    #: {run} {log} are replaced by the run id and its controller log's file name
    problems: str
    exact: bool = True
    keeps: tuple[str, ...] = ()  # column groups equal to the source run's: "client", "server"


def _sides(folder: Path) -> tuple[Path, dict, dict]:
    log = controller_log(folder)
    lines = log.read_text().splitlines()
    return log, json.loads(lines[0]), json.loads(lines[1])


def _write(log: Path, *lines: str) -> None:
    log.write_text("".join(line + "\n" for line in lines))


def no_controller_log(folder: Path, _work: Path) -> None:
    controller_log(folder).unlink()  # the *_docker.log text and the agents' logs stay


def clients_line_only(folder: Path, _work: Path) -> None:
    log = controller_log(folder)
    _write(log, log.read_text().splitlines()[0])


def truncated_last_line(folder: Path, _work: Path) -> None:
    log = controller_log(folder)
    first, second = log.read_text().splitlines()[:2]
    log.write_text(first + "\n" + second[: len(second) // 2])  # cut mid-line, no newline


def wrong_types(folder: Path, _work: Path) -> None:
    log, clients, servers = _sides(folder)
    first = sorted(clients)[0]
    clients[first]["msgs_ok"] = str(clients[first]["msgs_ok"])  # "500"
    _write(log, json.dumps(clients), json.dumps(servers))


def zero_agents(folder: Path, _work: Path) -> None:
    _write(controller_log(folder), "{}", "{}")


ERROR = "MessagingTimeout: Timed out waiting for a reply to message ID 9f2c"


def msgs_fail(folder: Path, _work: Path) -> None:
    log, clients, servers = _sides(folder)
    first = sorted(clients)[0]
    clients[first]["msgs_fail"] = 3
    clients[first]["errors"] = {ERROR: 3}
    _write(log, json.dumps(clients), json.dumps(servers))


def interval(delta: float) -> Callable[[Path, Path], None]:
    def alter(folder: Path, _work: Path) -> None:
        log, clients, servers = _sides(folder)
        for agent in clients.values():
            agent["stop_time"] = agent["start_time"] + delta
        _write(log, json.dumps(clients), json.dumps(servers))
    return alter


def idle_server(folder: Path, _work: Path) -> None:
    log, clients, servers = _sides(folder)
    idle = sorted(servers)[1]
    servers[idle]["msgs_ok"] = 0
    servers[idle]["latency"] = {"min": None, "max": None, "total": 0, "count": 0,
                                "sum_of_squares": 0, "distribution": {}}
    _write(log, json.dumps(clients), json.dumps(servers))


def tar_missing(folder: Path, _work: Path) -> None:
    (folder / TAR).unlink()


def tar_not_gzip(folder: Path, work: Path) -> None:
    data = untar(folder / TAR, work / "build" / uuid.uuid4().hex)
    with tarfile.open(folder / TAR, "w") as tf:  # a plain tar under the .tar.gz name
        tf.add(data / "influxdb-data", arcname="influxdb-data")


def tar_cut_short(folder: Path, _work: Path) -> None:
    data = (folder / TAR).read_bytes()
    (folder / TAR).write_bytes(data[: int(len(data) * 0.6)])


def tar_without_data_folder(folder: Path, work: Path) -> None:
    data = untar(folder / TAR, work / "build" / uuid.uuid4().hex) / "influxdb-data"
    shutil.rmtree(data / "data")
    make_tar_of(data, folder / TAR)


def _real_plus(folder: Path, work: Path, evil: Callable[[tarfile.TarFile], None]) -> None:
    """The real archive with one hostile member appended after the real ones."""
    data = untar(folder / TAR, work / "build" / uuid.uuid4().hex)
    with tarfile.open(folder / TAR, "w:gz") as tf:
        tf.add(data / "influxdb-data", arcname="influxdb-data")
        evil(tf)


def outside(work: Path) -> Path:
    return work / "outside"


def tar_absolute(folder: Path, work: Path) -> None:
    _real_plus(folder, work, lambda tf: add_file(tf, str(outside(work) / "absolute"), b"evil"))


def tar_dotdot(folder: Path, work: Path) -> None:
    _real_plus(folder, work, lambda tf: add_file(tf, "influxdb-data/../../dotdot", b"evil"))


def tar_symlink_out(folder: Path, work: Path) -> None:
    _real_plus(folder, work, lambda tf: add_link(tf, "influxdb-data/data/escape",
                                                 "../../../../../../../../etc"))


def tar_hardlink_out(folder: Path, work: Path) -> None:
    _real_plus(folder, work, lambda tf: add_link(tf, "influxdb-data/data/hard",
                                                 "../../outside/victim", hard=True))


def corrupt_meta(folder: Path, work: Path) -> None:
    data = untar(folder / TAR, work / "build" / uuid.uuid4().hex) / "influxdb-data"
    (data / "meta" / "meta.db").write_bytes(os.urandom(3000))
    make_tar_of(data, folder / TAR)


def _altered_by_influxql(statement: str) -> Callable[[Path, Path], None]:
    def alter(folder: Path, work: Path) -> None:
        parent = untar(folder / TAR, work / "build" / uuid.uuid4().hex)
        with reference_server(parent) as url:
            http_query(url, statement, "telegraf")
        make_tar_of(parent / "influxdb-data", folder / TAR)
    return alter


ARCHIVE = "run {run} (influxdb-data.tar.gz): "
FAULTS = [
    # ---- the ombt controller output
    Fault("fault-run-folder-missing", 0, None, "failed",
          "run {run} ({run}): run folder missing"),
    # no controller numbers, but the agents' own logs give the message figures: partial
    Fault("fault-no-controller-log", 0, no_controller_log, "partial",
          "run {run} ({run}): no ombt controller output file (<host>_controller-*.log, "
          "not *_docker.log) in the run folder"),
    Fault("fault-clients-line-only", 1, clients_line_only, "partial",
          "run {run} ({log}): servers line missing (line 2): the controller wrote 1 line(s), "
          "expected 2", keeps=("client",)),
    Fault("fault-truncated-last-line", 1, truncated_last_line, "partial",
          "run {run} ({log}): line 2 (servers) is not valid JSON (truncated file?): "
          "Unterminated string starting at (char ", exact=False, keeps=("client",)),
    Fault("fault-wrong-types", 1, wrong_types, "partial",
          "run {run} ({log}): client {client0}: msgs_ok is '500', expected a count "
          "(integer >= 0); agent skipped", keeps=("server",)),
    Fault("fault-zero-agents", 0, zero_agents, "partial",
          "run {run} ({log}): line 1 reports 0 clients; run {run} ({log}): line 2 reports "
          "0 servers"),
    Fault("fault-msgs-fail", 1, msgs_fail, "partial",
          "run {run} ({log}): 3 client message(s) failed; errors: 1 kind: 3 x \""
          + ERROR.replace("9f2c", "<id>") + "\"",
          keeps=("server",)),
    Fault("fault-zero-interval", 0, interval(0.0), "partial",
          "run {run} ({log}): client test interval is 0 s (<= 0): rate is NaN",
          keeps=("server",)),
    Fault("fault-negative-interval", 0, interval(-1.5), "partial",
          "run {run} ({log}): client test interval is -1.5 s (<= 0): rate is NaN",
          keeps=("server",)),
    Fault("fault-idle-server", 2, idle_server, "partial",
          "run {run} ({log}): server {server1} has no latency samples (count 0, min/max "
          "null): left out of the latency min/max", keeps=("client",)),
    # ---- the InfluxDB backup
    Fault("fault-tar-missing", 0, tar_missing, "partial",
          "run {run}: no influxdb-data.tar.gz in the run's backup folder",
          keeps=("client", "server")),
    Fault("fault-tar-not-gzip", 0, tar_not_gzip, "partial",
          ARCHIVE + "not a gzip-compressed tar archive (no gzip magic number)",
          keeps=("client", "server")),
    Fault("fault-tar-cut-short", 0, tar_cut_short, "partial",
          ARCHIVE + "truncated or corrupt archive (", exact=False, keeps=("client", "server")),
    Fault("fault-tar-without-data-folder", 0, tar_without_data_folder, "partial",
          ARCHIVE + "no folder holding both meta/ and data/ in the archive "
                    "(top level: influxdb-data/)", keeps=("client", "server")),
    Fault("fault-tar-absolute-member", 0, tar_absolute, "partial",
          ARCHIVE + "member '{outside}/absolute' has an absolute path",
          keeps=("client", "server")),
    Fault("fault-tar-dotdot-member", 0, tar_dotdot, "partial",
          ARCHIVE + "member 'influxdb-data/../../dotdot' has a '..' component: it would "
                    "leave the target folder", keeps=("client", "server")),
    Fault("fault-tar-symlink-out", 0, tar_symlink_out, "partial",
          ARCHIVE + "symlink 'influxdb-data/data/escape' -> '../../../../../../../../etc' "
                    "points outside the target folder", keeps=("client", "server")),
    Fault("fault-tar-hardlink-out", 0, tar_hardlink_out, "partial",
          ARCHIVE + "hardlink 'influxdb-data/data/hard' -> '../../outside/victim' points "
                    "outside the target folder", keeps=("client", "server")),
    Fault("fault-influxd-fails-on-corrupt-meta", 0, corrupt_meta, "partial",
          ARCHIVE + "InfluxDB failed to start on the restored data: InfluxDB exited before "
                    "answering ", exact=False, keeps=("client", "server")),
    Fault("fault-database-absent", 0, _altered_by_influxql('DROP DATABASE "telegraf"'),
          "partial", ARCHIVE + "no database holds any queried measurement (", exact=False,
          keeps=("client", "server")),
    # not a fault: a measurement may be absent (e.g. no rabbitmq_* with the qdr driver)
    Fault("measurement-absent", 0, _altered_by_influxql('DROP MEASUREMENT "rabbitmq_node"'),
          "ok", "", keeps=("client", "server")),
    # ---- hostile run ids (backup_dir)
    Fault("../outside-run", 0, None, "failed",
          "run ../outside-run: backup_dir '../outside-run' leads outside the campaign folder "
          "{campaign}; refused"),
    Fault("/etc", 0, None, "failed",
          "run /etc: backup_dir '/etc' leads outside the campaign folder {campaign}; refused"),
    Fault("nul\x00byte", 0, None, "failed",
          "run 'nul\\x00byte': backup_dir 'nul\\x00byte' cannot be a folder name (NUL "
          "character); refused"),
    Fault("it's a \"quoted\" run'; DROP DATABASE \"telegraf\" --", 0, lambda f, w: None, "ok",
          "", keeps=("client", "server")),
    Fault("nested/run with spaces", 3, lambda f, w: None, "ok", "", keeps=("client", "server")),
]
BY_RUN = {f.run: f for f in FAULTS}


@dataclass
class Outcome:
    work: Path
    table: pd.DataFrame  # indexed by run_id
    clean: pd.DataFrame  # the clean run's table, indexed by run_id
    output: str
    names: dict[str, dict[str, str]]  # run -> {log, client0, server1, ...}

    def expected(self, fault: Fault) -> str:
        return fault.problems.format(run=fault.run, outside=outside(self.work),
                                     campaign=(self.work / "campaign").resolve(),
                                     **self.names.get(fault.run, {}))


def build_faulty_campaign(work: Path) -> dict[str, dict[str, str]]:
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    outside(work).mkdir()
    (outside(work) / "victim").write_text("original")
    # `../outside-run` would name this real run, beside the campaign
    shutil.copytree(EXAMPLE / run_ids()[0], work / "outside-run")
    params = json.loads((camp / "params.json").read_text())[:len(CLEAN)]
    names: dict[str, dict[str, str]] = {}
    for fault in FAULTS:
        src = params[fault.source]
        params.append({**src, "backup_dir": fault.run})
        if fault.make is None:
            continue
        folder = camp / fault.run
        shutil.copytree(EXAMPLE / src["backup_dir"], folder)
        log = controller_log(folder)
        _, clients, servers = _sides(folder)
        names[fault.run] = {"log": log.name, "client0": sorted(clients)[0],
                            "server1": sorted(servers)[-1]}
        fault.make(folder, work)
    (camp / "params.json").write_text(json.dumps(params, indent=1))
    shutil.rmtree(work / "build", ignore_errors=True)
    return names


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    clean = clean_table(tmp_path_factory).set_index("run_id")
    work = tmp_path_factory.mktemp("faults")
    names = build_faulty_campaign(work)
    (work / "tmp").mkdir()
    cfg = write_config(work, {"ex": work / "campaign"},
                       influx={"backend": "native", "tmpdir": str(work / "tmp")})
    with ExitStack() as stack:
        # the seed notebook's fixed ports taken by another process: no run may care
        for port in (8086, 8088):
            s = stack.enter_context(socket.socket())
            with suppress(OSError):
                s.bind(("127.0.0.1", port))
                s.listen()
        res = snakemake(work, cfg, *targets(), cores=4, env={"TMPDIR": str(work / "tmp")})
    assert res.returncode == 0, res.output
    table = pd.read_parquet(work / "results/ex/campaign.parquet").set_index("run_id")
    return Outcome(work, table, clean, res.output, names)


# --------------------------------------------------------------------------- the assertions


@pytest.mark.parametrize("fault", FAULTS, ids=[f.run for f in FAULTS])
def test_status_and_reason(outcome: Outcome, fault: Fault) -> None:
    row = outcome.table.loc[fault.run]
    want = outcome.expected(fault)
    assert row["status"] == fault.status, row["problems"]
    if fault.exact:
        assert row["problems"] == want
    else:
        assert row["problems"].startswith(want), row["problems"]
        assert "\n" not in row["problems"]
    if fault.status != "ok":
        shown = fault.run if fault.run.isprintable() else repr(fault.run)
        assert row["problems"].startswith(f"run {shown}")


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.keeps],
                         ids=[f.run for f in FAULTS if f.keeps])
def test_keeps_what_could_be_computed(outcome: Outcome, fault: Fault) -> None:
    row = outcome.table.loc[fault.run]
    src = outcome.clean.loc[run_ids()[fault.source]]
    for side in fault.keeps:
        cols = [c for c in outcome.table.columns if c.startswith(side + "_")]
        assert_rows_equal(row, src, [f"n_{side}s", *cols], fault.run)
    is_archive_fault = fault.problems.startswith((ARCHIVE, "run {run}: no influxdb"))
    if is_archive_fault:
        assert all(math.isnan(row[c]) for c in METRICS)
    elif fault.status == "ok" and fault.run != "measurement-absent":
        # hostile but valid run ids: everything equal to the source, metrics included
        assert_rows_equal(row, src, [*side_columns(outcome.table), *METRICS, "influx_notes"],
                          fault.run)


def test_the_untouched_runs_are_exactly_the_clean_runs(outcome: Outcome) -> None:
    clean_runs = CLEAN
    # the label names a run by what varies within ITS campaign: not comparable across them
    cols = [c for c in outcome.clean.columns if c not in ("run_id", "label")]
    assert set(cols) <= set(outcome.table.columns)
    for run in clean_runs:
        assert_rows_equal(outcome.table.loc[run], outcome.clean.loc[run], cols, run)
    assert list(outcome.clean.index) == CLEAN
    for run in clean_runs:  # per-run files too
        for name in ("ombt.parquet", "agents.parquet", "latency_hist.parquet",
                     "metrics.parquet", "timeseries.parquet"):
            pd.testing.assert_frame_equal(
                pd.read_parquet(outcome.work / "results/ex/runs" / run / name),
                pd.read_parquet(clean_example_run_dir(outcome) / "runs" / run / name))


def clean_example_run_dir(outcome: Outcome) -> Path:
    return outcome.work.parent / "clean-example-run" / "results/ex"


def test_details_of_partial_runs(outcome: Outcome) -> None:
    t, c = outcome.table, outcome.clean
    src1 = c.loc[run_ids()[1]]
    # one client skipped for its wrong types: the other one is still counted
    wt = t.loc["fault-wrong-types"]
    assert wt["n_clients"] == 1 and wt["client_msgs_ok"] == 500
    # failures count in the rate, the errors dict is kept
    mf = t.loc["fault-msgs-fail"]
    assert mf["client_msgs_fail"] == 3 and mf["client_errors"] == 3
    assert mf["client_rate"] == pytest.approx(1003 / src1["client_duration_s"], rel=1e-12)
    # only the clients line: no server side, NaN (never 0)
    only = t.loc["fault-clients-line-only"]
    assert only["n_servers"] == 0 and math.isnan(only["server_msgs_ok"])
    # a 0 or negative interval: NaN rate, the rest is computed
    for run in ("fault-zero-interval", "fault-negative-interval"):
        assert math.isnan(t.loc[run, "client_rate"])
        assert t.loc[run, "client_latency_mean_ms"] == c.loc[run_ids()[0],
                                                             "client_latency_mean_ms"]
    # the idle server counts as an agent, min/max come from the other one
    idle = t.loc["fault-idle-server"]
    agents = pd.read_parquet(outcome.work / "results/ex/runs/fault-idle-server/agents.parquet")
    busy = agents[(agents["side"] == "server") & (agents["latency_count"] > 0)]
    assert idle["n_servers"] == 2 and len(busy) == 1
    assert idle["server_latency_min_ms"] == busy["latency_min"].iloc[0]
    assert idle["server_ok_per_agent_min"] == 0
    # a measurement absent from the database: its columns NaN, noted, the others kept
    ma = t.loc["measurement-absent"]
    for col in ("mem_used", "fd_used", "sockets_used"):
        assert math.isnan(ma[col])
    (absent,) = [n for n in ma["influx_notes"].split("; ") if n.startswith("NaN (measurements ")]
    measurements, columns = absent.removeprefix("NaN (measurements ").split(
        " absent from database telegraf): ")
    assert "rabbitmq_node" in measurements.split(", ")
    assert {"mem_used", "fd_used", "sockets_used"} <= set(columns.split(", "))
    src0 = c.loc[run_ids()[0]]
    assert_rows_equal(ma, src0, [m for m in METRICS if m not in ("mem_used", "fd_used",
                                                                 "sockets_used")], "ma")
    # influxd's own last log line is quoted
    assert "| run: create server: " in t.loc["fault-influxd-fails-on-corrupt-meta", "problems"]
    # runs without controller numbers: the influx stage takes the window of the agents'
    # own logs (issue 21, the rescue case) and queries it
    for run in ("fault-no-controller-log", "fault-zero-agents"):
        assert "window from the agents' own logs" in t.loc[run, "influx_notes"], run
        assert any(math.isfinite(t.loc[run, m]) for m in METRICS), run
    # ... but their message figures come from the agents' logs, as from the intact run
    for run in ("fault-no-controller-log", "fault-zero-agents"):
        want = expected_summary(outcome.work / "campaign" / run)
        assert want["msg_sent"] == 500
        for col, v in want.items():
            got = t.loc[run, col]
            assert (math.isnan(got) and math.isnan(v)) or got == pytest.approx(v, rel=1e-12), \
                (run, col, got, v)


def test_problems_csv_lists_every_non_ok_run(outcome: Outcome) -> None:
    problems = pd.read_csv(outcome.work / "results/ex/problems.csv", keep_default_na=False)
    # the example's runs left out of params.json: their folders are listed after the runs
    dropped = [p["backup_dir"] for p in json.loads((EXAMPLE / "params.json").read_text())
               if p["backup_dir"] not in CLEAN]
    unlisted = problems[problems["status"] == "not analysed"]
    assert len(dropped) == 4 and list(unlisted["run_id"]) == sorted(dropped)
    assert all(f"folder {d!r} holds a controller log" in r
               for d, r in zip(unlisted["run_id"], unlisted["problems"], strict=True))
    assert "campaign ex: 4 run folder(s) that params.json does not name not analysed" \
        in outcome.output
    problems = problems[problems["status"] != "not analysed"]
    bad = outcome.table[outcome.table["status"] != "ok"]
    assert list(problems["run_id"]) == list(bad.index)
    assert list(problems["status"]) == list(bad["status"])
    assert list(problems["problems"]) == list(bad["problems"])
    assert set(problems["run_id"]) == {f.run for f in FAULTS if f.status != "ok"}


def test_every_run_has_a_row_and_the_summary_is_printed(outcome: Outcome) -> None:
    params = json.loads((outcome.work / "campaign/params.json").read_text())
    assert list(outcome.table.index) == [p["backup_dir"] for p in params]
    n_bad = sum(f.status != "ok" for f in FAULTS)
    n_failed = sum(f.status == "failed" for f in FAULTS)
    assert (f"ombt-postmortem: campaign ex: {n_bad} of {len(params)} runs have problems "
            f"({n_failed} failed, {n_bad - n_failed} partial), see results/ex/problems.csv"
            in outcome.output)
    calc = json.loads((outcome.work / "results/ex/params_calculated.json").read_text())
    assert [c["_status"] for c in calc] == list(outcome.table["status"])


def test_nothing_escaped_and_nothing_left_behind(outcome: Outcome) -> None:
    work = outcome.work
    assert (outside(work) / "victim").read_text() == "original"
    assert sorted(p.name for p in outside(work).iterdir()) == ["victim"]
    assert not (work / "dotdot").exists() and not (work / "campaign/dotdot").exists()
    # per-run outputs only under results/ex/runs/<safe key>/
    keys = {run_key(r) for r in outcome.table.index}
    assert {p.name for p in (work / "results/ex/runs").iterdir()} == keys
    for key in keys:
        assert "/" not in key and ".." not in key and "'" not in key and " " not in key
    assert sorted(p.name for p in work.iterdir()) == sorted(
        [".snakemake", "campaign", "outside", "outside-run", "results", "test-config.yaml",
         "tmp"])
    assert [p for p in (work / "tmp").iterdir() if p.name.startswith("ombt-influx")] == []
    assert our_influxd(work) == []
