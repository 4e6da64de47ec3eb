"""What one run's backup folder holds, found once: the files each per-run rule reads.

The workflow calls :meth:`CampaignScan.scan` (or :func:`scan_run`) while it builds
the DAG, so that every job is given the very files it reads as declared inputs; the
library functions that the jobs call take those paths and never look for files
themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import RunDataError
from .layout import DOCKER_LOG_SUFFIX, INFLUX_TAR, STATUS_NOT_ANALYSED
from .netcheck import is_netcheck
from .params import run_folder


def is_controller_output(path: Path | str) -> bool:
    """``<host>_controller-....log`` but not the ``_docker.log`` human text."""
    name = os.path.basename(path)
    if not name.endswith(".log") or name.endswith(DOCKER_LOG_SUFFIX):
        return False
    _host, sep, agent = name.partition("_")
    return bool(sep) and agent.startswith("controller")


def is_agent_log_candidate(path: Path | str) -> bool:
    """A ``*.log`` that is neither a controller output nor a ``_docker.log``.

    Whether it is an agent's log is told by its first line (see
    :mod:`ombt_postmortem.messages`), not by its name.
    """
    name = os.path.basename(path)
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
    #: the network check: enoslib's ``<host>.out`` fping files (:mod:`.netcheck`)
    net_checks: tuple[Path, ...] = ()


def scan_run(campaign_dir: Path | str, run_id: str) -> RunFiles:
    """One directory scan of the run's folder; a missing or refused folder is a problem."""
    try:
        folder = run_folder(campaign_dir, run_id)
    except RunDataError as exc:
        return RunFiles(run_id, None, exc.one_line())
    return _scan_folder(run_id, folder)


def _scan_folder(run_id: str, folder: Path) -> RunFiles:
    """The files of ``folder``, the run's folder already checked to be inside its campaign."""
    controllers: list[Path] = []
    others: list[Path] = []
    checks: list[Path] = []
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
                elif is_netcheck(e.name):
                    checks.append(Path(e.path))
                # anything else is never read: the brokers' log tarballs
                # (<host>_oo-<id>-logs.tar.gz), the controllers' _docker.log ...
    except (FileNotFoundError, NotADirectoryError):
        return RunFiles(run_id, folder, RunDataError(run_id, folder, "run folder missing")
                        .one_line())
    return RunFiles(run_id, folder, None, tuple(sorted(controllers)), tuple(sorted(others)),
                    tar, tuple(sorted(checks)))


class CampaignScan:
    """:func:`scan_run` for the many runs of one campaign, paying per run only its own scan.

    :func:`scan_run` resolves the campaign folder and the run's folder (``realpath``:
    one ``lstat`` per path component, twice) to refuse a ``backup_dir`` leading
    outside the campaign. Here the campaign folder is resolved once and listed once
    (one ``os.scandir``); a run whose ``backup_dir`` is the name of a real folder of
    that listing (not a symbolic link: a listed name holds no ``/``, is never ``..``
    and cannot lead outside) is scanned directly. Any other ``backup_dir`` (a path,
    a link, a missing folder) goes through :func:`scan_run`: the same checks, the
    same problems. Same results as :func:`scan_run`, run by run (tests/unit/test_backup_scan.py).
    """

    def __init__(self, campaign_dir: Path | str) -> None:
        self.campaign_dir = Path(campaign_dir)
        self._base: Path | None = None
        self._folders: frozenset[str] | None = None

    def _listing(self) -> tuple[Path, frozenset[str]]:
        if self._base is None or self._folders is None:
            base = self.campaign_dir.resolve()
            try:
                with os.scandir(base) as entries:
                    folders = frozenset(e.name for e in entries
                                        if e.is_dir(follow_symlinks=False))
            except OSError:  # no campaign folder: every run goes through scan_run
                folders = frozenset()
            self._base, self._folders = base, folders
        return self._base, self._folders

    def scan(self, run_id: str) -> RunFiles:
        """The run's files, as :func:`scan_run` finds them."""
        base, folders = self._listing()
        if run_id in folders:
            return _scan_folder(run_id, base / run_id)
        return scan_run(self.campaign_dir, run_id)


@dataclass(frozen=True)
class UnlistedFolder:
    """A folder of the campaign that looks like a run's backup but that no params.json
    entry names."""

    name: str  # its name in the campaign folder
    holds: str  # what makes it look like a run folder, e.g. "a controller log"

    def reason(self) -> str:
        return (f"folder {self.name!r} holds {self.holds} but params.json names no run "
                f"in it: {STATUS_NOT_ANALYSED} (ombt-orchestrator lists only the runs that "
                "succeeded: a failed run?)")


def _looks_like_a_run(folder: str) -> str | None:
    """What in ``folder`` is a run backup's (a controller log, influxdb-data.tar.gz,
    an enoslib network check <host>.out, which ombt-orchestrator writes before the
    test: a run that failed may hold only that), or None."""
    found: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                if not e.is_file():
                    continue
                if is_controller_output(e.name):
                    found.append("a controller log")
                elif e.name == INFLUX_TAR:
                    found.append(INFLUX_TAR)
                elif is_netcheck(e.name):
                    found.append("a network check (<host>.out)")
    except OSError:
        return None
    kinds = list(dict.fromkeys(sorted(found)))
    return ", ".join(kinds) if kinds else None


def unlisted_run_folders(campaign_dir: Path | str, run_ids: list[str]) -> list[UnlistedFolder]:
    """The folders directly in ``campaign_dir`` (not links) that look like a run's
    backup (:func:`_looks_like_a_run`) and are the folder of no run of ``run_ids``
    (params.json's ``backup_dir``, compared resolved). ombt-orchestrator appends a
    run to params.json only once it succeeded (``dump_parameters``, after the backup,
    in msimonin/ombt-orchestrator ``orchestrator/campaign.py``): such a folder is
    usually a failed run's."""
    try:
        real = Path(campaign_dir).resolve()
        with os.scandir(real) as entries:
            dirs = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    names = set(dirs)
    listed: set[str] = set()
    for r in run_ids:
        if r in names:  # the name of a real folder (not a link) of the campaign: itself
            listed.add(os.path.join(real, r))
            continue
        try:
            listed.add(os.path.realpath(real / r))
        except (OSError, ValueError):  # a NUL byte, a loop: no folder of the campaign
            continue
    out = []
    for name in dirs:
        path = os.path.join(real, name)
        if path in listed:
            continue
        holds = _looks_like_a_run(path)
        if holds:
            out.append(UnlistedFolder(name, holds))
    return out
