"""Stage 2 as files: the run's logs + backup tar -> metrics.parquet (+ timeseries).

The run's window is taken from its controller files (the same start/stop times as its
ombt.parquet row: :func:`..ombt.run.run_window`), read here rather than from the logs
job's output so that redoing that job (an agent log edited, a messages setting
changed) redoes no restore. When the controller files give no window (no file, cut
before its results), the window is that of the agents' own logs (the first and last
time any message line holds), the rescue case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from .. import arrow_io as aio
from ..errors import RunDataError
from ..layout import INFLUX_NOTES, INFLUX_PROBLEMS, STATUS_FAILED
from ..ombt.run import analyse_files, run_window
from .backends.server import Limits
from .collect import collect_run_metrics
from .config import InfluxConfig
from .export import empty_timeseries
from .suspicious import zero_notes

if TYPE_CHECKING:
    import pandas as pd



@dataclass(frozen=True)
class RunLogs:
    """The run's log files the InfluxDB stage reads its window from."""

    controller: list[Path]
    agents: list[Path]


def agents_window(run_id: str, candidates: list[Path], threads: int | None = None
                  ) -> tuple[float, float] | None:
    """[first, last] time of any message line of the run's agent logs (among
    ``candidates``, told by their first line), or None when they hold none."""
    if not candidates:
        return None
    import pyarrow.compute as pc  # the rescue case only

    from ..messages.discover import discover
    from ..messages.read import parse_agent_logs

    found = discover(candidates, run_id)
    if not found.logs:
        return None
    table = parse_agent_logs(found.logs, run_id, threads=threads).table
    lows, highs = [], []
    for name in ("start", "stop", "recv"):
        mm = pc.min_max(table[name]).as_py() if table.num_rows else {}
        if mm.get("min") is not None and math.isfinite(mm["min"]):
            lows.append(mm["min"])
        if mm.get("max") is not None and math.isfinite(mm["max"]):
            highs.append(mm["max"])
    if not lows or not highs:
        return None
    return min(lows), max(highs)


@dataclass
class StageResult:
    """Stage 2's result for one run (tables in Arrow: see :mod:`..arrow_io`)."""

    metrics_table: pa.Table  # one row: a column per query + influx_problems + influx_notes
    timeseries_table: pa.Table
    problems: list[str]

    @property
    def metrics(self) -> pd.DataFrame:
        return aio.to_frame(self.metrics_table)

    @property
    def timeseries(self) -> pd.DataFrame:
        return aio.to_frame(self.timeseries_table)


def run_influx_stage(run_id: str, logs: RunLogs, tar_path: Path | None,
                     cfg: InfluxConfig, log_path: Path | None, limits: Limits,
                     threads: int | None = None) -> StageResult:
    """Query one run's InfluxDB backup over the run's window; data faults become problems."""
    summary = analyse_files(run_id, logs.controller).summary
    window = run_window(summary)
    values: dict[str, float] = {c: math.nan for c in cfg.query_set.columns}
    problems: list[str] = []
    notes: list[str] = []
    rescue: list[str] = []
    timeseries = empty_timeseries()
    if window is None:
        window = agents_window(run_id, logs.agents, threads)
        if window is not None:
            rescue.append("window from the agents' own logs: the controller files give "
                          "no start/stop time")
    try:
        if window is None and summary.get("status") == STATUS_FAILED:
            # the run is already reported failed with the ombt stage's reason: not twice
            notes.append("skipped: the run's ombt statistics failed, no test window")
        else:  # no window otherwise: a problem, from the one check (collect.check_window)
            got = collect_run_metrics(run_id, tar_path, window, cfg, log_path, limits)
            values.update(got.values)
            notes = rescue + got.notes + zero_notes(values, summary)
            timeseries = got.timeseries_table
    except RunDataError as exc:
        problems.append(exc.one_line())
        if log_path is not None:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(f"[ombt-postmortem] PROBLEM {exc.one_line()}\n")
    row: dict[str, object] = {"run_id": run_id, **values,
                              INFLUX_PROBLEMS: "; ".join(problems),
                              INFLUX_NOTES: "; ".join(notes)}
    return StageResult(aio.one_row(row), timeseries, problems)


def write_stage(result: StageResult, metrics_path: Path, timeseries_path: Path | None) -> None:
    aio.write(result.metrics_table, metrics_path)
    if timeseries_path is not None:
        aio.write(result.timeseries_table, timeseries_path)
