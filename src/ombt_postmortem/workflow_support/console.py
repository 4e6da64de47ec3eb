"""The workflow's console, quiet by default.

Snakemake prints, for every job, a block listing its input, output and log paths (a
run's id is ~150 characters: 8 to 10 lines of 200+ characters per job), then "Select
jobs to execute...", "Execute 1 jobs...", a time stamp and "Finished jobid: ..."
around each progress line: 500 lines for a 12-run campaign. :class:`QuietConsole`,
put on Snakemake's console handler by ``workflow/rules/common.smk``, keeps of these
only the progress ("7 of 30 steps (23%) done", at most one line per percent) and lets
through everything else: warnings, errors (a failed job's block, with its log file),
the job counts, the summary the workflow ends with.

Nothing is lost: Snakemake's own log file (``.snakemake/log/*.snakemake.log``) keeps
every line, and the detail is back on the console with ``-p`` (``--printshellcmds``),
``--verbose`` or ``OMBT_POSTMORTEM_VERBOSE=1`` (:func:`wanted`). No Snakemake import
here: the records are told apart by their ``event`` attribute, whose values are those
of ``snakemake_interface_logger_plugins.common.LogEvent`` (the logger plugins'
interface).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from .logutil import VERBOSE_ENV

#: Snakemake's per-job events that stay off the console (their values in LogEvent)
DROPPED_EVENTS = frozenset({"job_info", "job_started", "job_finished", "group_info"})
#: plain lines of Snakemake's scheduler, one per scheduling round
DROPPED_MESSAGES = frozenset({"Select jobs to execute..."})
PROGRESS = "progress"


def _event(record: logging.LogRecord) -> str | None:
    event = getattr(record, "event", None)
    return None if event is None else str(getattr(event, "value", event))


class QuietConsole(logging.Filter):
    """Drops Snakemake's per-job blocks and scheduling lines; keeps one progress line
    per percent (and the last); lets everything else through."""

    def __init__(self) -> None:
        super().__init__("ombt_postmortem.workflow_support.console")
        self._last_percent = -1

    def filter(self, record: logging.LogRecord) -> bool:
        event = _event(record)
        if event in DROPPED_EVENTS:
            return False
        if event == PROGRESS:
            done, total = getattr(record, "done", 0), getattr(record, "total", 0)
            if not total:
                return True
            percent = int(100 * done / total)
            if percent <= self._last_percent and done != total:
                return False
            self._last_percent = percent
            return True
        return not (event is None and record.levelno <= logging.INFO
                    and record.getMessage() in DROPPED_MESSAGES)


def wanted(printshellcmds: bool, verbose: bool, dryrun: bool,
           environ: Mapping[str, str] | None = None) -> bool:
    """Whether the console is made quiet: not when the user asked for detail (``-p``,
    ``--verbose``, ``OMBT_POSTMORTEM_VERBOSE``) nor for a dry run (``-n`` lists the
    jobs that would run: that list is what it is for)."""
    env = os.environ if environ is None else environ
    return not (printshellcmds or verbose or dryrun or env.get(VERBOSE_ENV))


def install(handlers: Iterable[logging.Handler]) -> int:
    """Put a :class:`QuietConsole` on every console handler (a stream handler that is
    not a file handler) among ``handlers``; returns how many got one."""
    n = 0
    for h in handlers:
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) \
                and not any(isinstance(f, QuietConsole) for f in h.filters):
            h.addFilter(QuietConsole())
            n += 1
    return n
