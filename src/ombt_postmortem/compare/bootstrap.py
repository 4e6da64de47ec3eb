"""Circular block bootstrap of quantiles, rates and counts over one-second blocks.

Messages sent within the same second share the broker's state (queue depth,
GC pauses, a slow consumer), so they are not independent draws: resampling
single messages would give intervals too narrow. Time is cut into blocks of
``block_s`` seconds (default 1), each holding the messages of that stretch of
time; a bootstrap replicate draws ``ceil(T / L)`` runs of ``L`` consecutive
blocks (``L = 1`` by default) with replacement, with wrap-around at the end of
the run, until it holds ``T`` blocks, as many as the run has. This is the
circular block bootstrap of Politis & Romano (1992, "A circular block-resampling
procedure for stationary data", in *Exploring the Limits of Bootstrap*, Wiley,
263-270), the wrap-around variant of Künsch's moving block bootstrap (1989,
"The jackknife and the bootstrap for general stationary observations",
*Annals of Statistics* 17(3), 1217-1241); with ``L = 1`` it draws whole
seconds with replacement.

Speed: a sample is sorted once. A replicate is then a vector of block weights
(how many times each block was drawn); the weight of each message is that of
its block, and the replicate's ``k``-th smallest value is the first message
whose cumulative weight exceeds ``k``. All replicates are computed at once as
``(replicates x messages)`` integer arrays (in chunks bounding the memory), with
numpy's default ``linear`` quantile (the one of ``messages.parquet``), with no
loop over replicates or messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..messages.quantiles import lerp

#: cells of one (replicates x messages) chunk: bounds the memory at ~8 bytes x 2 x this
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Blocked:
    """A sample cut into time blocks: its values sorted ascending, the block of each."""

    values: np.ndarray  # float64, ascending
    block: np.ndarray  # int64, block index of each value, in [0, n_blocks)
    n_blocks: int

    @property
    def n(self) -> int:
        return len(self.values)


def blocked(values: np.ndarray, times: np.ndarray, block_s: float = 1.0,
            origin: float | None = None, n_blocks: int | None = None) -> Blocked:
    """Group ``values`` by the block ``floor((time - origin) / block_s)`` of their time
    (epoch seconds; default origin: the earliest time). Pairs with a NaN value or time
    are dropped. Blocks without messages inside the span count (they are time too);
    ``n_blocks`` (default: up to the last time's block) may add empty blocks at the end."""
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    keep = ~(np.isnan(values) | np.isnan(times))
    v, t = values[keep], times[keep]
    if not len(v):
        return Blocked(np.empty(0), np.empty(0, dtype=np.int64), n_blocks or 0)
    t0 = float(t.min()) if origin is None else origin
    block = np.maximum(np.floor((t - t0) / block_s).astype(np.int64), 0)
    last = int(block.max()) + 1
    total = last if n_blocks is None else max(n_blocks, last)
    order = np.argsort(v, kind="stable")
    return Blocked(v[order], block[order], total)


def block_counts(times: np.ndarray, n_blocks: int, origin: float,
                 block_s: float = 1.0) -> np.ndarray:
    """Events per block (int64, ``n_blocks`` long); times outside [origin, end) dropped."""
    t = np.asarray(times, dtype=np.float64)
    t = t[~np.isnan(t)]
    b = np.floor((t - origin) / block_s).astype(np.int64)
    b = b[(b >= 0) & (b < n_blocks)]
    return np.bincount(b, minlength=n_blocks).astype(np.int64)


def block_weights(rng: np.random.Generator, n_blocks: int, replicates: int,
                  length: int = 1) -> np.ndarray:
    """(replicates x n_blocks) int64: how many times each block is drawn by a circular
    block bootstrap with runs of ``length`` blocks; each row sums to ``n_blocks``."""
    if n_blocks <= 0:
        return np.zeros((replicates, 0), dtype=np.int64)
    length = max(1, min(length, n_blocks))
    k = math.ceil(n_blocks / length)
    starts = rng.integers(0, n_blocks, size=(replicates, k))
    idx = (starts[:, :, None] + np.arange(length)).reshape(replicates, -1)[:, :n_blocks]
    idx %= n_blocks
    flat = idx + (np.arange(replicates) * n_blocks)[:, None]
    return np.bincount(flat.ravel(), minlength=replicates * n_blocks).reshape(
        replicates, n_blocks).astype(np.int64)


def weighted_quantiles(s: Blocked, weights: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """(replicates x len(qs)): the quantiles ``qs`` (numpy's ``linear`` method) of each
    replicate, the sample repeated block by block as ``weights`` (replicates x n_blocks)
    says. NaN for a replicate that drew no message."""
    reps = weights.shape[0]
    out = np.full((reps, len(qs)), np.nan)
    if s.n == 0 or reps == 0:
        return out
    step = max(1, CHUNK_CELLS // s.n)
    for a in range(0, reps, step):
        w = weights[a:a + step].astype(np.int32)[:, s.block]  # per message: its block's
        cum = np.cumsum(w, axis=1, dtype=np.int64)
        total = cum[:, -1]
        rows = len(total)
        # rows laid end to end, each shifted above the previous one: one sorted array,
        # so that one searchsorted finds the k-th smallest of every replicate at once
        shift = (np.arange(rows, dtype=np.int64) * (int(total.max()) + 1))
        flat = (cum + shift[:, None]).ravel()
        base = np.arange(rows, dtype=np.int64) * s.n
        has = total > 0
        for j, q in enumerate(qs):
            virtual = (total - 1) * q
            prev = np.floor(virtual)
            nxt = np.minimum(prev + 1, total - 1)
            # the k-th smallest (0-based) of a replicate: the first message with cum > k
            i_prev = np.searchsorted(flat, prev.astype(np.int64) + shift, side="right") - base
            i_next = np.searchsorted(flat, nxt.astype(np.int64) + shift, side="right") - base
            i_prev = np.clip(i_prev, 0, s.n - 1)
            i_next = np.clip(i_next, 0, s.n - 1)
            vals = lerp(s.values[i_prev], s.values[i_next], virtual - prev)
            out[a:a + step, j] = np.where(has, vals, np.nan)
    return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The bootstrap percentile interval of ``replicates`` (NaN and inf dropped)."""
    r = replicates[np.isfinite(replicates)]
    if len(r) < 2:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(r, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
