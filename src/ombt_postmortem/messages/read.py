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

What the slow path salvages, counted (:class:`Salvage`, the run's notes), not
taken for bad lines:

- ombt 3.0.0's two log bugs (kgiusti/ombt ``ombt/__init__.py``): the server's
  "unsynchronized clocks" receipt is written ``{"id": ..., "recv": %f, "error":
  "unsynchronized clocks"\n}\n`` (``_update_stats``): the record split on two
  lines is rejoined; the client writes ``, "error": "%s"`` with ``str(exc)``
  unescaped (``_run_test``): a line that is valid JSON once the text between
  ``"error": "`` and the closing ``"}`` is escaped is read with that text as is;
- times written as strings (``"start": "1795855099.809231"``): a string holding a
  decimal number is read as that number; a time of any other type is left out
  (null). Both are counted, never silent.
"""

from __future__ import annotations

import json
import os
import re
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
class Salvage:
    """What the slow path repaired in a file, or in a run's files (see the module)."""

    rejoined: int = 0  # records split on two lines, rejoined
    unescaped: int = 0  # lines whose error string was written unescaped
    string_times: int = 0  # times written as strings, read as numbers
    other_times: int = 0  # times of another type (not a number), left out

    def add(self, other: Salvage) -> None:
        self.rejoined += other.rejoined
        self.unescaped += other.unescaped
        self.string_times += other.string_times
        self.other_times += other.other_times


@dataclass
class ParsedLogs:
    """Every line of every readable agent log, as rows of ``table`` (``SCHEMA``)."""

    logs: list[AgentLog]  # the files parsed, in row order
    table: pa.Table
    rows: np.ndarray  # int64, rows of each file, in order
    test_names: list[str | None]  # client: "test-name" of its second line
    bad_lines: np.ndarray  # int64, lines of each file that are not valid JSON
    problems: list[str] = field(default_factory=list)
    salvage: Salvage = field(default_factory=Salvage)  # summed over the files


def parse_json_lines(data: pa.Buffer | bytes) -> pa.Table:
    """``read_json`` of newline-terminated JSON lines with the message schema."""
    buf = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    return pj.read_json(pa.BufferReader(buf), read_options=_read_options(buf.size),
                        parse_options=_PARSE)


#: the end of the first half of ombt 3.0.0's split "unsynchronized clocks" receipt
_SPLIT_END = b'"error": "unsynchronized clocks"'
#: ombt 3.0.0's client line with an error: ``{... , "error": "<str(exc) unescaped>"}``
_UNESCAPED = re.compile(rb'(\{"id": .*?, "error": ")(.*)("\})', re.DOTALL)
#: a time written as a string: a decimal number, as ``%f`` or ``repr`` write one
_NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _repair(line: bytes, following: bytes | None, counts: Salvage
            ) -> tuple[bytes, object, bool] | None:
    """A line that is not valid JSON, read as ombt 3.0.0 meant it (see the module):
    (the line as valid JSON, its object, whether ``following`` was taken in), or
    None. Counted in ``counts``."""
    if following is not None and following.strip() == b"}" and line.endswith(_SPLIT_END):
        fixed, took_next = line + b"}", True
    else:
        m = _UNESCAPED.fullmatch(line)
        if m is None:
            return None
        text = json.dumps(m[2].decode("utf-8", errors="replace"), ensure_ascii=False)[1:-1]
        fixed, took_next = m[1] + text.encode("utf-8") + m[3], False
    try:
        obj = json.loads(fixed)
    except ValueError:
        return None
    if took_next:
        counts.rejoined += 1
    else:
        counts.unescaped += 1
    return fixed, obj, took_next


def _salvage(data: bytes) -> tuple[pa.Table, int, Salvage]:
    """Rows of the JSON-object lines of one file, the number of lines that are not
    valid JSON (nor repaired, see :func:`_repair`) and what was salvaged. Valid JSON
    that is no object (``null``, ``5``, ``[]``) is no message and no bad line
    either: it is skipped."""
    good: list[bytes] = []
    objs: list[dict[str, object]] = []
    bad = 0
    counts = Salvage()
    lines = data.split(b"\n")
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        i += 1
        if not s:
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            repaired = _repair(s, lines[i] if i < len(lines) else None, counts)
            if repaired is None:
                bad += 1
                continue
            s, obj, took_next = repaired
            i += took_next
        if isinstance(obj, dict):
            good.append(s)
            objs.append(obj)
    if not objs:
        return SCHEMA.empty_table(), bad, counts
    try:  # the good lines at pyarrow's speed, when their types are right
        table = parse_json_lines(b"\n".join(good) + b"\n")
        if table.num_rows == len(good):
            return table, bad, counts
    except pa.ArrowInvalid:
        pass
    return _rows_by_hand(objs, counts), bad, counts


def _time(v: object, counts: Salvage) -> float | None:
    """A time field's value: a number, or a string holding one (counted); None when
    absent or null, None and counted when of another type."""
    if v is None:
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str) and _NUMBER.fullmatch(v):
        counts.string_times += 1
        return float(v)
    counts.other_times += 1
    return None


def _rows_by_hand(objs: list[dict[str, object]], counts: Salvage) -> pa.Table:
    """The rows of ``objs`` (the JSON objects of a file's lines), as pyarrow would
    give them, save for the types: an ``id``/``error`` of another type becomes its
    JSON text, a time see :func:`_time`."""
    cols: dict[str, list[object]] = {f.name: [] for f in SCHEMA}
    for d in objs:
        for name in ("id", "error"):
            v = d.get(name)
            cols[name].append(v if isinstance(v, str) or v is None else json.dumps(v))
        for name in ("start", "stop", "recv"):
            cols[name].append(_time(d.get(name), counts))
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


def _parse_file(data: bytes) -> tuple[pa.Table, int, Salvage]:
    """Rows of one file's lines, its number of bad lines and what was salvaged
    (0 and nothing on the fast path)."""
    if data and not data.endswith(b"\n"):
        data += b"\n"  # else pyarrow may take a cut last line for a whole one
    try:
        table = parse_json_lines(data)
    except pa.ArrowInvalid:
        return _salvage(data)
    if table.num_rows != data.count(b"\n"):  # blank lines, or two objects on a line
        return _salvage(data)
    return table, 0, Salvage()


def _read_one(log: AgentLog) -> tuple[pa.Table, int, Salvage, str | None] | OSError:
    """(rows, bad lines, salvage, test-name) of one log, or the OSError that stopped
    its reading."""
    try:
        data = log.path.read_bytes()
    except OSError as exc:
        return exc
    table, n_bad, counts = _parse_file(data)
    return table, n_bad, counts, _second_line(data) if log.side == "client" else None


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
    salvage = Salvage()
    workers = max(1, min(threads or usable_cpus(), len(logs)))
    with ThreadPoolExecutor(workers) as pool:
        for log, got in zip(logs, pool.map(_read_one, logs), strict=True):
            if isinstance(got, OSError):
                problems.append(RunDataError(run, log.path,
                                             f"cannot read: {got.strerror or got}").one_line())
                continue
            table, n_bad, counts, name = got
            salvage.add(counts)
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
                      problems=problems, salvage=salvage)
