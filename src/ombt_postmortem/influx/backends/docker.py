"""The ``docker`` backend: an InfluxDB 1.x server in a container, via the Docker SDK.

:func:`docker_server` starts one container on a restored data folder (the
folder holding ``meta/ data/ wal/``, mounted at ``/var/lib/influxdb``), waits
until ``/ping`` answers and always removes the container afterwards.

Contract of the image (that of the public InfluxDB 1.x images, e.g. the default
of ``influx.docker.image`` in the configuration schema): ``influxd``
is the command, data lives in ``/var/lib/influxdb/{meta,data,wal}``, HTTP on
port 8086, and ``INFLUXDB_*`` environment variables override the config (this
backend sets the data paths, the bind address, ``reporting-disabled`` and
turns self-monitoring off through them, so any image honouring the contract
works). ``ci/podman-up.sh`` builds such an image, ``localhost/influxdb-local:1.6``,
from Debian's ``influxd`` without any registry.

Limits: ``mem_limit`` = ``memswap_limit`` = ``limits.mem_mb`` MiB, ``nano_cpus`` =
``limits.threads`` CPUs (at most the host's CPU count), plus ``GOMAXPROCS`` =
threads and ``GOMEMLIMIT`` = 90 % of the memory for the Go runtime inside.
Port 8086 is published on 127.0.0.1 only, on a host port the engine picks
(no race with other jobs), so the engine must run on this host (a remote
``DOCKER_HOST`` is not supported). Under a rootful engine a non-root caller's
container runs as the caller's uid:gid, so the files influxd writes into the
mounted folder stay deletable; root callers and rootless engines keep the
image's user.

Public API: :func:`docker_server`, :func:`engine_available` (for
``influx.backend: auto``), :func:`docker_client`, :func:`sweep_orphans`,
:class:`DockerBackendError` (an :class:`~ombt_postmortem.errors.EnvironmentFault`).

TESTED AGAINST PODMAN, NOT DOCKER: these machines have no Docker engine. The
tests (``tests/integration/test_docker_backend.py``) run this code against Podman 4.3's
Docker-compatible API (``podman system service``), which really enforces the
limits. Known difference: after an OOM kill Podman leaves ``State.OOMKilled``
false; only the exit code (137) shows it. Users with Docker point the same
code at their engine (``DOCKER_HOST`` or ``base_url``) and at a public
InfluxDB 1.x image.

Orphans. A container is not a child of the job and cannot get a parent-death
signal, so three layers make sure none outlives its job:

1. the ``finally`` of :func:`docker_server` force-removes the container on any
   exit, exceptions and ``KeyboardInterrupt`` included;
2. a *reaper* process (``python -c ... _reaper_main``, own session so a
   Ctrl-C or a process-group kill of the job does not reach it) is started
   before the container is created and blocks reading a pipe whose only
   writer is the job. When the job dies, even by SIGKILL, the kernel closes
   the pipe and the reaper force-removes the container by its name. After a
   normal removal the job writes ``done`` and the reaper exits at once.
   (A child forked *without exec* by the job inherits the pipe and delays
   the reaper until it dies too; subprocesses that exec do not.)
3. every container carries labels ``ombt-postmortem=1`` and
   ``ombt-postmortem.owner-{host,pid,start}`` (host name, pid and the pid's
   start time from ``/proc``, which guards against pid reuse). At each start,
   :func:`sweep_orphans` removes the labelled containers of this host whose
   owner is dead: it catches what the reaper missed (reaper killed with the
   job, e.g. a whole cgroup killed by a batch system). ``ci/podman-down.sh``
   removes every labelled container.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.constants
import docker.errors
import docker.utils
import requests.exceptions

from ... import config
from ...errors import EnvironmentFault
from .. import owner
from .ready import wait_ready
from .server import Limits, ServerHandle

if TYPE_CHECKING:
    from docker.models.containers import Container

log = logging.getLogger(__name__)

CONTAINER_DATA_DIR = "/var/lib/influxdb"
CONTAINER_PORT = "8086/tcp"
LABEL = "ombt-postmortem"
LABEL_HOST = "ombt-postmortem.owner-host"
LABEL_PID = "ombt-postmortem.owner-pid"
LABEL_START = "ombt-postmortem.owner-start"
LABEL_DATA = "ombt-postmortem.data-dir"
LOG_TAIL_LINES = 30

# errors meaning "the engine or the container did not do what we asked"
_ENGINE_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    OSError,
)


class DockerBackendError(EnvironmentFault):
    """The engine is unreachable, the image is missing, or the container could not start."""


def _is_missing(exc: BaseException) -> bool:
    """The container does not exist (any more).

    Docker says 404; Podman, during a removal, may answer 500 "... does not
    exist in database: no such container".
    """
    if isinstance(exc, docker.errors.NotFound):
        return True
    return isinstance(exc, docker.errors.APIError) and "no such container" in str(exc).lower()


def docker_client(base_url: str | None = None, timeout_s: float = 60) -> docker.DockerClient:
    """A client for ``base_url``, else from the environment (``DOCKER_HOST``, TLS variables).

    The API version comes from ``DOCKER_API_VERSION`` when set, else from the
    ``Api-Version`` header of ``/_ping`` (as the docker CLI negotiates it): the
    SDK's own ``auto`` asks ``/version``, which takes 0.35 s on Podman.
    """
    kwargs: dict[str, Any] = (
        {"base_url": base_url} if base_url else dict(docker.utils.kwargs_from_env())
    )
    kwargs["timeout"] = int(max(1, timeout_s))
    version = os.environ.get("DOCKER_API_VERSION") or _ping_api_version(kwargs) or "auto"
    return docker.DockerClient(version=version, **kwargs)


def _ping_api_version(kwargs: dict[str, Any]) -> str | None:
    """The engine's API version, capped at the SDK's, from one ``/_ping``; None if unknown."""
    try:
        probe = docker.APIClient(version=docker.constants.MINIMUM_DOCKER_API_VERSION, **kwargs)
    except _ENGINE_ERRORS:
        return None
    try:
        resp = probe.get(f"{probe.base_url}/_ping", timeout=kwargs["timeout"])
        server = resp.headers.get("Api-Version")
    except _ENGINE_ERRORS:
        return None
    finally:
        probe.close()
    if not server or not re.fullmatch(r"\d+\.\d+", server):
        return None
    ours = docker.constants.DEFAULT_DOCKER_API_VERSION
    return server if docker.utils.version_lt(server, ours) else ours


def _where(base_url: str | None) -> str:
    return base_url or os.environ.get("DOCKER_HOST") or "the default Docker socket"


def engine_available(base_url: str | None = None, timeout_s: float = 2.0) -> bool:
    """True when a Docker-API engine answers a ping at ``base_url`` (or ``DOCKER_HOST``)."""
    try:
        client = docker_client(base_url, timeout_s)
    except _ENGINE_ERRORS:
        return False
    try:
        return bool(client.ping())
    except _ENGINE_ERRORS:
        return False
    finally:
        client.close()


# --- owners and orphans ------------------------------------------------------


def _owner_labels() -> dict[str, str]:
    host, pid, start = owner.me()
    return {
        LABEL: "1",
        LABEL_HOST: host,
        LABEL_PID: str(pid),
        LABEL_START: start or "",
    }


def _sweep(client: docker.DockerClient) -> list[str]:
    removed: list[str] = []
    filters = {"label": [f"{LABEL}=1", f"{LABEL_HOST}={socket.gethostname()}"]}
    try:
        containers = client.containers.list(all=True, filters=filters)
    except _ENGINE_ERRORS as exc:
        log.warning("could not list containers to sweep orphans: %s", exc)
        return removed
    for c in containers:
        labels = c.labels or {}
        try:
            pid = int(labels.get(LABEL_PID, ""))
        except ValueError:
            continue
        if owner.alive(pid, labels.get(LABEL_START) or None):
            continue
        try:
            c.remove(force=True)
        except _ENGINE_ERRORS as exc:
            if _is_missing(exc):
                continue  # another sweeper was faster
            log.warning("could not remove orphan container %s: %s", c.name, exc)
            continue
        log.warning("removed orphan container %s (owner pid %d is gone)", c.name, pid)
        removed.append(str(c.name))
    return removed


def sweep_orphans(base_url: str | None = None) -> list[str]:
    """Remove this host's ombt-postmortem containers whose owner process is dead.

    Returns the names removed. Containers of live owners are left alone.
    """
    client = docker_client(base_url)
    try:
        return _sweep(client)
    finally:
        client.close()


def _spawn_reaper(name: str, base_url: str | None) -> subprocess.Popen[bytes] | None:
    """Start the process that removes container ``name`` if this process dies."""
    cmd = [
        sys.executable,
        "-c",
        "from ombt_postmortem.influx.backends.docker import _reaper_main; _reaper_main()",
        name,
    ]
    if base_url:
        cmd.append(base_url)
    env = dict(os.environ)
    # the reaper must import this package the way we did
    pkg_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        log.warning("no reaper for %s (%s); a later sweep will remove it if orphaned", name, exc)
        return None


def _finish_reaper(reaper: subprocess.Popen[bytes] | None, removed: bool) -> None:
    """Tell the reaper the container is gone (or let it remove it) and let it exit."""
    if reaper is None:
        return
    assert reaper.stdin is not None
    with contextlib.suppress(OSError):
        if removed:
            reaper.stdin.write(b"done\n")
        reaper.stdin.close()
    if removed:
        try:
            reaper.wait(timeout=10)
        except subprocess.TimeoutExpired:
            reaper.kill()
            reaper.wait()
    # else: the reaper goes on removing the container in the background


def _reaper_main(argv: list[str] | None = None) -> None:
    """Entry point of the reaper process: block on stdin, remove the container on EOF."""
    args = sys.argv[1:] if argv is None else argv
    name, base_url = args[0], (args[1] if len(args) > 1 else None)
    data = sys.stdin.buffer.read()  # returns when the owner closes the pipe or dies
    if b"done" in data:
        return
    client = docker_client(base_url, 30)
    for attempt in range(6):
        try:
            client.api.remove_container(name, force=True)
            return
        except _ENGINE_ERRORS as exc:
            if _is_missing(exc):
                if attempt >= 1:
                    return
                time.sleep(2)  # a create may still be in flight when the owner died
                continue
            print(f"ombt-postmortem reaper: removing {name}: {exc}", file=sys.stderr)
            time.sleep(1 + attempt)


# --- the server ---------------------------------------------------------------


def _ensure_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        if image.startswith("localhost/"):  # local by definition: a pull would only retry
            raise DockerBackendError(
                f"image {image!r} is not on the engine; build it with ci/podman-up.sh"
            ) from None
    repo, tag = docker.utils.parse_repository_tag(image)
    try:
        client.images.pull(repo, tag=tag or "latest")
    except _ENGINE_ERRORS as exc:
        raise DockerBackendError(
            f"image {image!r} is not on the engine and could not be pulled ({exc}); "
            "without a registry, build one from Debian's influxd with ci/podman-up.sh "
            "(localhost/influxdb-local:1.6) and set influx.docker.image to it"
        ) from exc


def _container_user(info: dict[str, Any]) -> str | None:
    """Run as the host user under a rootful engine, so the mounted files stay ours.

    Under root, or a rootless engine (whose container root *is* the host user),
    keep the image's user.
    """
    if os.getuid() == 0:
        return None
    security = " ".join(str(s) for s in info.get("SecurityOptions") or [])
    rootless = "rootless" in security or bool((info.get("host") or {}).get("security", {})
                                              .get("rootless"))
    return None if rootless else f"{os.getuid()}:{os.getgid()}"


def _environment(limits: Limits) -> dict[str, str]:
    return {
        "INFLUXDB_REPORTING_DISABLED": "true",
        "INFLUXDB_META_DIR": f"{CONTAINER_DATA_DIR}/meta",
        "INFLUXDB_DATA_DIR": f"{CONTAINER_DATA_DIR}/data",
        "INFLUXDB_DATA_WAL_DIR": f"{CONTAINER_DATA_DIR}/wal",
        "INFLUXDB_HTTP_BIND_ADDRESS": ":8086",
        "INFLUXDB_MONITOR_STORE_ENABLED": "false",
        "GOMAXPROCS": str(max(1, limits.threads)),
        # a soft limit for Go >= 1.19 runtimes (Debian's influxd 1.6.7 is go1.19),
        # below the hard cgroup limit so the GC works harder before an OOM kill
        "GOMEMLIMIT": f"{max(1, limits.mem_mb * 9 // 10)}MiB",
    }


def _published_port(container: Container) -> int:
    container.reload()
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(CONTAINER_PORT)
    if not bindings:
        raise DockerBackendError(f"container {container.name}: port {CONTAINER_PORT} not published")
    bad = [b for b in bindings if b.get("HostIp") != "127.0.0.1"]
    if bad:
        raise DockerBackendError(f"container {container.name}: published beyond 127.0.0.1: {bad}")
    return int(bindings[0]["HostPort"])


def _running(container: Container) -> bool:
    try:
        container.reload()
    except docker.errors.APIError as exc:
        if _is_missing(exc):
            return False
        raise
    return container.status in ("created", "running")


def _log_tail(container: Container, lines: int = LOG_TAIL_LINES) -> str:
    """The last log lines, preceded by the exit code when the container has stopped."""
    head = ""
    try:
        container.reload()
        state = container.attrs.get("State") or {}
        if container.status not in ("created", "running"):
            code = state.get("ExitCode")
            head = f"[container {container.name} {container.status}, exit code {code}"
            if code == 137:  # Podman leaves State.OOMKilled false: the code is the clue
                mem = (container.attrs.get("HostConfig") or {}).get("Memory") or 0
                head += f": SIGKILL, most likely the memory limit ({int(mem) // 2**20} MiB)"
            head += "]\n"
    except _ENGINE_ERRORS:
        pass
    try:
        return head + bytes(container.logs(tail=lines)).decode("utf-8", "replace")
    except _ENGINE_ERRORS as exc:
        return f"{head}(container logs unavailable: {exc})"


def _remove(client: docker.DockerClient, name: str, container: Container | None,
            log_path: Path | None) -> bool:
    """Save the logs to ``log_path`` and force-remove the container; True when it is gone."""
    if container is not None and log_path is not None:
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as f:  # the stage's own lines are already there
                f.write(bytes(container.logs()))
        except (*_ENGINE_ERRORS, OSError) as exc:
            log.warning("could not save the logs of %s to %s: %s", name, log_path, exc)
    for attempt in range(3):
        try:
            client.api.remove_container(name, force=True)
            return True
        except _ENGINE_ERRORS as exc:
            if _is_missing(exc):
                return True
            log.warning("removing container %s (attempt %d): %s", name, attempt + 1, exc)
            time.sleep(0.5 * (attempt + 1))
    return False


@contextlib.contextmanager
def docker_server(
    data_dir: Path,
    limits: Limits,
    *,
    image: str | None = None,
    base_url: str | None = None,
    log_path: Path | None = None,
    ready_timeout_s: float = 60,
) -> Iterator[ServerHandle]:
    """Serve ``data_dir`` (holding ``meta/ data/ wal/``) from a container until the block ends.

    ``image`` is an InfluxDB 1.x image (None: the default of ``influx.docker.image``
    in the configuration schema). ``base_url`` is the engine (e.g.
    ``unix:///run/ombt-podman/podman.sock``);
    None means the environment (``DOCKER_HOST``, else the default socket).
    The container's logs are copied to ``log_path`` at the end. Raises
    :class:`DockerBackendError` when the engine, the image or the container
    fails, and :class:`~.ready.ServerNotReady` quoting the
    last log lines when the server dies or does not answer ``/ping`` within
    ``ready_timeout_s``. The container is removed whatever happens.
    """
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"InfluxDB data folder not found: {data_dir}")
    if image is None:
        image = str(config.defaults("influx")["docker"]["image"])
    try:
        client = docker_client(base_url)
        client.ping()
        # /info is slow on Podman (0.2 s): only needed to choose the user when not root
        info: dict[str, Any] = client.info() if os.getuid() != 0 else {}
    except _ENGINE_ERRORS as exc:
        raise DockerBackendError(
            f"no Docker-API engine answers at {_where(base_url)} ({exc}); start Docker, or "
            "Podman's API service (ci/podman-up.sh), and set DOCKER_HOST or influx.docker.base_url"
        ) from exc
    reaper: subprocess.Popen[bytes] | None = None
    container: Container | None = None
    name = f"ombt-postmortem-{os.getpid()}-{uuid.uuid4().hex[:10]}"
    removed = False
    try:
        _sweep(client)
        _ensure_image(client, image)
        ncpu = int(info.get("NCPU") or os.cpu_count() or 1)  # the engine is local
        cpus = max(1, min(limits.threads, ncpu))
        mem = int(limits.mem_mb) * 2**20
        labels = {**_owner_labels(), LABEL_DATA: str(data_dir)}
        reaper = _spawn_reaper(name, base_url)
        t0 = time.monotonic()
        try:
            container = client.containers.create(
                image,
                name=name,
                detach=True,
                environment=_environment(limits),
                labels=labels,
                mem_limit=mem,
                memswap_limit=mem,
                nano_cpus=cpus * 10**9,
                ports={CONTAINER_PORT: ("127.0.0.1", None)},
                volumes={str(data_dir): {"bind": CONTAINER_DATA_DIR, "mode": "rw"}},
                user=_container_user(info),
            )
            container.start()
            port = _published_port(container)
        except DockerBackendError:
            raise
        except _ENGINE_ERRORS as exc:
            tail = _log_tail(container) if container is not None else ""
            raise DockerBackendError(
                f"container {name} from {image!r} failed to start: {exc}"
                + (f"; last log lines:\n{tail}" if tail else "")
            ) from exc
        url = f"http://127.0.0.1:{port}"
        started = container
        ready_s = wait_ready(
            url,
            ready_timeout_s,
            alive=lambda: _running(started),
            last_logs=lambda: _log_tail(started),
        )
        yield ServerHandle(
            url=url,
            host="127.0.0.1",
            port=port,
            backend="docker",
            log_path=log_path,
            info={
                "container_id": str(container.id),
                "container_name": name,
                "image": image,
                "mem_bytes": str(mem),
                "nano_cpus": str(cpus * 10**9),
                "start_to_ready_s": f"{time.monotonic() - t0:.3f}",
                "ping_wait_s": f"{ready_s:.3f}",
            },
        )
    finally:
        try:
            removed = _remove(client, name, container, log_path)
        finally:
            _finish_reaper(reaper, removed)
            client.close()


if __name__ == "__main__":  # pragma: no cover - manual cleanup helper
    logging.basicConfig(level=logging.INFO)
    print("\n".join(sweep_orphans(sys.argv[1] if len(sys.argv) > 1 else None)))
