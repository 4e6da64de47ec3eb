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
loop over replicates or messages (``bench/bench_compare.py``).
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


def _ranks_below(s: Blocked, wt: np.ndarray, targets: np.ndarray, center: int,
                 ) -> np.ndarray:
    """For each target row ``k`` (T x replicates) and replicate: the number of messages
    (in value order) whose cumulative weight is <= k, i.e. the index of the first message
    whose cumulative weight exceeds k. ``wt``: (n_blocks x replicates) weights.

    Only a window of ranks around ``center`` is summed (a replicate's quantile lies near
    the sample's own): the cumulative weight before the window is one product of the
    blocks' counts with the weights; inside it, one vector addition per message, all
    replicates at once. A replicate whose answer falls outside the window widens it
    (x4), up to the whole sample: the result is exact whatever the window."""
    n, reps = s.n, wt.shape[1]
    m = max(64, n // 20)
    while True:
        a, b = max(0, center - m), min(n, center + m + 1)
        base = np.bincount(s.block[:a], minlength=wt.shape[0]) @ wt  # cum before a
        out = np.empty(targets.shape, dtype=np.int64)
        ok = True
        step = max(1, CHUNK_CELLS // (b - a))
        for c0 in range(0, reps, step):
            w = np.ascontiguousarray(wt[:, c0:c0 + step])
            cum = np.empty((b - a, w.shape[1]), dtype=np.int64)
            np.add(base[c0:c0 + step], w[s.block[a]], out=cum[0])
            rows = s.block[a + 1:b].tolist()
            for i, blk in enumerate(rows, start=1):
                np.add(cum[i - 1], w[blk], out=cum[i])
            k = targets[:, c0:c0 + step]
            inside = (base[c0:c0 + step] <= k) & (cum[-1] > k)
            if not inside.all():
                ok = False
                break
            out[:, c0:c0 + step] = a + (cum[None, :, :] <= k[:, None, :]).sum(axis=1)
        if ok or (a == 0 and b == n):
            return out
        m *= 4


def weighted_quantiles(s: Blocked, weights: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """(replicates x len(qs)): the quantiles ``qs`` (numpy's ``linear`` method) of each
    replicate, the sample repeated block by block as ``weights`` (replicates x n_blocks)
    says. NaN for a replicate that drew no message."""
    reps = weights.shape[0]
    out = np.full((reps, len(qs)), np.nan)
    if s.n == 0 or reps == 0:
        return out
    wt = np.ascontiguousarray(weights.T, dtype=np.int64)  # (n_blocks x replicates)
    total = np.bincount(s.block, minlength=weights.shape[1]) @ wt  # messages per replicate
    has = total > 0
    for j, q in enumerate(qs):
        virtual = np.where(has, (total - 1) * q, 0.0)
        prev = np.floor(virtual)
        nxt = np.where(has, np.minimum(prev + 1, total - 1), 0.0)
        # the k-th smallest (0-based) of a replicate: the first message whose cumulative
        # weight exceeds k
        targets = np.stack([prev, nxt]).astype(np.int64)
        idx = np.minimum(_ranks_below(s, wt, targets, int(q * (s.n - 1))), s.n - 1)
        vals = lerp(s.values[idx[0]], s.values[idx[1]], virtual - prev)
        out[:, j] = np.where(has, vals, np.nan)
    return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """The bootstrap percentile interval of ``replicates`` (NaN and inf dropped)."""
    r = replicates[np.isfinite(replicates)]
    if len(r) < 2:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(r, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
