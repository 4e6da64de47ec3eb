"""Per-run tables as Arrow: built and written without pandas, read as pandas on demand.

The per-run jobs (one or two per run, so thousands in a large campaign) only
build a few small tables and write them as parquet. Importing pandas costs
about 0.3 CPU s per process, more than the work itself, so those jobs use
pyarrow alone (about 0.1 s to import); the tables become pandas frames only
where something asks for one (:func:`to_frame`), e.g. the campaign table, the
figures or a user in a notebook. What a job writes and what ``to_frame`` gives
in memory are the same Arrow table, so both read back identically.

pyarrow itself imports pandas, when it is installed, the first time it converts
anything (its lazy "pandas shim" looks for pandas objects): the job processes
refuse it before importing pyarrow
(:func:`ombt_postmortem.workflow_support.jobs.keep_unneeded_out`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import pandas as pd

STRING = pa.string()
INT = pa.int64()
FLOAT = pa.float64()
TIME_NS_UTC = pa.timestamp("ns", tz="UTC")


def from_rows(rows: Sequence[Mapping[str, Any]], schema: Sequence[tuple[str, pa.DataType]]
              ) -> pa.Table:
    """A table of the given (name, type) columns, in that order, from row dicts
    (a missing key: null)."""
    return pa.table({name: pa.array([r.get(name) for r in rows], type=typ)
                     for name, typ in schema})


def one_row(row: Mapping[str, Any]) -> pa.Table:
    """A one-row table; each column's type is inferred from its value (None: null)."""
    return pa.Table.from_pylist([dict(row)])


def write(tbl: pa.Table, path: Path) -> None:
    """Write ``tbl`` as parquet at ``path`` (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(tbl, path)


def read(path: Path) -> pa.Table:
    """A whole parquet file (``pq.ParquetFile``: half the time of ``pq.read_table``,
    which sets up a dataset, on these small files)."""
    with pq.ParquetFile(path) as f:
        return f.read()


def read_first_row(path: Path) -> dict[str, Any]:
    """The first row of a parquet file as plain Python values (``{}`` when it has none)."""
    rows = read(path).slice(0, 1).to_pylist()
    return rows[0] if rows else {}


def to_frame(tbl: pa.Table) -> pd.DataFrame:
    """``tbl`` as a pandas frame, exactly as ``pandas.read_parquet`` reads it back."""
    return tbl.to_pandas()


__all__ = ["FLOAT", "INT", "STRING", "TIME_NS_UTC", "from_rows", "one_row",
           "read", "read_first_row", "to_frame", "write"]
