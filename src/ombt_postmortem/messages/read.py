"""Parse every agent log of a run into one Arrow table, at the speed of ``pyarrow.json``.

Each file is read whole and parsed by one :func:`pyarrow.json.read_json` with
an explicit schema (``id``, ``start``, ``stop``, ``recv``, ``error``; any other
field ignored, a missing one null): one row per non-blank line, so a file's
rows are its table's. Parsing file by file measured faster and lighter than
parsing the files joined (``bench/bench_messages.py``). When pyarrow rejects a
file (a cut last line, a damaged line) or gives another number of rows than
the file has lines (blank lines, two objects on one line), :func:`_salvage`
checks its lines one by one with :mod:`json`, counts and skips the bad ones
and parses the rest: only such a file pays for that. The files are read and
parsed on a thread pool (pyarrow parses without the GIL).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from ..errors import RunDataError
from .discover import AgentLog

SCHEMA = pa.schema([("id", pa.string()), ("start", pa.float64()), ("stop", pa.float64()),
                    ("recv", pa.float64()), ("error", pa.string())])
#: blocks of 8 MB: a small log is one block, a big one is parsed on several threads
BLOCK_SIZE = 8 << 20
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
    bad_lines: np.ndarray  # int64, lines of each file that are not valid JSON
    problems: list[str] = field(default_factory=list)


def parse_json_lines(data: pa.Buffer | bytes) -> pa.Table:
    """``read_json`` of newline-terminated JSON lines with the message schema."""
    buf = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    return pj.read_json(pa.BufferReader(buf), read_options=_read_options(buf.size),
                        parse_options=_PARSE)


def _salvage(data: bytes) -> tuple[pa.Table, int]:
    """Rows of the JSON-object lines of one file, and the number of lines that are not
    valid JSON. Valid JSON that is no object (``null``, ``5``, ``[]``) is no message
    and no bad line either: it is skipped."""
    good: list[bytes] = []
    bad = 0
    for line in data.split(b"\n"):
        s = line.strip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            bad += 1
            continue
        if isinstance(obj, dict):
            good.append(s)
    if not good:
        return SCHEMA.empty_table(), bad
    try:
        table = parse_json_lines(b"\n".join(good) + b"\n")
        if table.num_rows == len(good):
            return table, bad
    except pa.ArrowInvalid:
        pass
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


def _second_line(data: bytes) -> str | None:
    """``test-name`` of a client log's second line (None when absent or unreadable)."""
    raw = data[:4096]
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


def _parse_file(data: bytes) -> tuple[pa.Table, int]:
    """Rows of one file's lines and its number of bad lines (0 on the fast path)."""
    if data and not data.endswith(b"\n"):
        data += b"\n"  # else pyarrow may take a cut last line for a whole one
    try:
        table = parse_json_lines(data)
    except pa.ArrowInvalid:
        return _salvage(data)
    if table.num_rows != data.count(b"\n"):  # blank lines, or two objects on a line
        return _salvage(data)
    return table, 0


def _read_one(log: AgentLog) -> tuple[pa.Table, int, str | None] | OSError:
    """(rows, bad lines, test-name) of one log, or the OSError that stopped its reading."""
    try:
        data = log.path.read_bytes()
    except OSError as exc:
        return exc
    table, n_bad = _parse_file(data)
    return table, n_bad, _second_line(data) if log.side == "client" else None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity: what a batch scheduler granted)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_agent_logs(logs: list[AgentLog], run: str, threads: int | None = None) -> ParsedLogs:
    """Read and parse ``logs``, each file on its own, ``threads`` at a time (default:
    :func:`usable_cpus`; pyarrow parses without the GIL); unreadable files and bad
    lines become problems."""
    problems: list[str] = []
    tables: list[pa.Table] = []
    rows: list[int] = []
    bad: list[int] = []
    names: list[str | None] = []
    ok_logs: list[AgentLog] = []
    workers = max(1, min(threads or usable_cpus(), len(logs)))
    with ThreadPoolExecutor(workers) as pool:
        for log, got in zip(logs, pool.map(_read_one, logs), strict=True):
            if isinstance(got, OSError):
                problems.append(RunDataError(run, log.path,
                                             f"cannot read: {got.strerror or got}").one_line())
                continue
            table, n_bad, name = got
            if n_bad:
                problems.append(RunDataError(
                    run, log.path, f"{n_bad} line(s) not valid JSON skipped (cut or damaged log)")
                    .one_line())
            tables.append(table)
            rows.append(table.num_rows)
            bad.append(n_bad)
            names.append(name)
            ok_logs.append(log)
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    return ParsedLogs(logs=ok_logs, table=table, rows=np.asarray(rows, dtype=np.int64),
                      test_names=names, bad_lines=np.asarray(bad, dtype=np.int64),
                      problems=problems)
