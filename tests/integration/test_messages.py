"""The per-message stage (issue 10) against the independent recomputation of
``tests/support/independent_messages.py``: the 8 real example runs and synthetic runs
with known faults."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import EXAMPLE, run_ids
from independent_messages import expected_summary, expected_timeline

from ombt_postmortem.messages import (
    PER_MESSAGE_SCHEMA,
    SUMMARY_SCHEMA,
    TIMELINE_SCHEMA,
    analyse_messages,
    find_agent_logs,
    write_messages,
)
from ombt_postmortem.messages.read import parse_agent_logs
from ombt_postmortem.synth import SynthSpec, synth_campaign

NO_AGENT_LOGS = ("no per-message logs in the backup (ombt writes them only for RPC agents "
                 "run with --output, which ombt-orchestrator does not give)")
CONTRACT = [c for c in SUMMARY_SCHEMA.names if c not in ("msg_notes", "msg_problems")]


def assert_contract(got: dict, folder: Path) -> dict:
    want = expected_summary(folder)
    assert set(want) == set(CONTRACT)
    for col in CONTRACT:
        g, w = got[col], want[col]
        if isinstance(w, float) and math.isnan(w):
            assert math.isnan(g), (col, g)
        elif isinstance(w, int):
            assert g == w, (col, g, w)
        else:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-9), (col, g, w)
    return want


def assert_timeline(result, folder: Path) -> None:
    want = expected_timeline(folder)
    rows = result.timeline.to_pylist()
    assert len(rows) == len(want)
    for r in rows:
        c, e, p50, p99, mx = want[(r["second"], r["side"])]
        assert (r["count"], r["errors"]) == (c, e), r
        for g, w in ((r["p50_ms"], p50), (r["p99_ms"], p99), (r["max_ms"], mx)):
            assert (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, rel=1e-12), r


@pytest.mark.parametrize("run", run_ids())
def test_example_runs_equal_the_oracle(run: str, tmp_path: Path) -> None:
    folder = EXAMPLE / run
    result = analyse_messages(folder, run, keep_per_message=True)
    want = assert_contract(result.summary, folder)
    assert want["msg_sent"] > 0 and want["msg_received"] > 0
    assert result.problems == [] and result.summary["msg_notes"] == ""
    assert_timeline(result, folder)
    assert result.per_message is not None
    assert result.per_message.num_rows == want["msg_sent"] + want["msg_received"]
    paths = [tmp_path / n for n in ("messages.parquet", "timeline.parquet", "per_message.parquet")]
    write_messages(result, *paths)
    for p, schema in zip(paths, (SUMMARY_SCHEMA, TIMELINE_SCHEMA, PER_MESSAGE_SCHEMA),
                         strict=True):
        assert pq.read_schema(p).remove_metadata() == schema
    assert pq.read_table(paths[0]).num_rows == 1


def test_discovery_by_first_line(tmp_path: Path) -> None:
    run = run_ids()[3]
    folder = tmp_path / "run"
    shutil.copytree(EXAMPLE / run, folder)
    agents = sorted(p.name for p in folder.glob("*.log")
                    if "_controller" not in p.name)
    # an agent log under an unusual name is still found; a JSON log of another kind is not
    src = folder / agents[0]
    src.rename(folder / "renamed.log")
    (folder / "other.log").write_text('{"kind": "Something"}\n{"id": "x:1", "start": 1}\n')
    (folder / "empty.log").write_text("")
    found = find_agent_logs(folder)
    assert sorted(a.path.name for a in found) == sorted([*agents[1:], "renamed.log"])
    assert {a.side for a in found} == {"client", "server"}


# --------------------------------------------------------------------------- synthetic faults


def synth_run(tmp_path: Path, name: str = "c", **kw) -> Path:
    """One synthetic run folder with agent logs (no InfluxDB)."""
    base = {"runs": 1, "clients": (3,), "servers": (2,), "call_types": ("rpc-call",),
            "nbr_calls": 300, "influx": False, "agent_logs": True, "seed": 5}
    spec = SynthSpec(**(base | kw))
    out = tmp_path / name
    synth_campaign(out, spec)
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def logs_of(folder: Path, part: str) -> list[Path]:
    """Agent logs found by their file name here (not by the product's discovery)."""
    return sorted(p for p in folder.glob(f"*_{part}-*.log") if not p.name.endswith("_docker.log"))


def controller_msgs(folder: Path, side: int, key: str) -> int:
    import json
    ctl = next(p for p in folder.glob("*_controller-*.log") if not p.name.endswith("_docker.log"))
    block = json.loads(ctl.read_text().splitlines()[side])
    return sum(v[key] for v in block.values())


def check(folder: Path) -> dict:
    """Analyse ``folder``: every contract column and the timeline equal the oracle."""
    result = analyse_messages(folder, folder.name)
    assert_contract(result.summary, folder)
    assert_timeline(result, folder)
    return result.summary | {"problems": result.problems}


def test_clean_synthetic_run_matches_the_controller(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, fail_rate=0.05, stagger_s=2.0)
    got = check(folder)
    # independent truth: what the simulated controller reported
    assert got["msg_sent"] == controller_msgs(folder, 0, "msgs_ok") + \
        controller_msgs(folder, 0, "msgs_fail") == 900
    assert got["msg_errors"] == controller_msgs(folder, 0, "msgs_fail") > 0
    assert got["msg_received"] == controller_msgs(folder, 1, "msgs_ok")
    # failed calls have no receipt: unreceived, but not "ok"
    assert got["msg_unreceived"] == got["msg_errors"] and got["msg_unreceived_ok"] == 0
    assert got["msg_duplicates"] == got["msg_unknown"] == got["msg_bad_lines"] == 0
    assert got["problems"] == [] and got["msg_notes"] == ""
    # staggered starts: the steady window is shorter than the run
    assert 0 < got["steady_s"] < got["steady_stop"] - got["steady_start"] + 2.0


def test_killed_server_missing_tail(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    server = logs_of(folder, "rpc-server")[0]
    lines = server.read_bytes().splitlines(keepends=True)
    server.write_bytes(b"".join(lines[:-25]))  # the buffered tail never written
    got = check(folder)
    assert got["msg_unreceived"] == got["msg_unreceived_ok"] == 25
    assert got["msg_bad_lines"] == 0 and got["problems"] == []
    assert "25 answered call(s) without a receipt line" in got["msg_notes"]
    assert folder.name in got["msg_notes"]


def test_cut_last_line(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    server = logs_of(folder, "rpc-server")[1]
    before = analyse_messages(folder, "r").summary["msg_received"]
    server.write_bytes(server.read_bytes()[:-30])  # cut inside the last line
    got = check(folder)
    assert got["msg_bad_lines"] == 1
    assert got["msg_received"] == before - 1 and got["msg_unreceived"] == 1
    (problem,) = got["problems"]
    assert server.name in problem and folder.name in problem and "not valid JSON" in problem
    assert got["msg_problems"] == problem


def test_bad_line_in_the_middle_and_a_blank_line(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    client = logs_of(folder, "rpc-client")[0]
    lines = client.read_bytes().splitlines(keepends=True)
    lines[10] = b'{"id": "broken\n'
    lines.insert(20, b"\n")
    client.write_bytes(b"".join(lines))
    got = check(folder)
    assert got["msg_bad_lines"] == 1 and got["msg_sent"] == 899
    assert got["msg_unknown"] == 1  # the receipt of the message whose line was damaged
    assert client.name in got["problems"][0]


def test_overwritten_client_log(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    client = logs_of(folder, "rpc-client")[2]
    old = client.read_text().splitlines()
    old_prefix = old[2].split('"id": "')[1].split(":")[0]
    receipts_of_old = sum(ln.count(old_prefix) for p in logs_of(folder, "rpc-server")
                          for ln in p.read_text().splitlines())
    # the restarted agent wrote a new log over it: new ids, 40 calls, none received
    t0 = 1_000_000_000
    new = [old[0], old[1]] + [f'{{"id": "{"f" * 32}:{k}", "start": {t0 + k}.5, '
                              f'"stop": {t0 + k}.6}}' for k in range(40)]
    client.write_text("\n".join(new) + "\n")
    got = check(folder)
    assert receipts_of_old == 300
    assert got["msg_unknown"] == 300 and got["msg_unreceived"] == 40
    assert "300 receipt(s) of ids no client logged" in got["msg_notes"]


def test_controller_file_missing(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    before = analyse_messages(folder, "r").summary
    for p in folder.glob("*_controller-*"):
        p.unlink()
    got = check(folder)
    assert got["msg_sent"] == 900 and got["problems"] == []
    assert {k: got[k] for k in CONTRACT} == pytest.approx({k: before[k] for k in CONTRACT},
                                                          nan_ok=True)


def test_notify_without_logs(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, call_types=("notify",))
    got = check(folder)
    assert got["msg_clients_logged"] == got["msg_servers_logged"] == got["msg_sent"] == 0
    assert math.isnan(got["rtt_p99_ms"]) and math.isnan(got["steady_rate"])
    assert got["problems"] == [] and got["msg_notes"] == f"run {folder.name}: {NO_AGENT_LOGS}"
    result = analyse_messages(tmp_path / "nowhere", "gone")
    assert result.summary["msg_sent"] == 0 and "run folder missing" in result.problems[0]


def test_duplicates_and_lost_receipts(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, call_types=("rpc-cast",), dup_rate=0.05, lost_rate=0.03)
    got = check(folder)
    ids = [ln.split('"id": "')[1].split('"')[0] for p in logs_of(folder, "rpc-server")
           for ln in p.read_text().splitlines()[1:]]
    assert got["msg_duplicates"] == len(ids) - len(set(ids)) > 0
    assert got["msg_unreceived"] == got["msg_unreceived_ok"] == 900 - len(set(ids)) > 0
    assert "duplicate receipt(s)" in got["msg_notes"]
    assert "never logged by a server" in got["msg_notes"]  # a cast: not "answered"


def test_clock_skew_gives_negative_one_way(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, clock_skew_s=0.05, agents_per_host=1)
    got = check(folder)
    assert got["oneway_negative"] > 0
    assert "clock skew" in got["msg_notes"]


def test_fanout(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, call_types=("rpc-fanout",), servers=(3,), lost_rate=0.01)
    got = check(folder)
    assert got["msg_servers_logged"] == 3
    assert got["msg_unreceived"] == 3 * got["msg_sent"] - got["msg_received"] > 0
    assert got["msg_duplicates"] == 0


def test_unreadable_log_is_a_problem(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    logs = find_agent_logs(folder)
    logs[0].path.unlink()  # gone between listing and reading
    parsed = parse_agent_logs(logs, "r1")
    (problem,) = parsed.problems
    assert problem.startswith("run r1 (") and logs[0].path.name in problem
    assert len(parsed.logs) == len(logs) - 1


def test_per_message_table(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, fail_rate=0.1)
    result = analyse_messages(folder, "r", keep_per_message=True)
    tbl = result.per_message
    assert tbl is not None and tbl.schema == PER_MESSAGE_SCHEMA
    rows = tbl.to_pylist()
    assert len(rows) == result.summary["msg_sent"] + result.summary["msg_received"]
    errors = sum(1 for r in rows if r["error"] is not None)
    assert errors == result.summary["msg_errors"] > 0
    names = {log.name for log in find_agent_logs(folder)}
    assert {r["agent"] for r in rows} == names
    # every row is a line of the agent's log, every message line is a row
    import json
    want = []
    for p in logs_of(folder, "rpc-client") + logs_of(folder, "rpc-server"):
        lines = [json.loads(ln) for ln in p.read_text().splitlines()]
        agent = lines[0]["client-name"]
        want += [(agent, d["id"], d["start"], d.get("stop"), d.get("recv"), d.get("error"))
                 for d in lines if "id" in d]
    got = [(r["agent"], r["id"], r["start"], r["stop"], r["recv"], r["error"]) for r in rows]
    assert sorted(got, key=repr) == sorted(want, key=repr)


def test_synth_cli_fault_flags_are_deterministic(tmp_path: Path) -> None:
    from ombt_postmortem.cli import main

    def make(name: str, seed: int) -> dict[str, bytes]:
        out = tmp_path / name
        assert main(["synth", str(out), "--runs", "1", "--clients", "4", "--servers", "2",
                     "--call-types", "rpc-cast", "--calls", "200", "--no-influx",
                     "--agent-logs", "--seed", str(seed), "--stagger", "1.5",
                     "--lost-rate", "0.02", "--dup-rate", "0.02", "--clock-skew", "0.01",
                     "--agents-per-host", "1"]) == 0
        return {p.name: p.read_bytes() for p in out.rglob("*.log")}

    a, b, c = make("a", 3), make("b", 3), make("c", 4)
    assert a == b and a != c
    folder = next(p for p in (tmp_path / "a").iterdir() if p.is_dir())
    got = check(folder)
    assert got["msg_duplicates"] > 0 and got["msg_unreceived"] > 0
    # staggered clients: their first sends are spread over (up to) 1.5 s
    firsts = [float(p.read_text().splitlines()[2].split('"start": ')[1].split(",")[0])
              for p in logs_of(folder, "rpc-client")]
    assert 0.1 < max(firsts) - min(firsts) < 1.5 + 0.05


@pytest.mark.parametrize("line", [
    b'{"id": {"a": 1}, "start": 1.0, "stop": 2.0}',  # an id of another type
    b'{"id": "zz:1", "start": [1], "stop": 2.0}',  # a time of another type
    b'{"id": "zz:2", "start": 1e400, "stop": 2.0}',  # out of range: inf
    b'{"id": "zz:3", "start": NaN, "stop": 2.0}',  # not JSON for pyarrow
    b'null', b'[]', b'5', b'"text"',  # JSON, but not an object
    b'{"id": "zz:4"}{"id": "zz:5"}',  # two objects on a line
    b'{"id": "zz:6", "start": 1.0, "stop": 2.0, "id": "zz:7"}',  # a key twice
    b'{"id": "\\u00e9:8", "start": 1.0, "stop": 2.0, "extra": {"x": [1, 2]}}',
    b'\xff\xfe{"id": "zz:9"}',  # not UTF-8
])
def test_odd_lines_equal_the_oracle(tmp_path: Path, line: bytes) -> None:
    folder = tmp_path / "run"
    shutil.copytree(EXAMPLE / run_ids()[1], folder)
    client = sorted(p for p in folder.glob("*_rpc-client-*.log"))[0]
    lines = client.read_bytes().splitlines(keepends=True)
    lines.insert(5, line + b"\n")
    client.write_bytes(b"".join(lines))
    check(folder)


def test_job_path_runs_without_pandas(tmp_path: Path) -> None:
    """What the per-run job does, in a fresh process that refuses pandas."""
    import subprocess
    import sys

    run = run_ids()[2]
    code = ("import sys; from pathlib import Path\n"
            "from ombt_postmortem.workflow_support.jobs import keep_unneeded_out\n"
            "keep_unneeded_out('messages')\n"
            "from ombt_postmortem.messages import analyse_messages, write_messages\n"
            "out = Path(sys.argv[2])\n"
            "r = analyse_messages(Path(sys.argv[1]), 'r', keep_per_message=True)\n"
            "write_messages(r, out / 'm.parquet', out / 't.parquet', out / 'p.parquet')\n"
            "assert 'pandas' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code, str(EXAMPLE / run), str(tmp_path)], check=True)
    row = pq.read_table(tmp_path / "m.parquet").to_pylist()[0]
    assert row["msg_sent"] == expected_summary(EXAMPLE / run)["msg_sent"]


def test_threads_do_not_change_the_result(tmp_path: Path) -> None:
    folder = synth_run(tmp_path, fail_rate=0.05, dup_rate=0.02)
    one = analyse_messages(folder, "r", threads=1)
    four = analyse_messages(folder, "r", threads=4)
    # repr: NaN (a second with errors only has no latency) equals NaN
    assert repr(one.summary) == repr(four.summary)
    assert repr(one.timeline.to_pylist()) == repr(four.timeline.to_pylist())
    assert one.timeline.num_rows > 0


# ------------------------------------------- ombt 3.0.0's own log bugs, odd agent logs


def _rewrite(path: Path, change) -> None:
    """Apply ``change(index, line) -> bytes`` to every message line of ``path``."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(change(i, ln) if b'"id"' in ln else ln
                              for i, ln in enumerate(lines)))


def test_split_unsynchronized_clocks_records_are_rejoined(tmp_path: Path) -> None:
    """ombt 3.0.0's server writes this receipt as ``{... "recv": %f, "error":
    "unsynchronized clocks"\\n}\\n`` (kgiusti/ombt ombt/__init__.py, _update_stats)."""
    folder = synth_run(tmp_path)
    before = analyse_messages(folder, "r").summary
    server = logs_of(folder, "rpc-server")[0]

    def split(i: int, ln: bytes) -> bytes:
        if i % 7:
            return ln
        return ln.rstrip(b"}\n") + b', "error": "unsynchronized clocks"\n}\n'

    _rewrite(server, split)
    n_split = sum(1 for ln in server.read_bytes().splitlines() if ln == b"}")
    assert n_split > 10
    got = check(folder)
    assert got["msg_bad_lines"] == 0 and got["problems"] == []
    assert got["msg_received"] == before["msg_received"]
    assert f"{n_split} split records rejoined" in got["msg_notes"]


def test_unescaped_error_strings_are_read(tmp_path: Path) -> None:
    """ombt 3.0.0's client writes ``, "error": "%s"`` with str(exc) unescaped."""
    folder = synth_run(tmp_path)
    client = logs_of(folder, "rpc-client")[1]
    raw = 'MessagingTimeout: Timed out waiting for "reply" in C:\\queue'

    def unescaped(i: int, ln: bytes) -> bytes:
        if i % 10:
            return ln
        return ln.rstrip(b"}\n") + f', "error": "{raw}"}}\n'.encode()

    _rewrite(client, unescaped)
    n = client.read_text().count(raw)
    assert n > 10
    result = analyse_messages(folder, "r", keep_per_message=True)
    got = check(folder)
    assert got["msg_bad_lines"] == 0 and got["problems"] == []
    assert got["msg_errors"] == n and got["msg_sent"] == 900
    assert f"{n} unescaped error strings read" in got["msg_notes"]
    assert result.per_message is not None
    errors = [e for e in result.per_message.column("error").to_pylist() if e is not None]
    assert errors == [raw] * n


def test_times_written_as_strings_are_read_and_counted(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    before = analyse_messages(folder, "r").summary
    client = logs_of(folder, "rpc-client")[0]
    import re

    _rewrite(client, lambda i, ln: re.sub(rb'"(start|stop)": ([0-9.]+)', rb'"\1": "\2"', ln))
    assert client.read_text().count('"start": "') == 300
    got = check(folder)
    assert got["msg_sent"] == 900 and got["msg_bad_lines"] == 0 and got["problems"] == []
    for col in ("rtt_p50_ms", "rtt_p99_ms", "steady_rate"):
        assert got[col] == before[col], col
    assert "600 time values written as strings read as numbers" in got["msg_notes"]


def test_times_of_another_type_are_counted(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    client = logs_of(folder, "rpc-client")[0]
    _rewrite(client, lambda i, ln: ln.replace(b'"stop": ', b'"stop": "x", "z": ', 1)
             if i in (5, 6) else ln)
    got = check(folder)
    assert "2 time values that are not numbers left out" in got["msg_notes"]


def test_repeated_client_lines_are_counted_once(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    before = analyse_messages(folder, "r").summary
    client = logs_of(folder, "rpc-client")[0]
    lines = client.read_bytes().splitlines(keepends=True)
    lines[10:11] = [lines[10]] * 5  # one line repeated 5 times
    client.write_bytes(b"".join(lines))
    got = check(folder)
    assert got["msg_sent"] == 900 == before["msg_sent"]
    for col in CONTRACT:
        assert repr(got[col]) == repr(before[col]), col
    assert "4 repeated client lines (an id logged more than once) counted once" \
        in got["msg_notes"]


@pytest.mark.parametrize(("content", "what"), [(b"", "empty (0 bytes)"),
                                               (bytes(range(256)) * 8, "binary")])
def test_empty_or_binary_agent_log_is_named(tmp_path: Path, content: bytes, what: str) -> None:
    folder = synth_run(tmp_path)
    client = logs_of(folder, "rpc-client")[2]
    client.write_bytes(content)
    got = check(folder)
    assert got["msg_clients_logged"] == 2 and got["msg_unknown"] == 300
    assert f"{client.name} ({what}) not read as an agent log" in got["msg_notes"]
    assert folder.name in got["msg_notes"]


def test_run_without_agent_logs_gets_a_note(tmp_path: Path) -> None:
    folder = synth_run(tmp_path)
    for p in logs_of(folder, "rpc-client") + logs_of(folder, "rpc-server"):
        p.unlink()
    got = check(folder)
    assert got["msg_sent"] == got["msg_clients_logged"] == 0 and got["problems"] == []
    assert got["msg_notes"] == f"run {folder.name}: {NO_AGENT_LOGS}"
