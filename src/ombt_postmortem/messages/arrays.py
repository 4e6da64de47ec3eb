"""The parsed lines of a run as numpy arrays (no Python object per message)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .read import ParsedLogs


@dataclass
class Lines:
    """One entry per parsed line of every agent log, in file order.

    The ids themselves are numbered apart (:func:`id_codes`).
    """

    file: np.ndarray  # int32 index into ParsedLogs.logs
    client: np.ndarray  # bool: the line is in a client log
    message: np.ndarray  # bool: the line has an "id" (a message line)
    start: np.ndarray  # float64 epoch s, NaN when missing
    stop: np.ndarray
    recv: np.ndarray
    error: np.ndarray  # bool: has "error"


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    """float64 with NaN for null (``to_numpy`` of a float column does that)."""
    return col.to_numpy() if col.num_chunks else np.empty(0)


def id_codes(col: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Per line: a number equal for equal ids (int32, -1 without id), and how many.

    One hash pass of pyarrow's ``dictionary_encode`` (measured faster than
    splitting ombt's ``<uuid>:<n>`` ids into integers with numpy or Arrow string
    kernels).
    """
    if len(col) == 0:
        return np.empty(0, dtype=np.int32), 0
    enc = col.dictionary_encode()
    n_ids = len(enc.chunk(0).dictionary) if enc.num_chunks else 0
    idx = pa.chunked_array([c.indices for c in enc.chunks], type=enc.type.index_type)
    return pc.fill_null(idx, -1).to_numpy().astype(np.int32, copy=False), n_ids


def lines_of(parsed: ParsedLogs, keep_table: bool = False) -> Lines:
    """The arrays of ``parsed``; unless ``keep_table``, each column of
    ``parsed.table`` is dropped once converted, to bound the peak memory."""
    n_files = len(parsed.logs)
    file = np.repeat(np.arange(n_files, dtype=np.int32), parsed.rows)
    is_client = np.array([log.side == "client" for log in parsed.logs], dtype=bool)

    def drop(name: str) -> None:
        if not keep_table:
            parsed.table = parsed.table.drop_columns([name])

    message = parsed.table["id"].is_valid().to_numpy(zero_copy_only=False) \
        if parsed.table.num_rows else np.empty(0, dtype=bool)
    drop("id")
    error = parsed.table["error"].is_valid().to_numpy(zero_copy_only=False) \
        if parsed.table.num_rows else np.empty(0, dtype=bool)
    drop("error")
    times: dict[str, np.ndarray] = {}
    for name in ("start", "stop", "recv"):
        times[name] = _floats(parsed.table[name])
        drop(name)
    if not keep_table:  # hand the table's memory back before the numpy work
        pa.default_memory_pool().release_unused()
    return Lines(file=file, client=is_client[file], message=message,
                 start=times["start"], stop=times["stop"], recv=times["recv"], error=error)
