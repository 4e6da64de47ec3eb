"""The block bootstrap's building blocks against direct computations (issue 24)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ombt_postmortem.compare.bootstrap import (
    block_counts,
    block_weights,
    blocked,
    percentile_interval,
    weighted_quantiles,
)
from ombt_postmortem.compare.core import change, verdict


def test_blocked_groups_by_second_and_sorts() -> None:
    values = np.array([5.0, 1.0, np.nan, 3.0, 2.0, 4.0])
    times = np.array([100.2, 100.9, 101.0, 102.5, np.nan, 104.0])
    s = blocked(values, times)
    # NaN value or time dropped; blocks floor(t - 100.2): 0, 0, 2, 3
    assert s.values.tolist() == [1.0, 3.0, 4.0, 5.0]
    assert s.block.tolist() == [0, 2, 3, 0]
    assert s.n_blocks == 4  # block 1 is empty but is time of the run
    assert blocked(values, times, n_blocks=7).n_blocks == 7


@pytest.mark.parametrize("length", [1, 3])
def test_block_weights_draw_whole_runs_of_blocks(length: int) -> None:
    rng = np.random.default_rng(1)
    w = block_weights(rng, 11, 500, length)
    assert w.shape == (500, 11)
    assert (w.sum(axis=1) == 11).all()  # every replicate as long as the run
    assert w.min() >= 0
    # every block is drawn about equally often overall (circular: no edge effect)
    share = w.sum(axis=0) / w.sum()
    assert np.allclose(share, 1 / 11, atol=0.02)


def test_weighted_quantiles_equal_the_materialised_replicates() -> None:
    rng = np.random.default_rng(7)
    n = 900
    values = np.round(rng.lognormal(1.0, 0.8, n), 2)  # ties on purpose
    times = 1000.0 + np.sort(rng.uniform(0, 25, n))
    times[times > 1012] += 3.0  # empty seconds in the middle
    s = blocked(values, times)
    w = block_weights(rng, s.n_blocks, 200, 2)
    qs = (0.0, 0.25, 0.5, 0.99, 0.999, 1.0)
    got = weighted_quantiles(s, w, qs)
    second = np.floor(times - times.min()).astype(int)
    for b in range(w.shape[0]):
        # the replicate as a bootstrap draws it: each message repeated as often as its
        # second was drawn, then numpy's own quantile
        sample = np.repeat(values, w[b][second])
        assert got[b].tolist() == np.quantile(sample, qs).tolist()


def test_weighted_quantiles_chunks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from ombt_postmortem.compare import bootstrap

    rng = np.random.default_rng(3)
    s = blocked(rng.normal(10, 2, 300), np.sort(rng.uniform(0, 9, 300)))
    w = block_weights(rng, s.n_blocks, 50)
    whole = weighted_quantiles(s, w, (0.5, 0.9))
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 700)  # 2 replicates per chunk
    assert np.array_equal(weighted_quantiles(s, w, (0.5, 0.9)), whole)


def test_block_counts_and_empty_sample() -> None:
    c = block_counts(np.array([0.1, 0.2, 1.5, 4.9, 5.0, np.nan]), 5, origin=0.0)
    assert c.tolist() == [2, 1, 0, 0, 1]  # 5.0 is outside [0, 5)
    empty = blocked(np.empty(0), np.empty(0))
    w = np.ones((3, 0), dtype=np.int64)
    assert np.isnan(weighted_quantiles(empty, w, (0.5,))).all()


def test_percentile_interval_drops_non_finite() -> None:
    r = np.r_[np.arange(1, 101, dtype=float), np.inf, np.nan]
    lo, hi = percentile_interval(r, 0.9)
    assert (lo, hi) == pytest.approx((5.95, 95.05))  # numpy's linear quantiles of 1..100
    assert all(map(math.isnan, percentile_interval(np.array([np.nan]), 0.95)))


@pytest.mark.parametrize(("lo", "hi", "worse_up", "expected"), [
    (1.06, 1.30, True, "worse"),     # whole interval above 1 + t
    (1.04, 1.30, True, "same"),      # touches the band: not shown beyond it
    (0.70, 0.94, True, "better"),    # whole interval below 1 / (1 + t)
    (0.70, 0.96, True, "same"),
    (0.90, 0.94, False, "worse"),    # throughput: lower is worse
    (1.06, 1.10, False, "better"),
    (0.98, 1.03, True, "same"),
    (0.50, 2.00, True, "same"),
    (math.nan, math.nan, True, "n/a"),
])
def test_verdict_rule(lo: float, hi: float, worse_up: bool, expected: str) -> None:
    assert verdict(lo, hi, 0.05, worse_up) == expected


def test_verdict_is_symmetric_in_baseline_and_candidate() -> None:
    # swapping the sides inverts the interval: better and worse swap exactly
    for lo, hi in [(1.051, 1.2), (1.049, 1.2), (0.5, 0.9), (0.9, 1.1)]:
        a = verdict(lo, hi, 0.05, True)
        b = verdict(1 / hi, 1 / lo, 0.05, True)
        assert {a, b} == {"worse", "better"} or a == b == "same"


def test_change_column() -> None:
    assert change(1.01, 1.2) == "up"
    assert change(0.8, 0.99) == "down"
    assert change(0.9, 1.1) == "none shown"
    assert change(math.nan, 1.0) == "n/a"


def test_weighted_quantiles_exact_when_replicates_stray_far_from_the_sample() -> None:
    """Latency growing with time (a queue filling up): each second holds its own range
    of values, so a replicate's quantile can sit far from the sample's own rank; the
    search window must widen and still give numpy's quantile of the replicate."""
    rng = np.random.default_rng(11)
    n = 4000
    times = 50.0 + np.sort(rng.uniform(0, 12, n))
    values = (times - 50.0) * 10.0 + rng.uniform(0, 1, n)
    s = blocked(values, times)
    w = block_weights(rng, s.n_blocks, 60)
    qs = (0.01, 0.5, 0.9)
    got = weighted_quantiles(s, w, qs)
    second = np.floor(times - times.min()).astype(int)
    for b in range(w.shape[0]):
        sample = np.repeat(values, w[b][second])
        assert got[b].tolist() == np.quantile(sample, qs).tolist()
