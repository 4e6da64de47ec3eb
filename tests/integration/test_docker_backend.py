"""The ``docker`` InfluxDB backend against a REAL container engine.

These machines have no Docker engine: CI runs Podman's Docker-compatible API
(``eval "$(bash ci/podman-up.sh)"`` as root) and points ``OMBT_DOCKER_HOST`` at
it. Without ``OMBT_DOCKER_HOST`` the tests skip; with ``OMBT_REQUIRE_PODMAN=1``
they FAIL instead when the engine or its image is missing. The image is
``OMBT_DOCKER_IMAGE`` (default ``localhost/influxdb-local:1.6``, built by
ci/podman-up.sh from Debian's influxd). No part of the engine is mocked.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from conftest import REPO

from ombt_postmortem.influx.backends.docker import (
    LABEL,
    LABEL_HOST,
    LABEL_PID,
    DockerBackendError,
    docker_client,
    docker_server,
    engine_available,
    sweep_orphans,
)
from ombt_postmortem.influx.backends.ready import ServerNotReady, free_port, wait_ready
from ombt_postmortem.influx.backends.server import Limits

pytestmark = pytest.mark.podman

CAMPAIGN = REPO / "resources" / "example-campaign"
RUN_DIR = sorted(p for p in CAMPAIGN.iterdir() if (p / "influxdb-data.tar.gz").is_file())[0]
IMAGE = os.environ.get("OMBT_DOCKER_IMAGE", "localhost/influxdb-local:1.6")
INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


def _unavailable(reason: str) -> None:
    if os.environ.get("OMBT_REQUIRE_PODMAN") == "1":
        pytest.fail(f"OMBT_REQUIRE_PODMAN=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine() -> str:
    url = os.environ.get("OMBT_DOCKER_HOST")
    if not url:
        _unavailable("OMBT_DOCKER_HOST is not set (as root: eval \"$(bash ci/podman-up.sh)\")")
        raise AssertionError  # unreachable
    if not engine_available(url, timeout_s=5):
        _unavailable(f"no Docker-API engine answers at OMBT_DOCKER_HOST={url}")
    client = docker_client(url)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"image {IMAGE} is missing on {url} (bash ci/podman-up.sh builds it)")
    finally:
        client.close()
    return url


@pytest.fixture
def client(engine: str) -> Iterator[docker.DockerClient]:
    c = docker_client(engine)
    yield c
    c.close()


def _restore(tar: Path, dest: Path) -> Path:
    """Extract safely (tarfile 'data' filter) and return the folder holding meta/ and data/."""
    dest.mkdir(parents=True)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    found = [p.parent for p in dest.rglob("meta") if (p.parent / "data").is_dir()]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's data, extracted once; tests get copies (influxd writes into its folder)."""
    return _restore(RUN_DIR / "influxdb-data.tar.gz", tmp_path_factory.mktemp("pristine") / "x")


@pytest.fixture
def data_dir(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "docker" / pristine.name))


def _run_window() -> tuple[float, float]:
    """[min start, max stop] of the run's clients and servers, from the controller log."""
    logs = [p for p in RUN_DIR.glob("*controller*.log") if not p.name.endswith("_docker.log")]
    assert len(logs) == 1, logs
    lines = [json.loads(line) for line in logs[0].read_text().splitlines() if line.strip()]
    results = [r for line in lines[:2] for r in line.values()]
    return min(r["start_time"] for r in results), max(r["stop_time"] for r in results)


def _query(url: str, q: str, db: str | None = None) -> list[dict[str, Any]]:
    params = {"q": q, "epoch": "ns"}
    if db:
        params["db"] = db
    with urllib.request.urlopen(f"{url}/query?{urllib.parse.urlencode(params)}",
                                timeout=30) as resp:
        body = json.load(resp)
    result = body["results"][0]
    assert "error" not in result, result
    return list(result.get("series", []))


def _count(url: str, q: str) -> int:
    series = _query(url, q, "telegraf")
    # count(*) gives one column per field, null where a measurement lacks it
    return sum(int(x) for s in series for row in s["values"] for x in row[1:] if x is not None)


@contextmanager
def _native_influxd(data: Path, work: Path) -> Iterator[str]:
    """A plain influxd on the same data, with a minimal hand-written config, 127.0.0.1 only."""
    http, rpc = free_port(), free_port()
    conf = work / "influxd.conf"
    conf.write_text(
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{data}/meta"\n'
        f'[data]\n  dir = "{data}/data"\n  wal-dir = "{data}/wal"\n'
        "[monitor]\n  store-enabled = false\n"
        f'[http]\n  bind-address = "127.0.0.1:{http}"\n'
    )
    log = work / "native.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([INFLUXD, "-config", str(conf)], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{http}"
        wait_ready(url, 30, alive=lambda: proc.poll() is None,
                   last_logs=lambda: log.read_text()[-3000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _gone(client: docker.DockerClient, name: str) -> bool:
    try:
        client.containers.get(name)
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as exc:
        # Podman, while removing: 500 "... does not exist in database: no such container"
        if "no such container" in str(exc).lower():
            return True
        raise
    return False


@pytest.mark.skipif(not Path(INFLUXD).exists(), reason="no influxd binary to compare with")
def test_serves_the_restored_data_like_native_influxd(engine: str, data_dir: Path,
                                                      tmp_path: Path) -> None:
    start, stop = _run_window()
    window = f"time >= {int(start * 1e9)} AND time <= {int(stop * 1e9)}"
    wide = f"time >= {int((start - 60) * 1e9)} AND time <= {int((stop + 60) * 1e9)}"
    queries = {
        "cpu_all": "SELECT count(usage_idle) FROM cpu",
        "cpu_window": f"SELECT count(usage_idle) FROM cpu WHERE {window}",
        "cpu_window_60s": f"SELECT count(usage_idle) FROM cpu WHERE {wide}",
        "all_fields": "SELECT count(*) FROM /.*/",
    }
    log = tmp_path / "docker.log"
    with docker_server(data_dir, Limits(1, 256), image=IMAGE, base_url=engine,
                       log_path=log) as h:
        assert h.backend == "docker" and h.host == "127.0.0.1"
        assert h.url == f"http://127.0.0.1:{h.port}"
        dbs = [v[0] for s in _query(h.url, "SHOW DATABASES") for v in s["values"]]
        assert "telegraf" in dbs
        got = {k: _count(h.url, q) for k, q in queries.items()}
        got["series"] = len(_query(h.url, "SHOW SERIES", "telegraf")[0]["values"])

    native_data = _restore(RUN_DIR / "influxdb-data.tar.gz", tmp_path / "native")
    with _native_influxd(native_data, tmp_path) as url:
        want = {k: _count(url, q) for k, q in queries.items()}
        want["series"] = len(_query(url, "SHOW SERIES", "telegraf")[0]["values"])

    assert got == want
    assert got["cpu_all"] > 0 and got["cpu_window"] > 0  # the WAL was replayed
    assert "Listening on HTTP" in log.read_text()  # the container's log was kept


def test_port_published_on_loopback_only(engine: str, client: docker.DockerClient,
                                         data_dir: Path) -> None:
    with docker_server(data_dir, Limits(1, 256), image=IMAGE, base_url=engine) as h:
        c = client.containers.get(h.info["container_id"])
        bindings = c.attrs["NetworkSettings"]["Ports"]["8086/tcp"]
        assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert {int(b["HostPort"]) for b in bindings} == {h.port}
        assert [k for k, v in c.attrs["NetworkSettings"]["Ports"].items() if v] == ["8086/tcp"]
        assert c.labels[LABEL] == "1" and c.labels[LABEL_PID] == str(os.getpid())


def test_two_servers_at_once_do_not_collide(engine: str, pristine: Path, tmp_path: Path) -> None:
    a = Path(shutil.copytree(pristine, tmp_path / "a"))
    b = Path(shutil.copytree(pristine, tmp_path / "b"))
    lim = Limits(1, 256)
    with (docker_server(a, lim, image=IMAGE, base_url=engine) as ha,
          docker_server(b, lim, image=IMAGE, base_url=engine) as hb):
        assert ha.port != hb.port
        q = "SELECT count(usage_idle) FROM cpu"
        assert _count(ha.url, q) == _count(hb.url, q) > 0


@pytest.mark.parametrize("exc", [None, RuntimeError, KeyboardInterrupt])
def test_container_removed_whatever_happens(engine: str, client: docker.DockerClient,
                                            data_dir: Path,
                                            exc: type[BaseException] | None) -> None:
    name = ""
    expect = pytest.raises(exc) if exc else nullcontext()
    with expect, docker_server(data_dir, Limits(1, 256), image=IMAGE, base_url=engine) as h:
        name = h.info["container_name"]
        assert not _gone(client, name)
        if exc:
            raise exc("boom")
    assert name and _gone(client, name)


def _cgroup_dir(pid: int, controller: str) -> Path:
    """The host folder of ``pid``'s cgroup for ``controller`` (cgroup v1, else v2)."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}")
    v2 = [line.split(":", 2)[2] for line in lines if line.startswith("0::")]
    return Path(f"/sys/fs/cgroup{v2[0]}")


def test_memory_and_cpu_limits_really_applied(engine: str, client: docker.DockerClient,
                                              data_dir: Path) -> None:
    mem_mb, threads = 300, 1
    with docker_server(data_dir, Limits(threads, mem_mb), image=IMAGE, base_url=engine) as h:
        c = client.containers.get(h.info["container_id"])
        assert c.attrs["HostConfig"]["Memory"] == mem_mb * 2**20
        assert c.attrs["HostConfig"]["NanoCpus"] == threads * 10**9
        env = dict(e.split("=", 1) for e in c.attrs["Config"]["Env"])
        assert env["GOMAXPROCS"] == str(threads)
        pid = int(c.attrs["State"]["Pid"])
        if not Path(f"/proc/{pid}").exists():
            _unavailable("the engine's processes are not visible from here (other pid "
                         "namespace): the cgroup limits cannot be read")
        # what the kernel enforces, read on the host
        mem_dir = _cgroup_dir(pid, "memory")
        if (mem_dir / "memory.limit_in_bytes").exists():  # cgroup v1
            limit = int((mem_dir / "memory.limit_in_bytes").read_text())
        else:  # cgroup v2
            limit = int((mem_dir / "memory.max").read_text())
        assert limit == mem_mb * 2**20
        cpu_dir = _cgroup_dir(pid, "cpu")
        if (cpu_dir / "cpu.cfs_quota_us").exists():
            quota = int((cpu_dir / "cpu.cfs_quota_us").read_text())
            period = int((cpu_dir / "cpu.cfs_period_us").read_text())
        else:
            q, p = (cpu_dir / "cpu.max").read_text().split()
            quota, period = int(q), int(p)
        assert quota == threads * period


def test_memory_limit_kills_a_greedy_query(engine: str, client: docker.DockerClient,
                                           data_dir: Path) -> None:
    """A query of millions of buckets under a 32 MiB limit: the kernel OOM-kills influxd.

    Exit code 137; on Podman ``State.OOMKilled`` stays false, so it is not asserted.
    """
    greedy = "SELECT count(usage_idle) FROM cpu WHERE time > now() - 3000d GROUP BY time(1s)"
    with docker_server(data_dir, Limits(1, 32), image=IMAGE, base_url=engine) as h:
        c = client.containers.get(h.info["container_id"])
        with pytest.raises((OSError, http.client.HTTPException)):  # dies with the server
            _query(h.url, greedy, "telegraf")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            c.reload()
            if c.status != "running":
                break
            time.sleep(0.1)
        assert c.status in ("exited", "stopped")  # Podman says either after an OOM kill
        assert c.attrs["State"]["ExitCode"] == 137


def test_dead_server_fails_fast_with_exit_code_and_log_tail(engine: str, tmp_path: Path,
                                                            client: docker.DockerClient) -> None:
    bad = tmp_path / "bad"
    (bad / "meta").mkdir(parents=True)
    (bad / "meta" / "meta.db").write_bytes(b"not a meta store")  # influxd refuses it
    with pytest.raises(ServerNotReady) as err, docker_server(
            bad, Limits(1, 256), image=IMAGE, base_url=engine, ready_timeout_s=30):
        pass
    msg = str(err.value)
    # the container's exit was noticed (not the 30 s timeout), with its code and log tail
    assert "exited before answering" in msg and "did not answer" not in msg
    assert "exit code" in msg and "InfluxDB starting" in msg
    assert not client.containers.list(all=True, filters={"label": f"{LABEL_PID}={os.getpid()}"})


def test_missing_image_is_a_clear_error(engine: str, data_dir: Path) -> None:
    with pytest.raises(DockerBackendError, match="localhost/no-such-image"), docker_server(
            data_dir, Limits(1, 256), image="localhost/no-such-image:0", base_url=engine):
        pass


CHILD = """
import sys, time
from pathlib import Path
from ombt_postmortem.influx.backends.docker import docker_server
from ombt_postmortem.influx.backends.server import Limits
with docker_server(Path(sys.argv[1]), Limits(1, 256), image=sys.argv[2], base_url=sys.argv[3]) as h:
    print(h.info["container_name"], flush=True)
    time.sleep(600)
"""


def test_sigkilled_owner_leaves_no_container(engine: str, client: docker.DockerClient,
                                             data_dir: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir), IMAGE, engine],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        name = child.stdout.readline().strip()
        assert name.startswith("ombt-postmortem-"), name
        assert not _gone(client, name)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 20
    while not _gone(client, name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(client, name), "the reaper did not remove the container of a SIGKILLed job"
    # and the reaper (whose argv names the container) has exited too
    deadline = time.monotonic() + 10
    while _processes_naming(name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_naming(name)


def _processes_naming(word: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if word.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def test_sweep_removes_only_dead_owners_containers(engine: str,
                                                   client: docker.DockerClient) -> None:
    import socket

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    made = []
    try:
        for pid in (dead.pid, os.getpid()):
            made.append(client.containers.create(
                IMAGE, name=f"ombt-postmortem-sweeptest-{pid}",
                labels={LABEL: "1", LABEL_HOST: host, LABEL_PID: str(pid)}))
        removed = sweep_orphans(engine)
        assert f"ombt-postmortem-sweeptest-{dead.pid}" in removed
        assert _gone(client, f"ombt-postmortem-sweeptest-{dead.pid}")
        assert not _gone(client, f"ombt-postmortem-sweeptest-{os.getpid()}")
    finally:
        for c in made:
            with suppress(docker.errors.NotFound):
                c.remove(force=True)
