"""The one tree of the errors this package raises on purpose.

::

    OmbtPostmortemError
    +-- ConfigError          the configuration is invalid (a key, a query set)
    +-- EnvironmentFault     this machine cannot do the work: no influxd, no engine,
    |                        a server that does not come up ... (not the data's fault)
    +-- CampaignError        the campaign as a whole cannot be read (params.json)
    +-- RunDataError         a data fault in one run's backup
    +-- InfluxQueryError     an InfluxDB server refused a statement (the caller words it)
    +-- StrictModeError      ``strict: true`` and a run has a data fault

A *data fault* (:class:`RunDataError`) is a problem with one run's backup: it is
reported in the run's ``status``/``problems`` columns and never stops the other
runs. Anything else is a bug and must propagate with its traceback. The classes
of each stage (``influx.backends.ready.ServerNotReady``, ``influx.backends.native.InfluxdNotFound``
...) derive from these; catch by type, never by class name.
"""

from __future__ import annotations

from pathlib import Path


class OmbtPostmortemError(Exception):
    """Base class of the errors this package raises on purpose."""


class ConfigError(OmbtPostmortemError, ValueError):
    """The configuration is invalid; the message names the key (a ValueError too)."""


class EnvironmentFault(OmbtPostmortemError):
    """This machine cannot do the work (no influxd, no engine, a server that does not
    come up): not a fault of any run's data, so never reported as one."""


class InfluxQueryError(OmbtPostmortemError):
    """An InfluxDB server answered a statement with an error (its message)."""


class CampaignError(OmbtPostmortemError):
    """The campaign as a whole cannot be read (params.json missing or invalid)."""


class RunDataError(OmbtPostmortemError):
    """A data fault in one run: names the run and the file at fault."""

    def __init__(self, run: str, path: Path | str | None, reason: str) -> None:
        self.run = run
        self.path = str(path) if path is not None else None
        self.reason = reason
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``run <id> (<file name>): <reason>``; an id with control characters is quoted."""
        where = f" ({Path(self.path).name})" if self.path else ""
        run = self.run if self.run.isprintable() else repr(self.run)
        return f"run {run}{where}: {self.reason}"


#: ``extra`` of a log record that is a run's data fault: listed in problems.csv and in the
#: summary the workflow ends with (one short line per run), so written to the job's log
#: file only, not to the console (unless ``OMBT_POSTMORTEM_VERBOSE``)
DATA_FAULT = {"data_fault": True}


class StrictModeError(OmbtPostmortemError):
    """``strict: true`` and a run has a data fault."""


def check_strict(strict: bool, problems: list[str], what: str) -> None:
    """With ``strict: true``, any data fault fails the job."""
    if strict and problems:
        raise StrictModeError(f"strict mode: {what} has data faults: " + "; ".join(problems))
