"""Per integer epoch second and side: messages completed, errors, latency quantiles.

``client`` rows count the client message lines by ``floor(stop)`` (errors
included in ``count``, counted again in ``errors``), their latency is the round
trip of the lines without error; ``server`` rows count receipts by
``floor(recv)``, their latency is the one-way time. Only seconds with at least
one message appear. One stable sort by second (a radix sort when the run
spans < 65536 s), then each second's latencies sorted in place (a loop over
seconds, not messages), and every quantile read at once from the groups'
boundaries (:func:`~.quantiles.grouped_quantiles`, numpy's ``linear`` method).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .frame import Lines
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


def timeline(ln: Lines) -> pa.Table:
    """The ``timeline.parquet`` table (SCHEMA), client rows then server rows, by second."""
    cm = ln.client & ln.message
    sm = ~ln.client & ln.message
    err = ln.error[cm]
    rtt = np.where(err, np.nan, (ln.stop[cm] - ln.start[cm]) * 1000.0)
    sides = [("client", _side(ln.stop[cm], rtt, err)),
             ("server", _side(ln.recv[sm], (ln.recv[sm] - ln.start[sm]) * 1000.0,
                              np.zeros(int(sm.sum()), dtype=bool)))]
    cols: dict[str, list[pa.Array]] = {f.name: [] for f in SCHEMA}
    for name, c in sides:
        n = len(c["second"])
        cols["side"].append(pa.array([name] * n, type=pa.string()))
        for k, v in c.items():
            cols[k].append(pa.array(v, type=SCHEMA.field(k).type))
    return pa.table({k: pa.concat_arrays(v) for k, v in cols.items()}, schema=SCHEMA)
