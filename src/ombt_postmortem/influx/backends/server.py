"""What every InfluxDB server backend (native ``influxd``, docker) shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ombt_postmortem import config

_DEFAULTS = config.defaults("influx")
#: the smallest memory of a server (MB): the schema's minimum of ``influx.mem_mb``
MIN_MEM_MB = int(config.schema("influx")["properties"]["mem_mb"]["minimum"])


@dataclass(frozen=True)
class Limits:
    """Resources one server may use: from the job's ``threads`` and ``resources.mem_mb``.

    The defaults are those of ``influx.threads`` and ``influx.mem_mb`` in the schema.
    """

    threads: int = _DEFAULTS["threads"]
    mem_mb: int = _DEFAULTS["mem_mb"]

    @classmethod
    def for_job(cls, threads: int, job_mem_mb: int, overhead_mb: int) -> Limits:
        """The server's share of a job: its threads, and its mem_mb less the room the
        job's own process needs (never below MIN_MEM_MB)."""
        return cls(threads=max(1, threads), mem_mb=max(MIN_MEM_MB, job_mem_mb - overhead_mb))


@dataclass
class ServerHandle:
    """A running server, as a backend's context manager yields it."""

    url: str  # e.g. http://127.0.0.1:40123, always on 127.0.0.1
    host: str
    port: int
    backend: str  # "native" or "docker"
    log_path: Path | None = None
    info: dict[str, str] = field(default_factory=dict)
