"""The native influxd backend against the real binary: isolation, limits, no orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from influx_helpers import (
    INFLUXD,
    http_query,
    influx,
    influxd_children,
    is_dead,
    processes_with_arg,
    run_dirs,
    sockets_of,
    untar,
)

from ombt_postmortem.influx.backends import native
from ombt_postmortem.influx.backends.choose import BackendUnavailable, choose_backend, open_server
from ombt_postmortem.influx.backends.native import go_version, native_server, runtime_env
from ombt_postmortem.influx.backends.ready import ServerNotReady
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.restore import sweep_stale

pytestmark = influx
TCP_LISTEN = "0A"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A plain `tar xzf` copy of the first real run's InfluxDB folder."""
    return untar(run_dirs()[0] / "influxdb-data.tar.gz", tmp_path / "d1") / "influxdb-data"


def _assert_gone(pid: int, config: str) -> None:
    assert is_dead(pid)
    assert processes_with_arg(config) == []
    assert influxd_children() == []


def test_server_isolation_limits_and_cleanup(data_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # would move the HTTP listener to every interface if it reached influxd
    monkeypatch.setenv("INFLUXDB_HTTP_BIND_ADDRESS", "0.0.0.0:8086")
    monkeypatch.setenv("INFLUXDB_BIND_ADDRESS", "0.0.0.0:8088")
    log = tmp_path / "logs" / "influx.log"
    with native_server(data_dir, Limits(threads=1, mem_mb=300), log_path=log) as h:
        pid, rpc = int(h.info["pid"]), int(h.info["rpc_port"])
        config = h.info["config"]
        assert h.host == "127.0.0.1" and h.url == f"http://127.0.0.1:{h.port}"
        socks = sockets_of(pid)
        listening = sorted((ip, port) for proto in ("tcp", "tcp6")
                           for ip, port, st in socks.get(proto, []) if st == TCP_LISTEN)
        assert listening == sorted([("127.0.0.1", h.port), ("127.0.0.1", rpc)])
        assert rpc != 8088 and h.port != 8086
        assert not socks.get("udp") and not socks.get("udp6")
        env = dict(kv.split("=", 1) for kv in
                   Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in kv)
        assert env["GOMAXPROCS"] == "1" and env["GOMEMLIMIT"] == "300MiB"
        assert not [k for k in env if k.startswith("INFLUXDB_")]
        result = http_query(h.url, "SHOW DATABASES")
        assert ["telegraf"] in result["series"][0]["values"]
        # the generated config keeps meta/data/wal inside the folder
        text = Path(config).read_text()
        for sub in ("meta", "data", "wal"):
            assert f'"{data_dir / sub}"' in text
    _assert_gone(pid, config)
    assert not Path(config).parent.exists()
    logged = log.read_text()
    assert "maxprocs=1" in logged  # influxd reports the Go runtime honoured GOMAXPROCS
    assert f"addr=127.0.0.1:{h.port}" in logged
    assert "stopped (exit status 0)" in logged


def test_two_servers_at_once(data_dir: Path, tmp_path: Path) -> None:
    other = untar(run_dirs()[1] / "influxdb-data.tar.gz", tmp_path / "d2") / "influxdb-data"
    with native_server(data_dir, Limits(1, 256)) as a, native_server(other, Limits(1, 256)) as b:
        ports = {a.port, b.port, int(a.info["rpc_port"]), int(b.info["rpc_port"])}
        assert len(ports) == 4
        q = 'SELECT count("usage_idle") FROM "cpu"'
        ca = http_query(a.url, q, "telegraf")["series"][0]["values"][0][1]
        cb = http_query(b.url, q, "telegraf")["series"][0]["values"][0][1]
        assert ca > 0 and cb > 0
        pids = [int(a.info["pid"]), int(b.info["pid"])]
        assert sorted(influxd_children()) == sorted(pids)
    for pid in pids:
        assert is_dead(pid)
    assert influxd_children() == []


def test_stopped_on_exception(data_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), native_server(data_dir, Limits()) as h:
        pid = int(h.info["pid"])
        raise RuntimeError("boom")
    _assert_gone(pid, h.info["config"])


def test_port_taken_between_choice_and_bind_is_retried(data_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    thief = socket.socket()
    thief.bind(("127.0.0.1", 0))
    thief.listen()
    taken = thief.getsockname()[1]
    real = native.pick_ports
    calls = []

    def racy() -> tuple[int, int]:
        calls.append(1)
        http, rpc = real()
        return (http, taken) if len(calls) == 1 else (http, rpc)

    monkeypatch.setattr(native, "pick_ports", racy)
    try:
        with native_server(data_dir, Limits()) as h:
            assert h.info["attempts"] == "2"
            assert int(h.info["rpc_port"]) != taken
            assert http_query(h.url, "SHOW DATABASES")
            log = h.log_path
            assert log is not None and "address already in use" in log.read_text()
    finally:
        thief.close()
    assert influxd_children() == []


def test_corrupt_data_fails_with_log_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    (bad / "meta").mkdir(parents=True)
    (bad / "data").mkdir()
    (bad / "meta" / "meta.db").write_bytes(os.urandom(4000))
    log = tmp_path / "bad.log"
    with pytest.raises(ServerNotReady) as err, native_server(bad, Limits(), log_path=log,
                                                             ready_timeout_s=30):
        pytest.fail("must not start")
    # a dead server fails at once (its exit is noticed), not at the timeout
    assert "exited before answering" in str(err.value)
    assert "did not answer" not in str(err.value)
    assert "create server" in str(err.value)  # influxd's own last line is quoted
    assert "create server" in log.read_text()
    assert influxd_children() == []


def test_influxd_dies_with_a_sigkilled_parent(data_dir: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from ombt_postmortem.influx.backends.native import native_server
        from ombt_postmortem.influx.backends.server import Limits
        with native_server({str(data_dir)!r}, Limits()) as h:
            print(h.info["pid"], h.info["config"], flush=True)
            time.sleep(120)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        pid, config = int(line[0]), line[1]
        assert not is_dead(pid)
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        deadline = time.monotonic() + 5
        while not is_dead(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert is_dead(pid), "influxd survived the SIGKILL of its parent"
        assert processes_with_arg(config) == []
        # the SIGKILLed job could not remove its private folder: the next job does
        left = Path(config).parent
        assert left.is_relative_to(tmp_path) and left.exists()
        assert sweep_stale(tmp_path) == [left]
        assert not left.exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_go_version_and_memory_env() -> None:
    assert INFLUXD
    go = go_version(INFLUXD)
    # Debian's influxd 1.6.7 is built with go1.19.8: GOMEMLIMIT is honoured
    assert go is not None and go >= (1, 19)
    env = runtime_env(Limits(threads=3, mem_mb=700), go, base={"INFLUXDB_X": "1", "A": "b"})
    assert env == {"A": "b", "GOMAXPROCS": "3", "GOMEMLIMIT": "700MiB"}
    old = runtime_env(Limits(threads=2, mem_mb=700), (1, 17), base={"GOMEMLIMIT": "9GiB"})
    assert old == {"GOMAXPROCS": "2", "GOGC": "50"}
    assert go_version("/bin/sh") is None


def test_backend_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert choose_backend("auto") == "native"
    assert choose_backend("native") == "native"
    with pytest.raises(ValueError, match="auto, native, docker"):
        choose_backend("kubernetes")
    monkeypatch.setenv("PATH", str(tmp_path))  # no influxd, and no engine at this address
    with pytest.raises(BackendUnavailable, match="apt-get install influxdb.*DOCKER_HOST"):
        choose_backend("auto", {"base_url": f"unix://{tmp_path}/nothing.sock"})
    with pytest.raises(BackendUnavailable, match="not on PATH"):
        choose_backend("native")


def test_open_server_native(data_dir: Path) -> None:
    with open_server("auto", data_dir, Limits(), None, 30, {}) as h:
        assert h.backend == "native"
        assert http_query(h.url, "SHOW DATABASES")
        pid = int(h.info["pid"])
    assert is_dead(pid)
