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

    ``code`` numbers the distinct ids (-1: line without ``id``), so matching a
    message with its receipts is integer work: one hash pass of pyarrow's
    ``dictionary_encode`` over the id column.
    """

    file: np.ndarray  # int64 index into ParsedLogs.logs
    client: np.ndarray  # bool: the line is in a client log
    code: np.ndarray  # int64 id number, -1 without id
    n_ids: int
    start: np.ndarray  # float64 epoch s, NaN when missing
    stop: np.ndarray
    recv: np.ndarray
    error: np.ndarray  # bool: has "error"

    @property
    def message(self) -> np.ndarray:
        return self.code >= 0


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(col, np.nan).to_numpy() if col.num_chunks else np.empty(0)


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    if len(col) == 0:
        return np.empty(0, dtype=np.int64), 0
    enc = col.dictionary_encode()
    n_ids = len(enc.chunk(0).dictionary) if enc.num_chunks else 0
    idx = pa.chunked_array([c.indices for c in enc.chunks], type=enc.type.index_type)
    return pc.fill_null(idx, -1).to_numpy().astype(np.int64, copy=False), n_ids


def lines_of(parsed: ParsedLogs) -> Lines:
    t = parsed.table
    n_files = len(parsed.logs)
    file = np.repeat(np.arange(n_files, dtype=np.int64), parsed.rows)
    is_client = np.array([log.side == "client" for log in parsed.logs], dtype=bool)
    code, n_ids = _codes(t["id"])
    return Lines(file=file, client=is_client[file], code=code, n_ids=n_ids,
                 start=_floats(t["start"]), stop=_floats(t["stop"]), recv=_floats(t["recv"]),
                 error=t["error"].is_valid().to_numpy(zero_copy_only=False)
                 if len(t) else np.empty(0, dtype=bool))
