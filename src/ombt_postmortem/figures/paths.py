"""Where the figures stage writes, as the workflow's `rule all` asks for it."""

from __future__ import annotations

from collections.abc import Sequence

from .common import FigureOptions

#: the folder of the campaign comparison, under the results folder
COMPARISON = "comparison"


def figure_paths(results: str, name: str, *, campaigns: Sequence[str], opts: FigureOptions,
                 timeseries: bool) -> list[str]:
    """The figure folders (and table page) of campaign ``name``.

    The comparison folder goes with the first campaign when there are several.
    """
    base = f"{results}/{name}/figures"
    out = [
        f"{base}/campaign_table.html",
        f"{base}/load_curves",
        f"{base}/resources",
        f"{base}/latency_overlay",
    ]
    if opts.per_run:
        out.append(f"{base}/latency_hist")
    if opts.per_run and timeseries:
        out.append(f"{base}/timeseries")
    if len(campaigns) > 1 and name == campaigns[0]:
        out.append(f"{results}/{COMPARISON}/load_curves")
    return out
