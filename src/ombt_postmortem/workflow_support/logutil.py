"""Logging for workflow jobs: one log file per job, plus stderr."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

#: set (to anything) to see every job's INFO lines on the console too
VERBOSE_ENV = "OMBT_POSTMORTEM_VERBOSE"



def verbose() -> bool:
    """``OMBT_POSTMORTEM_VERBOSE`` is set: the console shows everything."""
    return bool(os.environ.get(VERBOSE_ENV))


class _NoDataFault(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "data_fault", False)


def job_logger(name: str, log_path: str | Path | None) -> logging.Logger:
    """A logger writing to the job's log file (if any) and to stderr: everything to the
    file, only warnings and errors to stderr (the console stays quiet), and of
    them not the runs' data faults (records logged with ``extra=errors.DATA_FAULT``), unless
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
    if log_path and not verbose():
        sh.setLevel(logging.WARNING)
        sh.addFilter(_NoDataFault())
    logger.addHandler(sh)
    return logger


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that ``finally`` blocks (server stop, temp
    folder removal) run when Snakemake or a cluster scheduler terminates the job."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
