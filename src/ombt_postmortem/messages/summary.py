"""The per-run summary row of the messages stage (messages.parquet), from
:class:`~.arrays.Lines`.

Definitions (a separate oracle in ``tests/support/independent_messages.py`` recomputes them):

- ``msg_clients_logged``/``msg_servers_logged``: agent logs found per kind;
- ``msg_sent``: client lines with an ``id`` (a line whose id an earlier client line
  already has is no message line: counted once, said in the notes, see
  :mod:`.analyse`); ``msg_errors``: those with ``error``;
  ``msg_received``: server lines with an ``id``;
- receipts of an id = its server lines; expected receipts of a sent id = the
  number of server logs when its client's test is ``test_fanout``, else 1;
  ``msg_unreceived`` = sum over distinct sent ids of max(0, expected - receipts),
  ``msg_unreceived_ok`` the part of it over ids none of whose client lines has
  ``error``; ``msg_duplicates`` = sum over sent ids of max(0, receipts - expected);
  ``msg_unknown`` = server lines whose id no client logged; ``msg_bad_lines``:
  lines that are not valid JSON (valid JSON that is no object is skipped);
  a message line is a JSON object with an ``id`` (an id of another JSON type
  is taken as its JSON text);
- rtt = (stop - start) * 1000 ms over client lines without error (both times
  present), one way = (recv - start) * 1000 ms over server lines; quantiles with
  numpy's default ``linear`` method; ``oneway_negative``: one-way times < 0;
- steady window: from the latest first ``start`` to the earliest last ``stop``
  of the clients with at least one message line (first/last = earliest/latest);
  ``steady_rate``: lines without error whose stop is in the window (bounds
  included) per second; ``steady_rtt_p99_ms``: p99 of rtt over lines without
  error with start and stop both in it. All five NaN when the window is empty.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from .arrays import Lines
from .quantiles import quantiles

NAN = float("nan")
COUNTS = ("msg_clients_logged", "msg_servers_logged", "msg_sent", "msg_errors", "msg_received",
          "msg_unreceived", "msg_unreceived_ok", "msg_duplicates", "msg_unknown",
          "msg_bad_lines", "oneway_negative")
FIGURES = ("rtt_mean_ms", "rtt_p50_ms", "rtt_p90_ms", "rtt_p99_ms", "rtt_p999_ms", "rtt_max_ms",
           "oneway_p50_ms", "oneway_p90_ms", "oneway_p99_ms", "oneway_max_ms", "steady_start",
           "steady_stop", "steady_s", "steady_rate", "steady_rtt_p99_ms")
#: every column of messages.parquet, in order, with its Arrow type
SUMMARY_SCHEMA = pa.schema(
    [(c, pa.int64()) for c in COUNTS[:10]]
    + [(c, pa.float64()) for c in FIGURES[:10]]
    + [("oneway_negative", pa.int64())]
    + [(c, pa.float64()) for c in FIGURES[10:]]
    + [("msg_notes", pa.string()), ("msg_problems", pa.string())])


def empty_summary() -> dict[str, Any]:
    """No agent log: counts 0, figures NaN."""
    row: dict[str, Any] = {c: 0 for c in COUNTS}
    row.update({c: NAN for c in FIGURES})
    row.update(msg_notes="", msg_problems="")
    return row


def latency_figures(ln: Lines) -> dict[str, Any]:
    """The line counts, round-trip, one-way and steady-window columns."""
    row: dict[str, Any] = {}
    cm = ln.client & ln.message
    sm = ~ln.client & ln.message
    # the client message lines alone (half the rows): start, stop, error, file
    c_start, c_stop, c_err = ln.start[cm], ln.stop[cm], ln.error[cm]
    row["msg_sent"] = len(c_start)
    row["msg_errors"] = int(c_err.sum())
    row["msg_received"] = int(sm.sum())
    ok = ~c_err
    rtt_all = (c_stop - c_start) * 1000.0
    rtt = rtt_all[ok]
    rtt = rtt[~np.isnan(rtt)]
    if len(rtt):
        row["rtt_mean_ms"] = float(np.mean(rtt))
        row["rtt_max_ms"] = float(np.max(rtt))
        (row["rtt_p50_ms"], row["rtt_p90_ms"], row["rtt_p99_ms"],
         row["rtt_p999_ms"]) = quantiles(rtt, (0.5, 0.9, 0.99, 0.999))
    del rtt
    ow = (ln.recv[sm] - ln.start[sm]) * 1000.0
    ow = ow[~np.isnan(ow)]
    if len(ow):
        (row["oneway_p50_ms"], row["oneway_p90_ms"],
         row["oneway_p99_ms"]) = quantiles(ow, (0.5, 0.9, 0.99))
        row["oneway_max_ms"] = float(np.max(ow))
        row["oneway_negative"] = int((ow < 0).sum())
    del ow
    row.update(_steady(ln.file[cm], c_start, c_stop, ok, rtt_all))
    return row


def matching(ln: Lines, code: np.ndarray, n_ids: int, n_servers: int,
             fanout_files: np.ndarray) -> dict[str, int]:
    """The receipt columns, from the id numbers ``code`` (:func:`~.frame.id_codes`).
    ``fanout_files``: bool per log, its client's test is test_fanout."""
    cm = ln.client & ln.message
    sm = ~ln.client & ln.message
    cc, sc = code[cm], code[sm]
    receipts = np.bincount(sc, minlength=n_ids)
    sent = np.zeros(n_ids, dtype=bool)
    sent[cc] = True
    expected = np.zeros(n_ids, dtype=np.int64)
    expected[cc] = np.where(fanout_files[ln.file[cm]], n_servers, 1)
    failed = np.zeros(n_ids, dtype=bool)
    failed[code[cm & ln.error]] = True
    short = np.where(sent, np.maximum(expected - receipts, 0), 0)
    return {"msg_unreceived": int(short.sum()), "msg_unreceived_ok": int(short[~failed].sum()),
            "msg_duplicates": int(np.maximum(receipts - expected, 0)[sent].sum()),
            "msg_unknown": int(receipts[~sent].sum())}


def _steady(files: np.ndarray, start_s: np.ndarray, stop_s: np.ndarray, ok: np.ndarray,
            rtt: np.ndarray) -> dict[str, float]:
    """The steady-window columns from the client message lines (file order)."""
    none = {"steady_start": NAN, "steady_stop": NAN, "steady_s": NAN, "steady_rate": NAN,
            "steady_rtt_p99_ms": NAN}
    if not len(files):
        return none
    # message lines of a client are contiguous: one reduceat per client
    bounds = np.flatnonzero(np.r_[True, files[1:] != files[:-1]])
    with np.errstate(invalid="ignore"):
        first = np.fmin.reduceat(start_s, bounds)
        last = np.fmax.reduceat(stop_s, bounds)
    if np.isnan(first).all() or np.isnan(last).all():
        return none
    start, stop = float(np.nanmax(first)), float(np.nanmin(last))
    span = stop - start
    if not span > 0 or not math.isfinite(span):
        return none
    in_stop = ok & (stop_s >= start) & (stop_s <= stop)
    inside = in_stop & (start_s >= start) & (start_s <= stop)
    p99 = quantiles(rtt[inside & ~np.isnan(rtt)], (0.99,))[0]
    return {"steady_start": start, "steady_stop": stop, "steady_s": span,
            "steady_rate": float(in_stop.sum()) / span, "steady_rtt_p99_ms": p99}
