"""What one run's backup folder holds, found once: the files each per-run rule reads.

The workflow calls :func:`scan_run` while it builds the DAG, so that every job is
given the very files it reads as declared inputs; the library functions that the
jobs call take those paths and never look for files themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import RunDataError
from .layout import DOCKER_LOG_SUFFIX, INFLUX_TAR
from .params import run_folder


def is_controller_output(path: Path | str) -> bool:
    """``<host>_controller-....log`` but not the ``_docker.log`` human text."""
    name = Path(path).name
    if not name.endswith(".log") or name.endswith(DOCKER_LOG_SUFFIX):
        return False
    _host, sep, agent = name.partition("_")
    return bool(sep) and agent.startswith("controller")


def is_agent_log_candidate(path: Path | str) -> bool:
    """A ``*.log`` that is neither a controller output nor a ``_docker.log``.

    Whether it is an agent's log is told by its first line (see
    :mod:`ombt_postmortem.messages`), not by its name.
    """
    name = Path(path).name
    return name.endswith(".log") and not name.endswith(DOCKER_LOG_SUFFIX) \
        and not is_controller_output(name)


@dataclass(frozen=True)
class RunFiles:
    """The files of one run's backup, or why there are none."""

    run_id: str
    #: the run's backup folder; None when backup_dir leads outside the campaign
    folder: Path | None
    #: one-line reason (run and file named) when the folder is unusable, else None
    problem: str | None
    controller_logs: tuple[Path, ...] = ()
    #: every other ``*.log`` (the agents' own logs among them)
    other_logs: tuple[Path, ...] = ()
    influx_tar: Path | None = None


def scan_run(campaign_dir: Path | str, run_id: str) -> RunFiles:
    """One directory scan of the run's folder; a missing or refused folder is a problem."""
    try:
        folder = run_folder(campaign_dir, run_id)
    except RunDataError as exc:
        return RunFiles(run_id, None, exc.one_line())
    controllers: list[Path] = []
    others: list[Path] = []
    tar: Path | None = None
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                if not e.is_file():
                    continue
                if e.name == INFLUX_TAR:
                    tar = Path(e.path)
                elif is_controller_output(e.name):
                    controllers.append(Path(e.path))
                elif is_agent_log_candidate(e.name):
                    others.append(Path(e.path))
    except (FileNotFoundError, NotADirectoryError):
        return RunFiles(run_id, folder, RunDataError(run_id, folder, "run folder missing")
                        .one_line())
    return RunFiles(run_id, folder, None, tuple(sorted(controllers)), tuple(sorted(others)),
                    tar)
