"""Who holds Snakemake's lock of a working directory, and the exact command when it is stale.

Snakemake's lock (``.snakemake/locks/``) names no process: after a SIGKILL (SLURM's, KillWait
after the SIGTERM at the end of a walltime; an OOM kill; a power loss) the next run only
says the directory "cannot be locked". The workflow records the running snakemake
(:func:`record`, in its ``onstart``, once Snakemake holds the lock) and, when it starts
and finds locks left by a recorded process that is gone, says so with the exact command
that removes them (:func:`stale_lock_hint`).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import time
from collections.abc import Sequence
from pathlib import Path

OWNER_FILE = "ombt-lock-owner.json"


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def record(snakemake_dir: str | Path, pid: int | None = None) -> None:
    """Record this process as the holder of the lock of ``snakemake_dir`` (.snakemake)."""
    pid = os.getpid() if pid is None else pid
    path = Path(snakemake_dir) / OWNER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                               "start_ticks": _start_ticks(pid), "since": time.time()}))
    tmp.replace(path)


def unlock_command(argv: Sequence[str], python: str) -> str:
    """This very snakemake command line, with --unlock."""
    args = list(argv[1:])
    head = [python, "-m", "snakemake"] if argv[0].endswith("__main__.py") else [argv[0]]
    return shlex.join([*head, *args, "--unlock"])


def stale_lock_hint(snakemake_dir: str | Path, argv: Sequence[str], python: str) -> str | None:
    """One line if ``snakemake_dir`` holds locks left by a recorded snakemake that is gone
    (on this host), else None (no lock, an owner alive, elsewhere, or not recorded)."""
    folder = Path(snakemake_dir)
    try:
        locks = [p for p in (folder / "locks").iterdir() if p.is_file()]
        owner = json.loads((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not locks or owner.get("host") != socket.gethostname():
        return None
    # the recorded run took these locks (it records itself after locking): a lock
    # newer than the record belongs to a run not recorded yet
    if max(p.stat().st_mtime for p in locks) > float(owner.get("since", 0)):
        return None
    pid = int(owner.get("pid", 0))
    ticks = _start_ticks(pid) if pid > 0 else None
    if ticks is not None and ticks == owner.get("start_ticks"):
        return None  # still running
    return (f"the lock in {folder.resolve() / 'locks'} was left by snakemake pid {pid}, "
            f"which is gone (killed): remove it with `{unlock_command(argv, python)}`, "
            "then run again")
