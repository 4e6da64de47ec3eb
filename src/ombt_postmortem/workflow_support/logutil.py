"""Logging for workflow jobs: one log file per job, plus stderr."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

#: set (to anything) to see every job's INFO lines on the console too
VERBOSE_ENV = "OMBT_POSTMORTEM_VERBOSE"


def job_logger(name: str, log_path: str | Path | None) -> logging.Logger:
    """A logger writing to the job's log file (if any) and to stderr: everything to the
    file, only warnings and errors to stderr (the console stays quiet: issue 22) unless
    ``OMBT_POSTMORTEM_VERBOSE`` is set (or there is no log file)."""
    logger = logging.getLogger(f"ombt_postmortem.job.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        fh.setFormatter(fmt)
        logger.addHandler(fh)
    sh = logging.StreamHandler(sys.stderr)
    sh.setFormatter(fmt)
    if log_path and not os.environ.get(VERBOSE_ENV):
        sh.setLevel(logging.WARNING)
    logger.addHandler(sh)
    return logger


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that ``finally`` blocks (server stop, temp
    folder removal) run when Snakemake or a cluster scheduler terminates the job."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
