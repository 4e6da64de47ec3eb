"""Parse every agent log of a run into one Arrow table, at the speed of ``pyarrow.json``.

Fast path: the logs are read into ONE buffer (each ending with a newline) and
parsed by a single :func:`pyarrow.json.read_json` with an explicit schema
(``id``, ``start``, ``stop``, ``recv``, ``error``; any other field ignored, a
missing one null), one row per line. The rows of file ``i`` are the next
``lines[i]`` rows, which holds when every line is a valid JSON object; it is
checked (total rows == total lines) and otherwise, or when pyarrow rejects the
buffer, each file is parsed alone, and a file that still fails goes through
:func:`_salvage`: its lines are checked one by one with :mod:`json`, bad lines
are counted and skipped, the rest parsed. Only a damaged file pays for that.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from ..errors import RunDataError
from .discover import AgentLog

SCHEMA = pa.schema([("id", pa.string()), ("start", pa.float64()), ("stop", pa.float64()),
                    ("recv", pa.float64()), ("error", pa.string())])
#: large blocks: few chunks, still one per core for runs of hundreds of MB
BLOCK_SIZE = 32 << 20
_PARSE = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")


def _read_options(nbytes: int) -> pj.ReadOptions:
    # a block must hold the longest line; a whole small file in one block is fastest
    return pj.ReadOptions(block_size=max(1 << 20, min(BLOCK_SIZE, nbytes + 1)), use_threads=True)


@dataclass
class ParsedLogs:
    """Every line of every readable agent log, as rows of ``table`` (``SCHEMA``)."""

    logs: list[AgentLog]  # the files parsed, in row order
    table: pa.Table
    rows: np.ndarray  # int64, rows of each file, in order
    test_names: list[str | None]  # client: "test-name" of its second line
    bad_lines: np.ndarray  # int64, lines of each file that are not valid JSON objects
    problems: list[str] = field(default_factory=list)


def parse_json_lines(data: pa.Buffer | bytes) -> pa.Table:
    """``read_json`` of newline-terminated JSON lines with the message schema."""
    buf = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    return pj.read_json(pa.BufferReader(buf), read_options=_read_options(buf.size),
                        parse_options=_PARSE)


def _salvage(data: bytes) -> tuple[pa.Table, int]:
    """Rows of the valid JSON-object lines of one file, and the number of bad lines."""
    good: list[bytes] = []
    bad = 0
    for line in data.split(b"\n"):
        s = line.strip()
        if not s:
            continue
        try:
            ok = isinstance(json.loads(s), dict)
        except ValueError:
            ok = False
        if ok:
            good.append(s)
        else:
            bad += 1
    if not good:
        return SCHEMA.empty_table(), bad
    try:
        return parse_json_lines(b"\n".join(good) + b"\n"), bad
    except pa.ArrowInvalid:
        return _rows_by_hand(good), bad


def _rows_by_hand(lines: list[bytes]) -> pa.Table:
    """Lines pyarrow rejects although each is a JSON object (a field of another type):
    fields of the wrong type become null."""
    cols: dict[str, list[object]] = {f.name: [] for f in SCHEMA}
    for s in lines:
        d = json.loads(s)
        for name in ("id", "error"):
            v = d.get(name)
            cols[name].append(v if isinstance(v, str) or v is None else json.dumps(v))
        for name in ("start", "stop", "recv"):
            v = d.get(name)
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            cols[name].append(float(v) if ok else None)
    return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in SCHEMA})


def _second_line(data: memoryview) -> str | None:
    """``test-name`` of a client log's second line (None when absent or unreadable)."""
    raw = bytes(data[:4096])
    lines = raw.split(b"\n", 2)
    if len(lines) < 3 and not raw.endswith(b"\n"):
        lines = lines[:-1] if len(lines) > 1 else []
    if len(lines) < 2:
        return None
    try:
        obj = json.loads(lines[1])
    except ValueError:
        return None
    name = obj.get("test-name") if isinstance(obj, dict) else None
    return name if isinstance(name, str) else None


def parse_agent_logs(logs: list[AgentLog], run: str) -> ParsedLogs:
    """Read and parse ``logs``; unreadable files and bad lines become problems."""
    problems: list[str] = []
    sizes: list[int] = []
    kept: list[AgentLog] = []
    handles = []
    for log in logs:
        try:
            f = log.path.open("rb")
        except OSError as exc:
            problems.append(RunDataError(run, log.path, f"cannot read: {exc.strerror or exc}")
                            .one_line())
            continue
        handles.append(f)
        kept.append(log)
        sizes.append(os.fstat(f.fileno()).st_size)
    buf = bytearray(sum(sizes) + len(sizes))
    view = memoryview(buf)
    spans: list[tuple[int, int]] = []
    lines: list[int] = []
    names: list[str | None] = []
    pos = 0
    ok_logs: list[AgentLog] = []
    for log, f, size in zip(kept, handles, sizes, strict=True):
        try:
            with f:
                n = f.readinto(view[pos:pos + size])
        except OSError as exc:
            problems.append(RunDataError(run, log.path, f"cannot read: {exc.strerror or exc}")
                            .one_line())
            continue
        end = pos + n
        if n and buf[end - 1] != 0x0A:
            buf[end] = 0x0A
            end += 1
        spans.append((pos, end))
        lines.append(buf.count(b"\n", pos, end))
        names.append(_second_line(view[pos:end]) if log.side == "client" else None)
        ok_logs.append(log)
        pos = end
    del view
    whole = pa.py_buffer(buf)
    table: pa.Table | None = None
    rows = np.asarray(lines, dtype=np.int64)
    bad = np.zeros(len(ok_logs), dtype=np.int64)
    try:
        table = parse_json_lines(whole.slice(0, pos))
        if table.num_rows != int(rows.sum()):
            table = None
    except pa.ArrowInvalid:
        table = None
    if table is None:  # some file is not clean JSON lines: parse them one by one
        parts = []
        for i, (a, b) in enumerate(spans):
            try:
                t = parse_json_lines(whole.slice(a, b - a))
                if t.num_rows != lines[i]:
                    raise pa.ArrowInvalid("blank or broken lines")
            except pa.ArrowInvalid:
                t, bad[i] = _salvage(bytes(buf[a:b]))
                if bad[i]:
                    problems.append(RunDataError(
                        run, ok_logs[i].path,
                        f"{bad[i]} line(s) not valid JSON skipped (cut or damaged log)").one_line())
            rows[i] = t.num_rows
            parts.append(t)
        table = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
    return ParsedLogs(logs=ok_logs, table=table, rows=rows, test_names=names, bad_lines=bad,
                      problems=problems)
