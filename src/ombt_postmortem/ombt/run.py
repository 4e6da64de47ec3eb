"""One run's ombt statistics: the three per-run tables of stage 1."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import RunDataError
from ..params import run_folder
from .parse import SIDES, AgentResult, parse_run_folder
from .stats import SIDE_COLUMNS, bucket_bounds, merge_latency, side_summary

AGENT_COLUMNS = [
    "side", "agent_id", "controller_file", "msgs_ok", "msgs_fail", "start_time",
    "stop_time", "latency_count", "latency_total", "latency_min", "latency_max",
    "latency_sum_of_squares", "errors",
]
HIST_COLUMNS = ["side", "decade", "bucket", "lower_ms", "upper_ms", "count"]

STATUS_OK, STATUS_PARTIAL, STATUS_FAILED = "ok", "partial", "failed"


@dataclass
class RunStats:
    """What stage 1 knows of one run."""

    run_id: str
    summary: dict[str, object]
    agents: pd.DataFrame
    hist: pd.DataFrame
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.summary["status"])


def analyse_run(folder: Path, run_id: str) -> RunStats:
    """Parse all controller files of ``folder`` and compute the run's statistics.

    Data faults do not raise: they end up in ``status`` and ``problems``.
    """
    try:
        parsed = parse_run_folder(folder, run_id)
    except RunDataError as exc:
        return failed_run(run_id, exc.one_line())
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
    return RunStats(run_id, summary, agents_frame(parsed.agents), hist_frame(parsed.agents),
                    problems)


def analyse_backup(campaign_dir: Path, run_id: str) -> RunStats:
    """:func:`analyse_run` on the run's folder; a ``backup_dir`` leading outside the
    campaign folder is refused (status failed, the reason says why)."""
    try:
        folder = run_folder(campaign_dir, run_id)
    except RunDataError as exc:
        return failed_run(run_id, exc.one_line())
    return analyse_run(folder, run_id)


def failed_run(run_id: str, reason: str) -> RunStats:
    summary: dict[str, object] = {"run_id": run_id, "n_clients": 0, "n_servers": 0,
                                  "controller_files": ""}
    for side in SIDES:
        summary.update(side_summary(side, []))
    summary["status"] = STATUS_FAILED
    summary["problems"] = reason
    return RunStats(run_id, summary, agents_frame([]), hist_frame([]), [reason])


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
        detail = cols[f"{side}_errors_detail"]
        out.append(RunDataError(run_id, files, f"{fail} {side} message(s) failed; "
                                f"errors {detail}").one_line())
    for a in agents:
        # an idle agent (a client that sent nothing, a server that got nothing) is kept
        # in the counts and per-agent columns, but cannot contribute a latency min/max
        if a.latency.count == 0:
            out.append(RunDataError(run_id, a.controller_file, f"{side} {a.agent_id} has no "
                                    "latency samples (count 0, min/max null): left out of "
                                    "the latency min/max").one_line())
    return out


def agents_frame(agents: list[AgentResult]) -> pd.DataFrame:
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
    df = pd.DataFrame(rows, columns=AGENT_COLUMNS)
    return df.astype({"side": "string", "agent_id": "string", "controller_file": "string",
                      "msgs_ok": "int64", "msgs_fail": "int64", "start_time": "float64",
                      "stop_time": "float64", "latency_count": "int64",
                      "latency_total": "float64", "latency_min": "float64",
                      "latency_max": "float64", "latency_sum_of_squares": "float64",
                      "errors": "int64"})


def hist_frame(agents: list[AgentResult]) -> pd.DataFrame:
    """The merged histogram of each side, long form, every bucket of every decade seen."""
    rows = []
    for side in SIDES:
        merged = merge_latency(a.latency for a in agents if a.side == side)
        for decade, row in merged.distribution.items():
            for bucket, count in enumerate(row):
                lower, upper = bucket_bounds(decade, bucket)
                rows.append({"side": side, "decade": decade, "bucket": bucket,
                             "lower_ms": lower, "upper_ms": upper, "count": count})
    df = pd.DataFrame(rows, columns=HIST_COLUMNS)
    return df.astype({"side": "string", "decade": "int64", "bucket": "int64",
                      "lower_ms": "float64", "upper_ms": "float64", "count": "int64"})


def summary_frame(stats: RunStats) -> pd.DataFrame:
    return pd.DataFrame([stats.summary])


def write_run_stats(stats: RunStats, summary_path: Path, agents_path: Path,
                    hist_path: Path) -> None:
    for path in (summary_path, agents_path, hist_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    summary_frame(stats).to_parquet(summary_path, index=False)
    stats.agents.to_parquet(agents_path, index=False)
    stats.hist.to_parquet(hist_path, index=False)


def run_window(summary: dict[str, object], margin_s: float = 0.0) -> tuple[float, float] | None:
    """[min(client, server start) - margin, max(client, server stop) + margin], or None."""
    starts = [summary.get(f"{s}_start_time") for s in SIDES]
    stops = [summary.get(f"{s}_stop_time") for s in SIDES]
    starts_f = [float(x) for x in starts if _finite(x)]
    stops_f = [float(x) for x in stops if _finite(x)]
    if not starts_f or not stops_f:
        return None
    lo, hi = min(starts_f) - margin_s, max(stops_f) + margin_s
    return (lo, hi) if hi >= lo else None


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(float(x))


__all__ = ["SIDE_COLUMNS", "RunStats", "analyse_run", "run_window", "write_run_stats"]
