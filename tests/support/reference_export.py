"""The timeseries export as it was before it went columnar (commit 966686e: a hand-written
urllib client, JSON bodies, one dict per value, one Python sort), kept verbatim as the
reference of tests/integration/test_influx_export.py and of bench/bench_export.py.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import pyarrow as pa

from ombt_postmortem import arrow_io as aio
from ombt_postmortem.influx.queries import QuerySet

TS_KEYS = ("measurement", "field", "host", "role")


def _ts_schema(others: tuple[str, ...]) -> list[tuple[str, pa.DataType]]:
    return [*((k, aio.STRING) for k in (*TS_KEYS, *others)), ("time", aio.TIME_NS_UTC),
            ("value", aio.FLOAT)]


def old_query(url: str, q: str, db: str | None = None) -> dict[str, Any]:
    params = {"q": q, "epoch": "ns"}
    if db is not None:
        params["db"] = db
    req = urllib.request.Request(f"{url}/query", data=urllib.parse.urlencode(params).encode(),
                                 method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=300) as resp:
        payload = json.loads(resp.read())
    result = payload["results"][0]
    assert "error" not in result, result
    return result


def reference_export(url: str, db: str, qs: QuerySet, lo_ns: int, hi_ns: int,
                     notes: list[str]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    skipped = 0
    for spec in qs.timeseries:
        result = old_query(url, spec.render(lo_ns, hi_ns), db)
        for s in result.get("series") or []:
            tags = {k: str(v) for k, v in (s.get("tags") or {}).items()
                    if v is not None and v != ""}
            cols = s.get("columns") or []
            fields = [(i, c) for i, c in enumerate(cols) if c != "time"]
            for vals in s.get("values") or []:
                ts = vals[0]
                for i, name in fields:
                    v = vals[i]
                    if v is None:
                        continue
                    if not isinstance(v, bool | int | float):
                        skipped += 1
                        continue
                    rows.append({**tags, "measurement": str(s.get("name", spec.measurement)),
                                 "field": str(name), "time": int(ts), "value": float(v)})
    if skipped:
        notes.append(f"timeseries: {skipped} non-numeric values left out")
    others = tuple(sorted({k for r in rows for k in r} - {*TS_KEYS, "time", "value"}))
    order = {m.measurement: i for i, m in enumerate(qs.timeseries)}

    def first_if_missing(v: object) -> tuple[bool, object]:
        return (v is not None, v if v is not None else "")

    rows.sort(key=lambda r: (first_if_missing(order.get(r["measurement"])),
                             r["field"],
                             *(first_if_missing(r.get(k)) for k in ("host", "role", *others)),
                             r["time"]))
    return aio.from_rows(rows, _ts_schema(others))
