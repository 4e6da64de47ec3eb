"""Exact quantiles with numpy's default ``linear`` method, for one sample or many groups.

:func:`grouped_quantiles` gives, for groups stored contiguously and sorted
ascending within each group, exactly what ``np.quantile(group, q)`` gives for
each group (same virtual index ``(n - 1) * q`` and same two-sided ``_lerp``),
without a Python loop over the groups.
"""

from __future__ import annotations

import numpy as np


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's ``_lerp``: ``a + (b - a) * t``, from ``b`` when ``t >= 0.5``."""
    with np.errstate(invalid="ignore"):  # inf - inf, as in np.quantile
        diff = b - a
        out = a + diff * t
        np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def grouped_quantiles(values: np.ndarray, starts: np.ndarray, counts: np.ndarray,
                      q: float) -> np.ndarray:
    """Quantile ``q`` of each group ``values[starts[g]:starts[g] + counts[g]]``
    (sorted ascending); NaN for an empty group."""
    out = np.full(len(starts), np.nan)
    has = counts > 0
    if not has.any():
        return out
    n = counts[has].astype(np.float64)
    s = starts[has]
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    top = virtual >= n - 1
    prev_i = np.where(top, n - 1, prev).astype(np.int64)
    next_i = np.where(top, n - 1, prev + 1).astype(np.int64)
    gamma = virtual - prev
    out[has] = lerp(values[s + prev_i], values[s + next_i], gamma)
    return out


def quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.quantile(values, qs)`` as floats; NaN for every q when empty."""
    if len(values) == 0:
        return [float("nan")] * len(qs)
    with np.errstate(invalid="ignore"):  # an infinite time: inf - inf
        return [float(v) for v in np.quantile(values, qs)]
