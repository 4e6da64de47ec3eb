"""Readiness of an InfluxDB server: poll ``/ping`` instead of sleeping."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from ombt_postmortem.errors import EnvironmentFault


class ServerNotReady(EnvironmentFault):
    """The server died or did not answer /ping in time; the message quotes its log.

    An environment fault by itself; the influx stage reports it as the run's data
    fault when the server fails on the run's restored data (see ``metrics``).
    """


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ping(url: str, timeout: float = 1.0) -> bool:
    """True when ``GET url/ping`` answers 204 (InfluxDB 1.x is up)."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as resp:
            return resp.status == 204
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_ready(
    url: str,
    timeout_s: float,
    *,
    alive: Callable[[], bool],
    last_logs: Callable[[], str],
    interval_s: float = 0.05,
) -> float:
    """Poll ``url/ping`` until it answers; return the seconds waited.

    ``alive`` says whether the server process/container still runs (a dead
    server fails at once instead of waiting for the timeout); ``last_logs``
    gives its last log lines for the error message.
    """
    t0 = time.monotonic()
    delay = interval_s
    while True:
        if ping(url):
            return time.monotonic() - t0
        if not alive():
            raise ServerNotReady(f"InfluxDB exited before answering {url}/ping; last log lines:\n"
                                 f"{last_logs()}")
        if time.monotonic() - t0 > timeout_s:
            raise ServerNotReady(f"InfluxDB did not answer {url}/ping within {timeout_s:g} s; "
                                 f"last log lines:\n{last_logs()}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
