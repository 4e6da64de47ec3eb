"""Exact merge of agents' results and the statistics derived from it.

Every function here is pure: same agents in any order, same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..error_kinds import kinds_json
from .parse import AgentResult, Latency

NAN = float("nan")
QUANTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


@dataclass
class Merged:
    """The merged TestResults of one side of a run (None/NaN where unknown)."""

    n_agents: int = 0
    start_time: float | None = None
    stop_time: float | None = None
    msgs_ok: int = 0
    msgs_fail: int = 0
    latency: Latency = field(default_factory=Latency)
    errors: dict[str, int] = field(default_factory=dict)


def merge_latency(stats: Iterable[Latency]) -> Latency:
    """Sum counts, totals, squares and buckets; min/max over those that have one.

    Float sums are exact (``math.fsum``, correctly rounded): the agents' order
    cannot change a single bit of the result.
    """
    out = Latency()
    mins: list[float] = []
    maxs: list[float] = []
    totals: list[float] = []
    squares: list[float] = []
    for s in stats:
        totals.append(s.total)
        out.count += s.count
        squares.append(s.sum_of_squares)
        if s.min is not None:  # 0.0 is a value, not "missing"
            mins.append(s.min)
        if s.max is not None:
            maxs.append(s.max)
        for decade, row in s.distribution.items():
            acc = out.distribution.setdefault(int(decade), [0] * 10)
            for i, c in enumerate(row):
                acc[i] += c
    out.total = math.fsum(totals)
    out.sum_of_squares = math.fsum(squares)
    out.min = min(mins) if mins else None
    out.max = max(maxs) if maxs else None
    out.distribution = dict(sorted(out.distribution.items()))
    return out


def merge_agents(agents: Sequence[AgentResult]) -> Merged:
    """Merge one side's agents: start = min, stop = max, sums elsewhere."""
    starts = [a.start_time for a in agents if a.start_time is not None]
    stops = [a.stop_time for a in agents if a.stop_time is not None]
    errors: dict[str, int] = {}
    for a in agents:
        for msg, n in a.errors.items():
            errors[msg] = errors.get(msg, 0) + n
    return Merged(
        n_agents=len(agents),
        start_time=min(starts) if starts else None,
        stop_time=max(stops) if stops else None,
        msgs_ok=sum(a.msgs_ok for a in agents),
        msgs_fail=sum(a.msgs_fail for a in agents),
        latency=merge_latency(a.latency for a in agents),
        errors=dict(sorted(errors.items())),
    )


def bucket_bounds(decade: int, bucket: int) -> tuple[float, float]:
    """Bucket i of decade d spans [i*10^d, (i+1)*10^d) ms; decade 0 bucket 0 is [0, 1)."""
    base = 10.0**decade
    return bucket * base, (bucket + 1) * base


def histogram_quantile(
    distribution: dict[int, list[int]], q: float, vmin: float | None, vmax: float | None
) -> float:
    """Quantile ``q`` by linear interpolation inside the decade buckets, clamped to [min, max].

    target = q * count; walk the buckets in increasing order; in the first
    bucket where the cumulative count reaches target (c0 before it, c in it),
    value = lower + (upper - lower) * (target - c0) / c.
    """
    total = sum(sum(row) for row in distribution.values())
    if total <= 0:
        return NAN
    target = q * total
    cum = 0
    value = NAN
    for decade in sorted(distribution):
        for bucket, c in enumerate(distribution[decade]):
            if c <= 0:
                continue
            if cum + c >= target:
                lower, upper = bucket_bounds(decade, bucket)
                value = lower + (upper - lower) * (target - cum) / c
                break
            cum += c
        if not math.isnan(value):
            break
    if vmin is not None:
        value = max(value, vmin)
    if vmax is not None:
        value = min(value, vmax)
    return value


def duration(m: Merged) -> float:
    if m.start_time is None or m.stop_time is None:
        return NAN
    return m.stop_time - m.start_time


def rate(m: Merged) -> float:
    """(ok + fail) / duration in msgs/s; NaN when the interval is not > 0."""
    d = duration(m)
    if not d > 0:  # also NaN
        return NAN
    return (m.msgs_ok + m.msgs_fail) / d


def latency_mean(lat: Latency) -> float:
    return lat.total / lat.count if lat.count > 0 else NAN


def latency_std(lat: Latency) -> float:
    """Population std; rounding can make the variance slightly negative: clamp at 0."""
    if lat.count <= 0:
        return NAN
    mean = lat.total / lat.count
    return math.sqrt(max(0.0, lat.sum_of_squares / lat.count - mean * mean))


def _opt(x: float | None) -> float:
    return NAN if x is None else float(x)


def side_summary(side: str, agents: Sequence[AgentResult]) -> dict[str, float | int | str]:
    """The campaign table's columns for one side (``client_*`` or ``server_*``)."""
    p = f"{side}_"
    if not agents:
        cols: dict[str, float | int | str] = {p + k: NAN for k in SIDE_COLUMNS}
        cols[p + "errors_detail"] = "{}"
        cols[p + "error_kinds"] = "[]"
        return cols
    m = merge_agents(agents)
    lat = m.latency
    oks = [a.msgs_ok for a in agents]
    fails = [a.msgs_fail for a in agents]
    cols = {
        p + "msgs_ok": m.msgs_ok,
        p + "msgs_fail": m.msgs_fail,
        p + "start_time": _opt(m.start_time),
        p + "stop_time": _opt(m.stop_time),
        p + "duration_s": duration(m),
        p + "rate": rate(m),
        p + "latency_count": lat.count,
        p + "latency_total_ms": lat.total,
        p + "latency_sum_of_squares": lat.sum_of_squares,
        p + "latency_mean_ms": latency_mean(lat),
        p + "latency_std_ms": latency_std(lat),
        p + "latency_min_ms": _opt(lat.min),
        p + "latency_max_ms": _opt(lat.max),
    }
    for name, q in QUANTILES.items():
        cols[f"{p}latency_{name}_est_ms"] = histogram_quantile(lat.distribution, q, lat.min,
                                                               lat.max)
    cols[p + "errors"] = sum(m.errors.values())
    cols[p + "ok_per_agent_min"] = min(oks)
    cols[p + "ok_per_agent_mean"] = sum(oks) / len(oks)
    cols[p + "ok_per_agent_max"] = max(oks)
    cols[p + "fail_per_agent_min"] = min(fails)
    cols[p + "fail_per_agent_mean"] = sum(fails) / len(fails)
    cols[p + "fail_per_agent_max"] = max(fails)
    cols[p + "errors_detail"] = json.dumps(m.errors, sort_keys=True)
    cols[p + "error_kinds"] = kinds_json(m.errors)
    return cols


SIDE_COLUMNS = (
    "msgs_ok", "msgs_fail", "start_time", "stop_time", "duration_s", "rate",
    "latency_count", "latency_total_ms", "latency_sum_of_squares",
    "latency_mean_ms", "latency_std_ms", "latency_min_ms", "latency_max_ms",
    "latency_p50_est_ms", "latency_p90_est_ms", "latency_p99_est_ms", "errors",
    "ok_per_agent_min", "ok_per_agent_mean", "ok_per_agent_max",
    "fail_per_agent_min", "fail_per_agent_mean", "fail_per_agent_max",
)
