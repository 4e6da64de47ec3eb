"""Choose and open an InfluxDB server backend: ``native`` (influxd), ``docker``, or ``auto``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ombt_postmortem import config
from ombt_postmortem.errors import EnvironmentFault
from ombt_postmortem.influx.backends.server import Limits, ServerHandle

#: auto, native, docker: the schema's ``influx.backend`` choices
BACKENDS = tuple(config.schema("influx")["properties"]["backend"]["enum"])

HOW_TO_GET_ONE = (
    "install the InfluxDB 1.x server binary (Debian/Ubuntu: `apt-get install influxdb`, "
    "which puts influxd on PATH), or run a Docker engine - or Podman's Docker-compatible "
    "service (`podman system service --time=0 unix:///run/user/$UID/podman.sock`) - and "
    "point DOCKER_HOST (or influx.docker.base_url) at it"
)


class BackendUnavailable(EnvironmentFault):
    """No usable server backend on this machine: an environment problem, not a data fault."""


def choose_backend(backend: str, docker_opts: Mapping[str, Any] | None = None) -> str:
    """Resolve ``auto`` to ``native`` or ``docker``; check the explicit choices are usable."""
    if backend not in BACKENDS:
        raise ValueError(f"influx.backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    base_url = (docker_opts or {}).get("base_url")
    if backend == "native":
        if shutil.which("influxd") is None:
            raise BackendUnavailable(
                "influx.backend is 'native' but influxd is not on PATH: " + HOW_TO_GET_ONE)
        return "native"
    if backend == "docker":
        return "docker"
    if shutil.which("influxd") is not None:
        return "native"
    if _engine_answers(base_url):
        return "docker"
    raise BackendUnavailable(
        "no InfluxDB backend: influxd is not on PATH and no Docker engine answers at "
        f"{base_url or 'DOCKER_HOST / the default socket'}; " + HOW_TO_GET_ONE)


def _engine_answers(base_url: str | None) -> bool:
    try:
        from ombt_postmortem.influx.backends.docker import engine_available
    except ImportError:  # the docker SDK is missing
        return False
    return bool(engine_available(base_url))


@contextmanager
def open_server(
    backend: str,
    data_dir: Path,
    limits: Limits,
    log_path: Path | None,
    ready_timeout_s: float,
    docker_opts: Mapping[str, Any] | None = None,
) -> Iterator[ServerHandle]:
    """A running server on ``data_dir`` from the chosen backend; always stopped on exit.

    ``docker_opts``: ``image`` and ``base_url`` for the docker backend (no image: the
    schema's default ``influx.docker.image``). Raises
    :class:`BackendUnavailable` when no backend can run here, and
    :class:`~ombt_postmortem.influx.backends.ready.ServerNotReady` when the server does
    not come up (its message quotes the server's last log lines).
    """
    chosen = choose_backend(backend, docker_opts)
    if chosen == "native":
        from ombt_postmortem.influx.backends.native import native_server

        # the server's config goes next to the restored data, in the run's private folder
        with native_server(data_dir, limits, log_path=log_path,
                           ready_timeout_s=ready_timeout_s,
                           tmp_root=Path(data_dir).parent) as handle:
            yield handle
        return
    from ombt_postmortem.influx.backends.docker import docker_server

    opts = dict(docker_opts or {})
    with docker_server(Path(data_dir), limits, image=opts.get("image"),
                       base_url=opts.get("base_url"), log_path=log_path,
                       ready_timeout_s=ready_timeout_s) as handle:
        yield handle
