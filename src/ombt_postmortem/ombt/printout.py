"""Print merged results the way the ombt controller prints them."""

from __future__ import annotations

from ..error_kinds import group
from .stats import Merged, duration, latency_mean, latency_std


def format_distribution(distribution: dict[int, list[int]]) -> list[str]:
    """ombt's ``print_distribution``: for decades > 0 bucket 0 is never used."""
    lines = []
    for order in sorted(distribution):
        row = distribution[order]
        for index in range(0 if order == 0 else 1, len(row)):
            lines.append(f"[{10**order * index}..<{10**order * (index + 1)}):  {row[index]}")
    return lines


def format_results(m: Merged, kinds: bool = False) -> list[str]:
    """ombt's ``TestResults.print_results`` for merged results; with ``kinds``, the
    errors grouped by kind (:mod:`ombt_postmortem.error_kinds`), one example each,
    instead of one line per distinct text."""
    lines: list[str] = []
    if m.msgs_fail:
        lines.append(f"Error: {m.msgs_fail} message transfers failed")
    if m.errors and kinds:
        groups = group(m.errors)
        lines.append(f"Error: errors detected ({len(m.errors)} distinct texts, "
                     f"{len(groups)} kind{'s' if len(groups) != 1 else ''}):")
        for g in groups:
            lines.append(f"  '{g.kind}' (occurred {g.count} {_times(g.count)})")
            if g.example != g.kind:
                lines.append(f"      e.g. '{g.example}'")
    elif m.errors:
        lines.append("Error: errors detected:")
        lines.extend(f"  '{err}' (occurred {n} times)" for err, n in m.errors.items())
    total = m.msgs_ok + m.msgs_fail
    lines.append(f"Total Messages: {total}")
    d = duration(m)
    if m.start_time is None or m.stop_time is None:
        lines.append("Test Interval: unknown (no start/stop time)")
    else:
        lines.append(f"Test Interval: {m.start_time:f} - {m.stop_time:f} ({d:f} secs)")
        if d > 0.0:
            lines.append(f"Aggregate throughput: {total / d:f} msgs/sec")
    lat = m.latency
    if lat.count:
        vmin = float("nan") if lat.min is None else lat.min
        vmax = float("nan") if lat.max is None else lat.max
        lines.append(f"Latency {lat.count} samples (msecs): Average {latency_mean(lat):f} "
                     f"StdDev {latency_std(lat):f} Min {vmin:f} Max {vmax:f}")
        lines.append("Latency Distribution: ")
        lines.extend(format_distribution(lat.distribution))
    return lines


def _times(n: int) -> str:
    return "time" if n == 1 else "times"
