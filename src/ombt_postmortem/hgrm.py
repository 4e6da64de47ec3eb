"""Exact latency distributions in HdrHistogram's percentile-distribution text format (.hgrm).

The format is what ``AbstractHistogram.outputPercentileDistribution`` of
HdrHistogram (Java, the reference; HdrHistogram_py's
``output_percentile_distribution`` writes the same) prints, and what
HdrHistogram's plotting tools (``plotFiles.html``, HistogramLogAnalyzer, hdr-plot)
read::

           Value     Percentile TotalCount 1/(1-Percentile)

        0.950000 0.000000000000          1           1.00
        ...
       12.000000 1.000000000000       3000
    #[Mean    =     2.345678, StdDeviation   =     1.234567]
    #[Max     =    12.000000, Total count    =         3000]
    #[Buckets =            0, SubBuckets     =            0]

Rows: ``%12.{d}f %2.12f %10d %14.2f``, the last (percentile 1) without its
fourth column. The percentile levels are HdrHistogram's: from 0, each step
``100 / (ticks x 2^(floor(log2(100 / (100 - level))) + 1))`` percent (ticks per
half distance, default 5: 0, 10, ..., 50, 55, ..., 75, 77.5 ...), a row emitted
at the first value whose cumulative count reaches the level, then one last row
at 100 % (Java's ``PercentileIterator``).

Unlike a recorded HdrHistogram, nothing here is bucketed: a row's value is the
exact sample quantile at its level by HdrHistogram's own definition, the
smallest value with at least that share of the sample at or below it (numpy's
``inverted_cdf`` quantile), and TotalCount is the number of values at or below
it. Hence the footer's ``Buckets``/``SubBuckets`` are 0 (no buckets). Values are
written in milliseconds with ``decimals`` (default 6) decimals: the agents log
microsecond stamps, so nothing is lost. Negative one-way times (clock skew
between hosts) are written as they are.
"""

# ruff: noqa: UP031  (the printf formats of HdrHistogram's Java output, kept as they are)
from __future__ import annotations

import math
from pathlib import Path
from typing import IO

import numpy as np

HEADER = "%12s %14s %10s %14s\n\n" % ("Value", "Percentile", "TotalCount", "1/(1-Percentile)")


def percentile_rows(values: np.ndarray, ticks_per_half_distance: int = 5,
                    ) -> list[tuple[float, float, int]]:
    """(value, percentile level in [0, 1], total count at or below value) rows of the
    sample ``values`` (NaN dropped), as HdrHistogram's percentile iteration gives them."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    v = v[~np.isnan(v)]
    n = len(v)
    if not n:
        return []
    uniq, counts = np.unique(v, return_counts=True)
    cum = np.cumsum(counts)
    rows: list[tuple[float, float, int]] = []
    level = 0.0
    last = len(uniq) - 1
    j = 0
    while True:
        # the first distinct value whose cumulative share reaches the level
        while j < last and 100.0 * cum[j] / n < level:
            j += 1
        rows.append((float(uniq[j]), level / 100.0, int(cum[j])))
        if j == last:  # the last recorded value: one step more, to 100 %
            break
        gap = 100.0 - level
        ticks = ticks_per_half_distance * 2 ** (int(math.log(100.0 / gap) / math.log(2)) + 1)
        level += 100.0 / ticks
    rows.append((float(uniq[last]), 1.0, n))
    return rows


def write_hgrm(values: np.ndarray, out: IO[str], decimals: int = 6,
               ticks_per_half_distance: int = 5) -> int:
    """Write the .hgrm text of the sample ``values`` (ms) to ``out``; the rows written."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    rows = percentile_rows(v, ticks_per_half_distance)
    out.write(HEADER)
    row = f"%12.{decimals}f %2.12f %10d %14.2f\n"
    last = f"%12.{decimals}f %2.12f %10d\n"
    for value, p, count in rows:
        out.write(last % (value, p, count) if p >= 1.0 else
                  row % (value, p, count, 1.0 / (1.0 - p)))
    mean = float(v.mean()) if len(v) else 0.0
    std = float(v.std()) if len(v) else 0.0
    vmax = float(v.max()) if len(v) else 0.0
    out.write(f"#[Mean    = %12.{decimals}f, StdDeviation   = %12.{decimals}f]\n" % (mean, std))
    out.write(f"#[Max     = %12.{decimals}f, Total count    = %12d]\n" % (vmax, len(v)))
    out.write("#[Buckets = %12d, SubBuckets     = %12d]\n" % (0, 0))
    return len(rows)


def write_hgrm_file(values: np.ndarray, path: Path | str, **kw: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        write_hgrm(values, f, **kw)
    tmp.replace(path)
    return path
