"""One run's ombt statistics: the three per-run tables of stage 1."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from .. import arrow_io as aio
from .. import error_kinds, netcheck
from ..errors import RunDataError
from ..layout import BACKUP_NOTES, SIDES, STATUS_FAILED, STATUS_OK, STATUS_PARTIAL
from .parse import AgentResult, ParsedRun, parse_controller_files, parse_run_folder
from .stats import SIDE_COLUMNS, bucket_bounds, merge_latency, side_summary

if TYPE_CHECKING:
    import pandas as pd

AGENT_SCHEMA = [
    ("side", aio.STRING), ("agent_id", aio.STRING), ("controller_file", aio.STRING),
    ("msgs_ok", aio.INT), ("msgs_fail", aio.INT), ("start_time", aio.FLOAT),
    ("stop_time", aio.FLOAT), ("latency_count", aio.INT), ("latency_total", aio.FLOAT),
    ("latency_min", aio.FLOAT), ("latency_max", aio.FLOAT),
    ("latency_sum_of_squares", aio.FLOAT), ("errors", aio.INT),
]
HIST_SCHEMA = [
    ("side", aio.STRING), ("decade", aio.INT), ("bucket", aio.INT), ("lower_ms", aio.FLOAT),
    ("upper_ms", aio.FLOAT), ("count", aio.INT),
]


@dataclass
class RunStats:
    """What stage 1 knows of one run (tables in Arrow: see :mod:`..arrow_io`)."""

    run_id: str
    summary: dict[str, object]
    agents_table: pa.Table
    hist_table: pa.Table
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @property
    def agents(self) -> pd.DataFrame:
        """One row per agent (pandas, imported on first use)."""
        return aio.to_frame(self.agents_table)

    @property
    def hist(self) -> pd.DataFrame:
        """The merged latency histogram of each side, long form (pandas)."""
        return aio.to_frame(self.hist_table)


def analyse_run(folder: Path, run_id: str) -> RunStats:
    """Parse all controller files of ``folder`` and compute the run's statistics, with
    its network check (the ``<host>.out`` files, :mod:`ombt_postmortem.netcheck`).

    Data faults do not raise: they end up in ``status`` and ``problems``.
    """
    try:
        parsed = parse_run_folder(folder, run_id)
    except RunDataError as exc:
        return _with_netcheck(failed_run(run_id, exc.one_line()), None)
    try:
        checks = sorted(p for p in folder.iterdir()
                        if netcheck.is_netcheck(p.name) and p.is_file())
    except OSError:
        checks = []
    return _with_netcheck(_stats(run_id, parsed), checks)


def analyse_files(run_id: str, controller_logs: Sequence[Path], folder: Path | None = None,
                  folder_problem: str | None = None,
                  net_checks: Sequence[Path] = ()) -> RunStats:
    """The run's statistics from exactly these controller files (a job's declared
    inputs), with the network check of ``net_checks`` (the run's ``<host>.out``).

    ``folder_problem`` is the reason the run's folder is unusable (see
    :class:`ombt_postmortem.backup.RunFiles`): the run is then failed with it.
    """
    if folder_problem:
        return _with_netcheck(failed_run(run_id, folder_problem), None)
    try:
        parsed = parse_controller_files(list(controller_logs), run_id, folder)
    except RunDataError as exc:
        return _with_netcheck(failed_run(run_id, exc.one_line()), net_checks)
    return _with_netcheck(_stats(run_id, parsed), net_checks)


def _with_netcheck(stats: RunStats, files: Sequence[Path] | None) -> RunStats:
    """``stats`` with the network check's columns and notes (``files`` None: the run's
    folder is unusable, which ``problems`` already says: NaN without a note)."""
    if files is None:
        check = netcheck.NetCheck(dict.fromkeys(netcheck.COLUMNS, math.nan))
    else:
        check = netcheck.summarise(stats.run_id, files)
    stats.summary.update(check.columns)
    stats.summary[BACKUP_NOTES] = "; ".join(check.notes)
    return stats


def _stats(run_id: str, parsed: ParsedRun) -> RunStats:
    problems = list(parsed.problems)
    by_side = {s: [a for a in parsed.agents if a.side == s] for s in SIDES}
    summary: dict[str, object] = {
        "run_id": run_id,
        "n_clients": len(by_side["client"]),
        "n_servers": len(by_side["server"]),
        "controller_files": ";".join(p.name for p in parsed.files),
    }
    for side in SIDES:
        cols = side_summary(side, by_side[side])
        summary.update(cols)
        problems.extend(_side_problems(run_id, side, cols, by_side[side]))
    if not parsed.agents:
        status = STATUS_FAILED
    else:
        status = STATUS_PARTIAL if problems else STATUS_OK
    summary["status"] = status
    summary["problems"] = "; ".join(problems)
    return RunStats(run_id, summary, agents_table(parsed.agents), hist_table(parsed.agents),
                    problems)


def failed_run(run_id: str, reason: str) -> RunStats:
    summary: dict[str, object] = {"run_id": run_id, "n_clients": 0, "n_servers": 0,
                                  "controller_files": ""}
    for side in SIDES:
        summary.update(side_summary(side, []))
    summary["status"] = STATUS_FAILED
    summary["problems"] = reason
    return RunStats(run_id, summary, agents_table([]), hist_table([]), [reason])


def _side_problems(run_id: str, side: str, cols: dict[str, object],
                   agents: list[AgentResult]) -> list[str]:
    out: list[str] = []
    if not agents:
        return out
    files = ",".join(sorted({a.controller_file for a in agents}))
    d = cols[f"{side}_duration_s"]
    if isinstance(d, float) and not math.isnan(d) and d <= 0:
        out.append(RunDataError(run_id, files, f"{side} test interval is {d:g} s (<= 0): "
                                "rate is NaN").one_line())
    fail = cols[f"{side}_msgs_fail"]
    if isinstance(fail, int) and fail > 0:
        errors = json.loads(str(cols[f"{side}_errors_detail"]))
        kinds = error_kinds.summary(errors, column=f"{side}_error_kinds")
        out.append(RunDataError(run_id, files, f"{fail} {side} message(s) failed; "
                                f"errors: {kinds}").one_line())
    for a in agents:
        # an idle agent (a client that sent nothing, a server that got nothing) is kept
        # in the counts and per-agent columns, but cannot contribute a latency min/max
        if a.latency.count == 0:
            out.append(RunDataError(run_id, a.controller_file, f"{side} {a.agent_id} has no "
                                    "latency samples (count 0, min/max null): left out of "
                                    "the latency min/max").one_line())
    return out


def agents_table(agents: list[AgentResult]) -> pa.Table:
    rows = [
        {
            "side": a.side, "agent_id": a.agent_id, "controller_file": a.controller_file,
            "msgs_ok": a.msgs_ok, "msgs_fail": a.msgs_fail,
            "start_time": a.start_time, "stop_time": a.stop_time,
            "latency_count": a.latency.count, "latency_total": a.latency.total,
            "latency_min": a.latency.min, "latency_max": a.latency.max,
            "latency_sum_of_squares": a.latency.sum_of_squares,
            "errors": sum(a.errors.values()),
        }
        for a in agents
    ]
    return aio.from_rows(rows, AGENT_SCHEMA)


def hist_table(agents: list[AgentResult]) -> pa.Table:
    """The merged histogram of each side, long form, every bucket of every decade seen."""
    rows = []
    for side in SIDES:
        merged = merge_latency(a.latency for a in agents if a.side == side)
        for decade, row in merged.distribution.items():
            for bucket, count in enumerate(row):
                lower, upper = bucket_bounds(decade, bucket)
                rows.append({"side": side, "decade": decade, "bucket": bucket,
                             "lower_ms": lower, "upper_ms": upper, "count": count})
    return aio.from_rows(rows, HIST_SCHEMA)


def write_run_stats(stats: RunStats, summary_path: Path, agents_path: Path,
                    hist_path: Path) -> None:
    aio.write(aio.one_row(stats.summary), summary_path)
    aio.write(stats.agents_table, agents_path)
    aio.write(stats.hist_table, hist_path)


def run_window(summary: Mapping[str, object], margin_s: float = 0.0
               ) -> tuple[float, float] | None:
    """[min(client, server start) - margin, max(client, server stop) + margin], or None.

    ``summary`` is the run's ombt.parquet row or its campaign-table row; None, NaN
    and non-numbers count as unknown.
    """
    starts = [float(x) for s in SIDES if _finite(x := summary.get(f"{s}_start_time"))]
    stops = [float(x) for s in SIDES if _finite(x := summary.get(f"{s}_stop_time"))]
    if not starts or not stops:
        return None
    lo, hi = min(starts) - margin_s, max(stops) + margin_s
    return (lo, hi) if hi >= lo else None


def _finite(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


__all__ = ["SIDE_COLUMNS", "RunStats", "analyse_run", "run_window", "write_run_stats"]
