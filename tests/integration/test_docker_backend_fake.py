"""Error paths of the ``docker`` backend, with a FAKE Docker client.

The client below is a fake because no Docker engine runs on these machines
and the paths tested here (a container that dies at start, an exception in
the ``with`` block, a port published beyond 127.0.0.1) are awkward to provoke
on a real one. The real behaviour is tested against Podman in
tests/integration/test_docker_backend.py. The engine-unreachable test needs no fake.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from ombt_postmortem.influx.backends import docker as db
from ombt_postmortem.influx.backends.ready import ServerNotReady, free_port
from ombt_postmortem.influx.backends.server import Limits


class FakeContainer:
    def __init__(self, name: str, after_start: str, exit_code: int, host_ip: str,
                 port: int) -> None:
        self.id = "f" * 64
        self.name = name
        self.status = "created"
        self.after_start = after_start
        self.exit_code = exit_code
        self.host_ip = host_ip
        self.port = port
        self.attrs: dict[str, Any] = {}
        self.removed = False

    def start(self) -> None:
        self.status = self.after_start

    def reload(self) -> None:
        if self.removed:
            raise docker.errors.NotFound("no such container")
        self.attrs = {
            "State": {"ExitCode": self.exit_code if self.status == "exited" else 0},
            "HostConfig": {"Memory": 64 * 2**20},
            "NetworkSettings": {"Ports": {"8086/tcp": [
                {"HostIp": self.host_ip, "HostPort": str(self.port)}]}},
        }

    def logs(self, tail: int | None = None, **_: Any) -> bytes:
        lines = [f"line {i}" for i in range(100)] + ["run: open server: boom"]
        return ("\n".join(lines[-tail:] if tail else lines) + "\n").encode()


class FakeClient:
    def __init__(self, after_start: str = "exited", exit_code: int = 1,
                 host_ip: str = "127.0.0.1", port: int = 1) -> None:
        self.removed: list[str] = []
        self.created: dict[str, Any] = {}
        self.container: FakeContainer | None = None
        fake = self

        class Containers:
            def list(self, **_: Any) -> list[Any]:
                return []

            def create(self, image: str, **kwargs: Any) -> FakeContainer:
                fake.created = {"image": image, **kwargs}
                fake.container = FakeContainer(kwargs["name"], after_start, exit_code,
                                               host_ip, port)
                return fake.container

        class Images:
            def get(self, image: str) -> object:
                return object()

        class Api:
            def remove_container(self, name: str, force: bool = False) -> None:
                assert force
                fake.removed.append(name)
                if fake.container is not None:
                    fake.container.removed = True

        self.containers = Containers()
        self.images = Images()
        self.api = Api()

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        return {"NCPU": 2, "SecurityOptions": []}

    def close(self) -> None:
        pass


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    box: dict[str, Any] = {}
    monkeypatch.setattr(db, "docker_client", lambda *a, **k: box["client"])
    monkeypatch.setattr(db, "_spawn_reaper", lambda *a, **k: None)
    yield box


@pytest.fixture
def ping_server() -> Iterator[int]:
    """A stand-in for influxd's /ping (204), on 127.0.0.1."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield int(srv.server_address[1])
    srv.shutdown()
    srv.server_close()


def test_engine_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    url = f"unix://{tmp_path}/no-engine.sock"
    assert db.engine_available(url, timeout_s=1) is False
    with pytest.raises(db.DockerBackendError, match="no Docker-API engine answers"), \
            db.docker_server(tmp_path, Limits(), base_url=url):
        pass


def test_container_dying_at_start_fails_fast_with_log_tail(fake: dict[str, Any],
                                                           tmp_path: Path) -> None:
    fake["client"] = client = FakeClient(after_start="exited", exit_code=137,
                                         port=free_port())
    log = tmp_path / "logs" / "influxd.log"
    with pytest.raises(ServerNotReady) as err, db.docker_server(
            tmp_path, Limits(2, 64), image="img", log_path=log, ready_timeout_s=30):
        pass
    msg = str(err.value)
    assert "exited before answering" in msg
    assert "exit code 137" in msg and "memory limit (64 MiB)" in msg
    assert "run: open server: boom" in msg and "line 50" not in msg  # a tail only
    assert client.removed == [client.created["name"]]
    assert "line 0" in log.read_text()  # the whole log is kept
    # what was asked of the engine
    assert client.created["mem_limit"] == client.created["memswap_limit"] == 64 * 2**20
    assert client.created["nano_cpus"] == 2 * 10**9
    assert client.created["ports"] == {"8086/tcp": ("127.0.0.1", None)}
    assert client.created["volumes"] == {str(tmp_path.resolve()): {
        "bind": "/var/lib/influxdb", "mode": "rw"}}
    assert client.created["labels"]["ombt-postmortem"] == "1"
    assert client.created["environment"]["INFLUXDB_REPORTING_DISABLED"] == "true"


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_container_removed_on_exception(fake: dict[str, Any], tmp_path: Path,
                                        ping_server: int, exc: type[BaseException]) -> None:
    fake["client"] = client = FakeClient(after_start="running", port=ping_server)
    with pytest.raises(exc), db.docker_server(tmp_path, Limits(), image="img") as h:
        assert h.url == f"http://127.0.0.1:{ping_server}"
        raise exc("boom")
    assert client.removed == [client.created["name"]]


def test_port_published_beyond_loopback_is_refused(fake: dict[str, Any],
                                                   tmp_path: Path) -> None:
    fake["client"] = client = FakeClient(after_start="running", host_ip="0.0.0.0", port=1)
    with pytest.raises(db.DockerBackendError, match="beyond 127.0.0.1"), \
            db.docker_server(tmp_path, Limits(), image="img"):
        pass
    assert client.removed == [client.created["name"]]


def test_reaper_exits_at_once_when_told_done() -> None:
    reaper = db._spawn_reaper("ombt-postmortem-never-created", "unix:///nonexistent.sock")
    assert reaper is not None
    db._finish_reaper(reaper, removed=True)
    assert reaper.returncode == 0
