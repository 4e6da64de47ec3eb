"""Two campaigns compared run by run, with bootstrap confidence intervals.

:func:`compare_campaigns` matches the runs of a baseline and a candidate
campaign (:class:`Side`, e.g. ``Side.open("results/a")``), computes per pair
and metric the ratio candidate / baseline with a confidence interval from a
circular block bootstrap over one-second blocks of the per-message data
(:mod:`.bootstrap`), and a verdict (:func:`verdict`); :func:`write_comparison`
writes ``deltas.parquet``/``.csv``, the unmatched runs and the forest plot.
"""

from .core import (
    IDENTITY,
    METRICS,
    VERDICTS,
    CompareOptions,
    Comparison,
    Matching,
    Side,
    compare_campaigns,
    compare_pair,
    match_runs,
    verdict,
)

__all__ = ["IDENTITY", "METRICS", "VERDICTS", "CompareOptions", "Comparison", "Matching",
           "Side", "compare_campaigns", "compare_pair", "match_runs", "verdict"]
