"""The export of a run's time series: its queries, and the long-form table of their answers.

:func:`export_timeseries` runs the query set's ``timeseries`` queries against the
run's server, a few in flight at once, and builds the table of their answers as
they come (:func:`timeseries_table`), column by column.

InfluxDB answers a ``SELECT ... GROUP BY *`` with one *series* per tag set: its
tags, its column names (``time`` first) and its rows. :func:`timeseries_table`
turns the series of every exported measurement into one table::

    measurement, field, host, role, <other tags, sorted>, time (ns, UTC), value (float)

one row per non-null numeric value, sorted by measurement (in the query set's
order), field, host, role, the other tags (a missing tag first), then time. The
sort keys are constant within a (series, field) *piece*, so pieces are ordered
once by their key and each piece's values stay one numpy/Arrow array: no Python
object is made per value (the decoded response holds the only ones). Each query's
answer is sorted into its own table as soon as it is read, so that this work
overlaps with the server computing the next answers; the tables are then put one
after the other. Values that are not numbers (string fields) are left out and
counted; booleans count as 0/1; integers become floats (as ``float()`` rounds them).
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ombt_postmortem import arrow_io as aio
from ombt_postmortem.influx.client import influx_client, run_query

if TYPE_CHECKING:
    from influxdb import InfluxDBClient

    from ombt_postmortem.influx.queries import QuerySet

#: the fixed leading columns of the long-form time series, then other tags, then time, value
TS_KEYS = ("measurement", "field", "host", "role")
_ROW_KEYS = frozenset({"measurement", "field", "time", "value"})


def ts_schema(others: Sequence[str]) -> list[tuple[str, pa.DataType]]:
    """(name, type) of the table's columns, ``others`` being the extra tag names."""
    return [*((k, aio.STRING) for k in (*TS_KEYS, *others)), ("time", aio.TIME_NS_UTC),
            ("value", aio.FLOAT)]


def empty_timeseries() -> pa.Table:
    """The long-form time series with no rows (and the right column types)."""
    return pa.table({name: pa.array([], type=typ) for name, typ in ts_schema(())})


@dataclass
class _Piece:
    measurement: str
    field: str
    tags: dict[str, str]
    times: np.ndarray  # int64 ns, the values' times
    values: pa.Array  # float64, no nulls


def _floats(column: Sequence[Any]) -> tuple[pa.Array, int]:
    """One field's values as float64 (null where null or not a number), and how many
    non-null values were not numbers."""
    try:
        return pa.array(column, type=pa.float64()), 0
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        pass  # a string, or an integer beyond 2**53: value by value, as float() does
    out: list[float | None] = []
    skipped = 0
    for v in column:
        if v is None:
            out.append(None)
        elif isinstance(v, bool | int | float):
            out.append(float(v))
        else:
            out.append(None)
            skipped += 1
    return pa.array(out, type=pa.float64()), skipped


def _pieces(name: str, series: Mapping[str, Any]) -> tuple[list[_Piece], int]:
    rows = series.get("values") or []
    if not rows:
        return [], 0
    # a tag named like a row key would be overwritten by it
    tags = {str(k): str(v) for k, v in (series.get("tags") or {}).items()
            if v is not None and v != "" and k not in _ROW_KEYS}
    cols = series.get("columns") or []
    n = len(rows)
    times = np.fromiter(map(itemgetter(0), rows), dtype=np.int64, count=n)
    columns = list(zip(*rows, strict=True))
    pieces: list[_Piece] = []
    skipped = 0
    for i, field_name in enumerate(cols):
        if field_name == "time":
            continue
        arr, bad = _floats(columns[i])
        skipped += bad
        if arr.null_count == len(arr):
            continue
        t = times
        if arr.null_count:
            valid = arr.is_valid()
            t = times[valid.to_numpy(zero_copy_only=False)]
            arr = arr.filter(valid)
        pieces.append(_Piece(name, str(field_name), tags, t, arr))
    return pieces, skipped


def _others(pieces: Iterable[_Piece]) -> tuple[str, ...]:
    """The tag names of the pieces beyond TS_KEYS, sorted: the table's extra columns."""
    return tuple(sorted({k for p in pieces for k in p.tags} - set(TS_KEYS)))


def _first_if_missing(v: object) -> tuple[bool, object]:
    return (v is not None, v if v is not None else "")


def _rank(p: _Piece, order: Mapping[str, int]) -> tuple[bool, object]:
    return _first_if_missing(order.get(p.measurement))


def _assemble(pieces: list[_Piece], order: Mapping[str, int],
              others: tuple[str, ...]) -> pa.Table:
    """The rows of ``pieces`` (at least one), sorted, as a table with the ``others`` tags."""

    def key(p: _Piece) -> tuple[Any, ...]:
        return (_rank(p, order), p.field,
                *(_first_if_missing(p.tags.get(k)) for k in ("host", "role", *others)))

    # a stable sort of the pieces by key; pieces of equal keys (a measurement listed
    # twice, tags differing only in a dropped key) share a rank, and the values of a
    # rank must then be in time order: one stable sort of the rows fixes it if not
    keyed = sorted(((key(p), i) for i, p in enumerate(pieces)), key=itemgetter(0))
    ordered = [pieces[i] for _, i in keyed]
    ranks = np.fromiter(itertools.accumulate(
        (int(a[0] != b[0]) for a, b in zip(keyed, keyed[1:], strict=False)), initial=0),
        dtype=np.int64, count=len(keyed))
    lengths = np.fromiter((len(p.times) for p in ordered), dtype=np.int64, count=len(ordered))
    times = np.concatenate([p.times for p in ordered])
    values = pa.concat_arrays([p.values for p in ordered])
    row_rank = np.repeat(ranks, lengths)
    if not bool(((np.diff(row_rank) != 0) | (np.diff(times) >= 0)).all()):
        by_time = np.argsort(times, kind="stable")
        rows = by_time[np.argsort(row_rank[by_time], kind="stable")]
        times, values = times[rows], values.take(pa.array(rows))
    run_ends = pa.array(np.cumsum(lengths), type=pa.int64())

    def strings(per_piece: list[str | None]) -> pa.Array:
        # constant over each piece: run-end encoded, then decoded into a plain column
        ree = pa.RunEndEncodedArray.from_arrays(run_ends, pa.array(per_piece, type=aio.STRING))
        return pc.run_end_decode(ree)

    columns: dict[str, pa.Array] = {
        "measurement": strings([p.measurement for p in ordered]),
        "field": strings([p.field for p in ordered]),
    }
    for k in ("host", "role", *others):
        columns[k] = strings([p.tags.get(k) for p in ordered])
    columns["time"] = pa.array(times, type=aio.TIME_NS_UTC)
    columns["value"] = values
    return pa.table(columns)


def timeseries_table(results: Iterable[tuple[str, Mapping[str, Any]]],
                     order: Mapping[str, int]) -> tuple[pa.Table, int]:
    """The table of the exported series, and the number of non-numeric values left out.

    ``results``: (measurement queried, its query's result object) in query order;
    ``order``: measurement -> rank in the query set (an unknown one sorts first).

    Each result is sorted into a table of its own as soon as it is read (while the
    next answers may still be on their way); when every result's measurements rank
    after the previous result's (the query set's measurements, each queried once),
    the table is these tables one after the other (one chunk each). Otherwise the
    pieces of all results are sorted together.
    """
    blocks: list[tuple[list[_Piece], pa.Table]] = []
    skipped = 0
    for measurement, result in results:
        pieces: list[_Piece] = []
        for s in result.get("series") or []:
            got, bad = _pieces(str(s.get("name", measurement)), s)
            pieces.extend(got)
            skipped += bad
        if pieces:
            blocks.append((pieces, _assemble(pieces, order, _others(pieces))))
    if not blocks:
        return empty_timeseries(), skipped
    everything = [p for pieces, _ in blocks for p in pieces]
    others = _others(everything)
    names = [name for name, _ in ts_schema(others)]
    ranks = [(min(_rank(p, order) for p in pieces), max(_rank(p, order) for p in pieces))
             for pieces, _ in blocks]
    if all(a[1] < b[0] for a, b in zip(ranks, ranks[1:], strict=False)):
        table = pa.concat_tables([t for _, t in blocks], promote_options="default")
        return table.select(names), skipped
    return _assemble(everything, order, others), skipped


#: time-series queries of the export in flight at once, each on its own connection:
#: influxd computes the next answers while this process decodes and converts the
#: previous ones (the client's CPU time, ~0.2 s on a realistic run, then overlaps
#: the server's work when a core is free; 3 measured as 2: docs/benchmarks.md)
EXPORT_IN_FLIGHT = 2


def export_timeseries(run: str, tar_path: Path, url: str, db: str, qs: QuerySet,
                      lo_ns: int, hi_ns: int, notes: list[str], *,
                      in_flight: int = EXPORT_IN_FLIGHT) -> pa.Table:
    """The raw points of the query set's ``timeseries`` in [lo_ns, hi_ns], long form
    (:func:`timeseries_table`), from the server at ``url``.

    The queries run ``in_flight`` at a time, each worker thread with its own client
    (one connection each); their answers are converted in query order as they come.
    """
    specs = list(qs.timeseries)
    order = {m.measurement: i for i, m in enumerate(specs)}
    clients: list[InfluxDBClient] = []
    local = threading.local()

    def fetch(i: int) -> dict[str, Any]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = influx_client(url)
            clients.append(client)
        spec = specs[i]
        return run_query(run, tar_path, client, spec.render(lo_ns, hi_ns), db,
                      f"timeseries {spec.measurement}")

    pool = ThreadPoolExecutor(max_workers=max(1, in_flight),
                              thread_name_prefix=f"influx-export-{run[:20]}")
    pending: deque[Future[dict[str, Any]]] = deque()

    def results() -> Iterator[tuple[str, dict[str, Any]]]:
        # at most in_flight answers waiting besides the one being converted: the
        # decoded answers (Python lists) never all pile up in memory
        nxt = 0
        while nxt < len(specs) and len(pending) < max(1, in_flight):
            pending.append(pool.submit(fetch, nxt))
            nxt += 1
        for spec in specs:
            result = pending.popleft().result()
            if nxt < len(specs):
                pending.append(pool.submit(fetch, nxt))
                nxt += 1
            yield spec.measurement, result

    # the decoded responses are a million acyclic lists and numbers: the cyclic
    # collector would only scan them again and again while they are built
    paused = gc.isenabled()
    gc.disable()
    try:
        table, skipped = timeseries_table(results(), order)
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True)
        for c in clients:
            c.close()
        if paused:
            gc.enable()
    if skipped:
        notes.append(f"timeseries: {skipped} non-numeric values left out")
    return table
