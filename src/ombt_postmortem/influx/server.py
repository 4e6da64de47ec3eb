"""What every InfluxDB server backend (native ``influxd``, docker) shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Resources one server may use: from the job's ``threads`` and ``resources.mem_mb``."""

    threads: int = 1
    mem_mb: int = 1024

    @classmethod
    def for_job(cls, threads: int, job_mem_mb: int, overhead_mb: int) -> Limits:
        """The server's share of a job: its threads, and its mem_mb less the room the
        job's own process needs (never below 64 MB)."""
        return cls(threads=max(1, threads), mem_mb=max(64, job_mem_mb - overhead_mb))


@dataclass
class ServerHandle:
    """A running server, as a backend's context manager yields it."""

    url: str  # e.g. http://127.0.0.1:40123, always on 127.0.0.1
    host: str
    port: int
    backend: str  # "native" or "docker"
    log_path: Path | None = None
    info: dict[str, str] = field(default_factory=dict)
