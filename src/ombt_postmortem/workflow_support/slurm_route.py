"""The cluster route's own checks and its stop on SIGTERM (snakemake-executor-plugin-slurm).

Run once, before anything is submitted (the workflow's ``onstart:``, workflow/rules/cluster.smk):

- :func:`choose_status_command`: can the plugin follow its jobs here? Its default status
  command, ``sacct``, needs job accounting (slurmdbd); where sacct does not answer the
  plugin never sees a job finish and the run waits forever. Then ``squeue`` is used when
  the cluster keeps finished jobs long enough (MinJobAge >= 3 x the first status delay,
  the plugin's own rule), else the run stops with one line naming the option to add.
- :class:`SigtermStop`: SIGTERM (and Ctrl-C) ends the run within seconds, its SLURM jobs
  cancelled (see its docstring for why Snakemake alone does not).

No Snakemake import here: the workflow passes what it knows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]

# the plugin accepts squeue only when finished jobs stay visible this many times
# its first status delay (snakemake_executor_plugin_slurm.validation)
SQUEUE_MIN_JOB_AGE_FACTOR = 3
# the plugin's default first status delay, --slurm-init-seconds-before-status-checks
DEFAULT_INIT_DELAY_S = 40


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)


def _call(run: Runner, cmd: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return run(cmd)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _seconds(value: str) -> int | None:
    """'600 sec', '1h', '300' -> seconds (as `scontrol show config` writes MinJobAge)."""
    m = re.match(r"\s*(\d+)\s*([A-Za-z]*)", value or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    return n * 3600 if unit in ("h", "hour", "hours") else n


def min_job_age(run: Runner = _run) -> int | None:
    """MinJobAge of the cluster in seconds (`scontrol show config`), None if unknown."""
    proc = _call(run, ["scontrol", "show", "config"])
    if proc is None or proc.returncode != 0:
        return None
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "MinJobAge":
            return _seconds(value)
    return None


def sacct_error(run: Runner = _run) -> str | None:
    """None if sacct answers for this user's jobs (an empty answer is an answer), else
    why not, in sacct's own words (e.g. "Slurm accounting storage is disabled")."""
    proc = _call(run, ["sacct", "-X", "--noheader", "--parsable2", "--starttime", "now-1hours",
                       "--endtime", "now", "--format=JobIdRaw,State", "--name",
                       "ombt-postmortem-probe"])
    if proc is None:
        return "sacct did not run"
    if proc.returncode != 0:
        said = " ".join((proc.stderr or proc.stdout).split())
        return said or f"sacct exited {proc.returncode}"
    return None


@dataclass(frozen=True)
class StatusChoice:
    """The status command to use, and the one line to show (a note, or why to stop)."""

    command: str | None
    note: str | None = None
    error: str | None = None


def choose_status_command(requested: str | None, init_delay_s: int | None,
                          sacct_available: bool, run: Runner = _run) -> StatusChoice:
    """The status command the plugin can follow its jobs with on this cluster.

    ``requested``: the plugin's setting (--slurm-status-command; its default is sacct when
    the sacct binary exists). ``sacct_available``: that binary exists. The plugin itself
    switches squeue back to sacct when MinJobAge is too short (and the binary exists):
    the same rule is applied here, so that the command checked is the one it will use.
    """
    delay = init_delay_s or DEFAULT_INIT_DELAY_S
    need_age = SQUEUE_MIN_JOB_AGE_FACTOR * delay
    age = min_job_age(run)
    command = requested or ("sacct" if sacct_available else "squeue")
    if command == "squeue" and sacct_available and (age is None or age < need_age):
        command = "sacct"  # what the plugin does (snakemake_executor_plugin_slurm.__init__)
    if command != "sacct":
        return StatusChoice(command)
    why = sacct_error(run)
    if why is None:
        return StatusChoice("sacct")
    age_text = "unknown" if age is None else f"{age} s"
    if age is not None and age >= need_age:
        return StatusChoice("squeue", note=(
            f"sacct does not answer here ({why}): the SLURM jobs are followed with squeue "
            f"instead (MinJobAge {age_text} >= {SQUEUE_MIN_JOB_AGE_FACTOR} x the first status "
            f"delay, {delay} s)"))
    if age is not None and age >= SQUEUE_MIN_JOB_AGE_FACTOR:
        fit = age // SQUEUE_MIN_JOB_AGE_FACTOR
        return StatusChoice(None, error=(
            f"sacct does not answer here ({why}), so the SLURM jobs could never be seen "
            f"finishing; add --slurm-status-command squeue "
            f"--slurm-init-seconds-before-status-checks {fit} (MinJobAge is {age_text}, "
            f"squeue needs it >= {SQUEUE_MIN_JOB_AGE_FACTOR} x that delay)"))
    return StatusChoice(None, error=(
        f"sacct does not answer here ({why}) and MinJobAge ({age_text}) is too short for "
        f"squeue to see finished jobs: the SLURM jobs could never be seen finishing; ask "
        f"the cluster's admins for job accounting (slurmdbd) or MinJobAge >= "
        f"{need_age} s, or run locally (snakemake --cores N)"))


_RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def run_id_in_log(paths: str | Path | Sequence[str | Path] | None) -> str | None:
    """The plugin's run ID (the SLURM job name of every job of the run), from the run's
    Snakemake log file(s), where the plugin writes it when it starts."""
    if not paths:
        return None
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[str] = []
    for path in paths:
        try:
            found += _RUN_ID.findall(Path(path).read_text(errors="replace"))
        except OSError:
            continue
    return found[-1] if found else None


def scancel_run(run_id: str, run: Runner = _run) -> str:
    """Cancel every SLURM job of the run (job name = run ID): what was done, in words."""
    proc = _call(run, ["scancel", f"--name={run_id}"])
    if proc is None or proc.returncode != 0:
        said = "" if proc is None else " ".join((proc.stderr or proc.stdout).split())
        return f"scancel --name={run_id} failed{': ' + said if said else ''}"
    return f"SLURM jobs of this run cancelled (scancel --name={run_id})"


class SigtermStop:
    """SIGTERM (and Ctrl-C) stops a cluster run within seconds, jobs cancelled, lock released.

    Why: Snakemake (9.27, JobScheduler.exit_gracefully) answers SIGTERM with "Will exit
    after finishing currently running jobs": on a cluster that is as long as the longest
    SLURM job, and forever when the status command cannot see the jobs finish (sacct
    without accounting). A second SIGTERM does the same. (Not a deadlock: py-spy on the
    hung process shows its main thread idle in JobScheduler.schedule, on the semaphore
    a finished job releases, and the status thread asleep between checks.) SLURM sends
    SIGTERM at the end of a walltime and SIGKILL KillWait (30 s) later: the lock then
    stays behind. Ctrl-C
    (KeyboardInterrupt) does cancel the jobs, but Snakemake then joins the executor's
    status thread, which sleeps up to 180 s between two checks
    (snakemake_executor_plugin_slurm: the delay grows by 10 s per idle check).
    Upstream: snakemake/snakemake-executor-plugin-slurm#127 (a maintainer: Snakemake
    keeps running until the last job ends; cancelling "will take time", status checks
    being spaced on purpose), #33 and #157 (the run never sees its jobs end: the
    status-command side, handled by :func:`choose_status_command`), #243 (open:
    signals on cancellation). None makes SIGTERM cancel the jobs; no option bounds the
    shutdown.

    So, on SIGTERM: (1) cancel the run's SLURM jobs at once (``cancel``); (2) raise
    KeyboardInterrupt in the main thread: Snakemake's own Ctrl-C path (its cancel, its
    clean-up, its lock released by its ``finally``); (3) if the process still runs
    ``grace_s`` later, do what that path had left to do (``finish``: release the lock,
    remove the executor's temp folder) and exit with 128 + SIGTERM.
    """

    def __init__(self, cancel: Callable[[], str], finish: Callable[[], None],
                 say: Callable[[str], None], grace_s: float = 15.0) -> None:
        self._cancel = cancel
        self._finish = finish
        self._say = say
        self.grace_s = grace_s
        self._fired = threading.Event()

    def install(self) -> None:
        """On SIGTERM, and on SIGINT (Ctrl-C: the same path, bounded the same way)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._fired.is_set():
            return  # already stopping: the watchdog bounds it
        self._fired.set()
        name = signal.Signals(signum).name
        self._say(f"{name}: stopping this run (at most {self.grace_s:.0f} s)")
        self._say(self._cancel())
        threading.Thread(target=self._watchdog, args=(signum,), daemon=True,
                         name="ombt-sigterm-watchdog").start()
        raise KeyboardInterrupt

    def _watchdog(self, signum: int) -> None:
        # a daemon thread: when Snakemake exits in time, it dies with the process
        time.sleep(self.grace_s)
        self._say(f"Snakemake still running {self.grace_s:.0f} s after "
                  f"{signal.Signals(signum).name} (its status thread sleeps between checks): "
                  "lock released, exiting now")
        try:
            self._finish()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)
