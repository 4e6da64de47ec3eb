"""Who owns a temp folder or a container, and whether that process still runs.

A job that is SIGKILLed cannot clean up, so what it leaves (a restore folder, a
container) records its owner: host name, pid and the pid's start time (field 22
of ``/proc/<pid>/stat``, clock ticks since boot), which tells a live owner from
a new process that reuses the pid. The next job on the same host removes what
dead owners left (``restore.sweep_stale``, ``backends.docker.sweep_orphans``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def start_time(pid: int) -> str | None:
    """The start time of ``pid`` (``/proc/<pid>/stat`` field 22); None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def alive(pid: int, start: str | None) -> bool:
    """True while process ``pid`` of this host runs and, when ``start`` is known, is the
    same process (same start time: not a reuse of the pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start:
        now = start_time(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    return True


def me() -> tuple[str, int, str | None]:
    """This process as an owner: (host name, pid, start time or None)."""
    pid = os.getpid()
    return socket.gethostname(), pid, start_time(pid)
