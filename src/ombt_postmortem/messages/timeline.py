"""Per integer epoch second and side: messages completed, errors, latency quantiles.

``client`` rows count the client message lines by ``floor(stop)`` (errors
included in ``count``, counted again in ``errors``), their latency is the round
trip of the lines without error; ``server`` rows count receipts by
``floor(recv)``, their latency is the one-way time. Every second of the run's
window (from the first time logged, a send, to the last, a reply or a receipt) is a
row of each side that logged lines: a second without messages has count 0 and NaN
latencies, so that silence (clients stuck on timeouts) reads as silence (a window
over :data:`MAX_FILL_S`, clocks gone astray, keeps only the seconds with messages).
One stable sort by second (a radix sort when the run
spans < 65536 s), then each second's latencies sorted in place (a loop over
seconds, not messages), and every quantile read at once from the groups'
boundaries (:func:`~.quantiles.grouped_quantiles`, numpy's ``linear`` method).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import Lines
from .quantiles import grouped_quantiles

SCHEMA = pa.schema([("second", pa.int64()), ("side", pa.string()), ("count", pa.int64()),
                    ("errors", pa.int64()), ("p50_ms", pa.float64()), ("p99_ms", pa.float64()),
                    ("max_ms", pa.float64())])


def _side(second_of: np.ndarray, latency: np.ndarray, error: np.ndarray) -> dict[str, np.ndarray]:
    """Columns of one side; ``latency`` NaN where a line has none."""
    keep = ~np.isnan(second_of)
    sec = np.floor(second_of[keep]).astype(np.int64)
    lat, err = latency[keep], error[keep]
    if not len(sec):
        ints = {k: np.empty(0, dtype=np.int64) for k in ("second", "count", "errors")}
        return ints | {k: np.empty(0) for k in ("p50_ms", "p99_ms", "max_ms")}
    rel = sec - int(sec.min())
    if int(rel.max()) < 1 << 16:
        rel = rel.astype(np.uint16)  # stable sort of 16-bit ints is a radix sort
    order = np.argsort(rel, kind="stable")
    s_sorted = sec[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ends = np.r_[starts[1:], len(s_sorted)]
    counts = ends - starts
    l_sorted = lat[order]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        l_sorted[a:b].sort()  # each second's latencies, ascending, NaN last
    valid = np.add.reduceat((~np.isnan(l_sorted)).astype(np.int64), starts)
    maxv = np.where(valid > 0, l_sorted[starts + np.maximum(valid - 1, 0)], np.nan)
    return {"second": s_sorted[starts], "count": counts,
            "errors": np.add.reduceat(err[order].astype(np.int64), starts),
            "p50_ms": grouped_quantiles(l_sorted, starts, valid, 0.5),
            "p99_ms": grouped_quantiles(l_sorted, starts, valid, 0.99), "max_ms": maxv}


#: the longest window filled second by second (7 days)
MAX_FILL_S = 7 * 86400


def window(ln: Lines) -> tuple[int, int] | None:
    """The run's seconds: floor of the first and of the last time any message line
    logged (start, stop or recv), or None without any."""
    m = ln.message
    times = np.concatenate([ln.start[m], ln.stop[m], ln.recv[m]])
    times = times[np.isfinite(times)]
    if not len(times):
        return None
    return int(np.floor(times.min())), int(np.floor(times.max()))


def _fill(c: dict[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    """``c`` with a row for every second of [lo, hi]: count 0, errors 0, NaN latency."""
    if not len(c["second"]) or hi - lo > MAX_FILL_S:
        return c
    lo, hi = min(lo, int(c["second"].min())), max(hi, int(c["second"].max()))
    seconds = np.arange(lo, hi + 1, dtype=np.int64)
    at = c["second"] - lo
    out: dict[str, np.ndarray] = {"second": seconds}
    for k in ("count", "errors"):
        out[k] = np.zeros(len(seconds), dtype=np.int64)
        out[k][at] = c[k]
    for k in ("p50_ms", "p99_ms", "max_ms"):
        out[k] = np.full(len(seconds), np.nan)
        out[k][at] = c[k]
    return out


def timeline(ln: Lines) -> pa.Table:
    """The ``timeline.parquet`` table (SCHEMA), client rows then server rows, by second,
    every second of the run's :func:`window` for each side with lines."""
    cm = ln.client & ln.message
    sm = ~ln.client & ln.message
    err = ln.error[cm]
    rtt = np.where(err, np.nan, (ln.stop[cm] - ln.start[cm]) * 1000.0)
    sides = [("client", _side(ln.stop[cm], rtt, err)),
             ("server", _side(ln.recv[sm], (ln.recv[sm] - ln.start[sm]) * 1000.0,
                              np.zeros(int(sm.sum()), dtype=bool)))]
    span = window(ln)
    if span is not None:
        sides = [(name, _fill(c, *span)) for name, c in sides]
    cols: dict[str, list[pa.Array]] = {f.name: [] for f in SCHEMA}
    for name, c in sides:
        n = len(c["second"])
        cols["side"].append(pa.array([name] * n, type=pa.string()))
        for k, v in c.items():
            cols[k].append(pa.array(v, type=SCHEMA.field(k).type))
    return pa.table({k: pa.concat_arrays(v) for k, v in cols.items()}, schema=SCHEMA)
