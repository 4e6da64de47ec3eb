"""Stage 2 as files: the run's ombt.parquet + backup tar -> metrics.parquet (+ timeseries)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from .. import arrow_io as aio
from ..errors import RunDataError
from ..layout import INFLUX_NOTES, INFLUX_PROBLEMS
from ..ombt.run import run_window
from .metrics import InfluxConfig, collect_run_metrics, empty_timeseries
from .server import Limits

if TYPE_CHECKING:
    import pandas as pd



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


def run_influx_stage(run_id: str, ombt_summary: Path, tar_path: Path | None,
                     cfg: InfluxConfig, log_path: Path | None, limits: Limits) -> StageResult:
    """Query one run's InfluxDB backup over the run's window; data faults become problems."""
    summary = aio.read_first_row(ombt_summary)
    window = run_window(summary)
    values: dict[str, float] = {c: math.nan for c in cfg.query_set.columns}
    problems: list[str] = []
    notes: list[str] = []
    timeseries = empty_timeseries()
    try:
        if window is None and summary.get("status") == "failed":
            # the run is already reported failed with the ombt stage's reason: not twice
            notes.append("skipped: the run's ombt statistics failed, no test window")
        elif window is None:
            raise RunDataError(run_id, ombt_summary.name, "no test window: the ombt "
                               "statistics have no start/stop time (see the run's ombt "
                               "problems)")
        else:
            got = collect_run_metrics(run_id, tar_path, window, cfg, log_path, limits)
            values.update(got.values)
            notes = got.notes
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
