"""Who is running the workflow: a stale Snakemake lock, and one results folder per run.

Snakemake locks its working directory with files (``.snakemake/locks/*.lock``)
that it removes when it ends, even on Ctrl-C or SIGTERM; after SIGKILL (a node
failure, a hard ``scancel``) they stay, and every later run fails with
Snakemake's LockException ("Directory cannot be locked ... another Snakemake
instance is running") until ``snakemake --unlock``. Those files do not say which
process wrote them, so the workflow keeps its own proof of life:

- every real run (not a dry run) holds a *shared* ``flock`` on
  ``.snakemake/ombt-postmortem-owners.lock`` from the time its DAG is built until
  the process ends. The kernel drops it when the process dies, however it dies.
- before taking it, a run tries an *exclusive* lock on that file: if it gets it,
  no running snakemake of this workflow holds the file, so any Snakemake lock file
  present was left by a dead process (:class:`StaleLock`, with the exact
  ``--unlock`` command). The locks are never removed here: the user runs the
  command.

Two clones writing one absolute ``results_dir`` at once (each clone has its own
working directory, so Snakemake's locks do not see each other) would overwrite
each other's files: every real run also holds an *exclusive* ``flock`` per
campaign on ``<results_dir>/.locks/<campaign>.lock``, and a second run is refused
with one line naming the first (:class:`ResultsInUse`).

``flock`` is per open file; an NFS mount without lock support raises an OSError,
then the checks are skipped (nothing is refused that Snakemake would run).
Linux and macOS only (``fcntl``).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from ..errors import OmbtPostmortemError
from ..layout import RESULTS_LOCKS_DIR

#: in the working directory: Snakemake's lock files, and the owners' lock of this workflow
SNAKEMAKE_LOCKS = Path(".snakemake") / "locks"
OWNERS_LOCK = Path(".snakemake") / "ombt-postmortem-owners.lock"

#: the locks this process holds, kept open until it ends
_HELD: list[IO[str]] = []


class StaleLock(OmbtPostmortemError):
    """Snakemake's lock files were left by a run that is no longer alive."""


class ResultsInUse(OmbtPostmortemError):
    """Another running snakemake writes the results of the same campaign."""


def unlock_command(argv: Sequence[str] | None = None) -> str:
    """This snakemake's own command line with ``--unlock``: the command that removes
    the locks of this working directory (``python -m snakemake`` if run so)."""
    argv = list(sys.argv if argv is None else argv)
    prog = argv[0] if argv else "snakemake"
    if Path(prog).name == "__main__.py":  # python -m snakemake
        head = [sys.executable, "-m", "snakemake"]
    else:
        head = [prog]
    return shlex.join([*head, *argv[1:], "--unlock"])


def hold_workdir(workdir: Path | str, command: str) -> None:
    """Refuse a stale Snakemake lock (:class:`StaleLock`), then hold this run's share
    of the owners' lock until the process ends. ``command`` is the --unlock command."""
    workdir = Path(workdir).resolve()
    lock_dir = workdir / SNAKEMAKE_LOCKS
    path = workdir / OWNERS_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live run holds its share: its locks are its own
            fcntl.flock(f, fcntl.LOCK_SH)
            _HELD.append(f)
            return
        left = sorted(p.name for p in lock_dir.glob("*.lock")) if lock_dir.is_dir() else []
        if left:
            raise StaleLock(
                f"{lock_dir} holds the lock of a snakemake that is no longer running "
                f"(killed by SIGKILL, a node failure or a hard scancel: {len(left)} lock "
                f"file(s), and no live run of this workflow here); nothing uses it: run "
                f"once `{command}`, then this command again")
        fcntl.flock(f, fcntl.LOCK_SH)
        _HELD.append(f)
    except OSError:  # no lock support on this file system: leave it to Snakemake
        f.close()
    except BaseException:
        f.close()
        raise


def hold_results(results_dir: Path | str, campaigns: Iterable[str]) -> None:
    """Hold the lock of each campaign's results until the process ends; another live
    run holding one: :class:`ResultsInUse` naming it (its pid, host and folder)."""
    folder = Path(results_dir).resolve() / RESULTS_LOCKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name in campaigns:
        path = folder / f"{name}.lock"
        f = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise ResultsInUse(
                f"the results of campaign {name!r} in {path.parent.parent} are being "
                f"written by another snakemake ({holder}): wait for it to end, or give "
                f"this one another results_dir") from None
        except OSError:  # no lock support on this file system
            f.close()
            continue
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}, working directory "
                f"{os.getcwd()}, since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
        f.flush()
        _HELD.append(f)
