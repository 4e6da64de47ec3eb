"""The .hgrm writer (issue 24) against HdrHistogram's own definitions and output."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from ombt_postmortem.hgrm import write_hgrm

ROW = re.compile(r"^\s*(-?\d+\.\d+)\s+(\d\.\d{12})\s+(\d+)(?:\s+(\d+\.\d+|Infinity))?\s*$")


def parse_hgrm(text: str) -> tuple[list[tuple[float, float, int]], dict[str, float]]:
    """A reader written from the format (HdrHistogram's outputPercentileDistribution):
    a header line, a blank line, rows 'value percentile totalcount [1/(1-p)]', then
    '#[Name = value, Name = value]' footer lines."""
    lines = text.splitlines()
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    assert lines[1] == ""
    rows, footer = [], {}
    for ln in lines[2:]:
        if ln.startswith("#["):
            for part in ln[2:-1].split(","):
                k, v = part.split("=")
                footer[k.strip()] = float(v)
            continue
        m = ROW.match(ln)
        assert m, ln
        rows.append((float(m[1]), float(m[2]), int(m[3])))
        if float(m[2]) < 1.0:
            assert float(m[4]) == pytest.approx(1 / (1 - float(m[2])), abs=0.006)
        else:
            assert m[4] is None  # the 100 % row has no fourth column
    return rows, footer


def sample(n: int, seed: int = 0) -> np.ndarray:
    """Latencies in ms at the agents' microsecond resolution, with ties."""
    rng = np.random.default_rng(seed)
    return np.round(rng.lognormal(1.0, 0.7, n) * 1000.0) / 1000.0


@pytest.mark.parametrize("n", [1, 2, 7, 3000])
def test_rows_parse_back_to_the_exact_quantiles(n: int) -> None:
    v = sample(n)
    f = io.StringIO()
    write_hgrm(v, f)
    rows, footer = parse_hgrm(f.getvalue())
    assert rows[0][1] == 0.0 and rows[-1][1] == 1.0
    for value, p, count in rows:
        # HdrHistogram's value at a percentile: the smallest value with at least that
        # share of the sample at or below it (numpy's inverted_cdf quantile, here by
        # hand: p * n rounded off by 1e-9, as 0.55 * 3000 is 1650.0000000000002)
        exact = np.sort(v)[max(int(np.ceil(p * n - 1e-9)), 1) - 1]
        assert value == pytest.approx(exact, abs=5e-7)
        assert count == int((v <= exact).sum())
    levels = [p for _, p, _ in rows]
    assert levels == sorted(levels)
    assert footer["Total count"] == n
    assert footer["Max"] == pytest.approx(v.max(), abs=5e-7)
    assert footer["Mean"] == pytest.approx(v.mean(), abs=5e-7)
    assert footer["StdDeviation"] == pytest.approx(v.std(), abs=5e-7)


def test_percentile_levels_are_hdrhistograms() -> None:
    """Java's PercentileIterator, 5 ticks per half distance: 0, 10 ... 50, then 55 ...
    75, 77.5 ... 87.5, 88.75 ..."""
    f = io.StringIO()
    write_hgrm(np.arange(1, 100_001) / 1000.0, f)
    levels = [p for _, p, _ in parse_hgrm(f.getvalue())[0]]
    assert levels[:16] == pytest.approx([0, .1, .2, .3, .4, .5, .55, .6, .65, .7, .75, .775,
                                         .8, .825, .85, .875])
    assert levels[16] == pytest.approx(0.8875)


def test_same_values_as_hdrhistogram_py() -> None:
    """HdrHistogram_py (PyPI hdrhistogram) records the same microsecond values (exactly:
    5 significant digits hold every integer below 2^17 us) and writes its own .hgrm:
    each of its rows has the value our definition gives at its percentile level, and its
    header and rows parse with the same reader."""
    hdrh = pytest.importorskip("hdrh.histogram")
    v = sample(5000, seed=4)
    v = v[v < 131.0]
    h = hdrh.HdrHistogram(1, 1_000_000, 5)  # up to 1 s
    for us in np.round(v * 1000).astype(int).tolist():
        h.record_value(us)
    buf = io.BytesIO()
    h.output_percentile_distribution(buf, 1000.0)
    text = buf.getvalue().decode()
    theirs = [ln for ln in text.splitlines() if not ln.startswith("#[")]
    rows, _ = parse_hgrm("\n".join(theirs) + "\n")
    assert len(rows) > 20
    for value, p, count in rows:
        assert value == pytest.approx(np.quantile(v, p, method="inverted_cdf"), abs=5e-4)
        assert count == int((v <= value + 5e-4).sum())
    ours = io.StringIO()
    write_hgrm(v, ours)
    assert ours.getvalue().splitlines()[0] == text.splitlines()[0]  # same header
