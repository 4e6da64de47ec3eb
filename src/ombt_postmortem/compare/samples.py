"""One run's per-message samples, cut into one-second blocks, for the bootstrap.

Where they come from, in this order (:func:`load_run_samples`):

1. ``runs/<run>/per_message.parquet`` when the workflow kept it
   (``messages.keep_per_message``) and it has rows;
2. else the run's agent logs, read again from its backup folder (the campaign
   folder and the run's ``backup_dir``) with the per-message stage's own reader
   (:func:`ombt_postmortem.messages.analyse_messages`), when that folder is known;
3. else none: the comparison of that run has point values only (no interval).

The samples follow the definitions of ``messages.parquet`` (see
:mod:`ombt_postmortem.messages.summary`): round trip = (stop - start) x 1000 ms
of the client lines without error, binned by the second of their ``stop``;
one way = (recv - start) x 1000 ms of the server lines, by the second of their
``recv``; client errors binned by their ``stop`` second (their ``start`` without
one, clipped into the run's blocks); the steady-window
throughput counts the client lines without error whose ``stop`` is in the
window (bounds included) per second of the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import layout
from ..errors import RunDataError
from .bootstrap import Blocked, block_counts, blocked


@dataclass(frozen=True)
class RunSamples:
    """The per-message samples of one run, by time block."""

    source: str  # where they were read: per_message.parquet or agent logs
    rtt: Blocked  # client round trips (ms), by the block of their stop
    errors: np.ndarray  # client error lines per block of the same blocks as rtt
    oneway: Blocked  # server one-way times (ms), by the block of their recv
    steady: np.ndarray  # ok client lines per block of the steady window (stop inside)
    steady_len: np.ndarray  # seconds of each steady block (the last one may be shorter)


def _floats(t: pa.Table, name: str) -> np.ndarray:
    col = t[name]
    return pc.fill_null(pc.cast(col, pa.float64()), math.nan).to_numpy() \
        if len(col) else np.empty(0)


def samples_of(per_message: pa.Table, source: str, steady_start: float, steady_stop: float,
               block_s: float = 1.0) -> RunSamples:
    """The samples of a ``PER_MESSAGE_SCHEMA`` table (agent, id, start, stop, recv, error).

    A line with ``recv`` is a server's receipt, any other a client's send."""
    start, stop, recv = (_floats(per_message, c) for c in ("start", "stop", "recv"))
    err = per_message["error"].is_valid().to_numpy(zero_copy_only=False) \
        if per_message.num_rows else np.empty(0, dtype=bool)
    server = ~np.isnan(recv)
    client = ~server
    c_stop, c_start, c_err = stop[client], start[client], err[client]
    ok = ~c_err
    finite = c_stop[~np.isnan(c_stop)]
    if len(finite):
        origin = float(finite.min())
        n_blocks = int(np.floor((float(finite.max()) - origin) / block_s)) + 1
    else:
        origin, n_blocks = 0.0, 0
    rtt = blocked((c_stop[ok] - c_start[ok]) * 1000.0, c_stop[ok], block_s, origin, n_blocks)
    # an error line without stop counts at its start (every error counts once)
    err_t = np.where(np.isnan(c_stop[c_err]), c_start[c_err], c_stop[c_err])
    errors = block_counts(np.clip(err_t, origin, origin + n_blocks * block_s - 1e-9),
                          n_blocks, origin, block_s) if n_blocks \
        else np.zeros(0, dtype=np.int64)
    oneway = blocked((recv[server] - start[server]) * 1000.0, recv[server], block_s)
    span = steady_stop - steady_start
    if math.isfinite(span) and span > 0:
        t = c_stop[ok]
        t = t[(t >= steady_start) & (t <= steady_stop)]
        n_steady = max(1, math.ceil(span / block_s))
        b = np.minimum(np.floor((t - steady_start) / block_s).astype(np.int64), n_steady - 1)
        steady = np.bincount(b, minlength=n_steady).astype(np.int64)
        steady_len = np.full(n_steady, float(block_s))
        steady_len[-1] = span - block_s * (n_steady - 1)
    else:
        steady, steady_len = np.zeros(0, dtype=np.int64), np.zeros(0)
    return RunSamples(source=source, rtt=rtt, errors=errors, oneway=oneway, steady=steady,
                      steady_len=steady_len)


def read_per_message(run_dir: Path) -> pa.Table | None:
    """``per_message.parquet`` of the run folder, None when absent or empty."""
    path = run_dir / layout.PER_MESSAGE
    if not path.is_file():
        return None
    t = pq.read_table(path, columns=["start", "stop", "recv", "error"])
    return t if t.num_rows else None


def read_agent_logs(campaign_folder: Path, run_id: str) -> tuple[pa.Table | None, list[str]]:
    """The per-message table of the run's agent logs in its backup folder, and the
    problems met (one line each, naming the run and the file)."""
    from ..messages import analyse_messages
    from ..params import run_folder

    try:
        folder = run_folder(campaign_folder, run_id)
    except RunDataError as exc:
        return None, [exc.one_line()]
    if not folder.is_dir():
        return None, [RunDataError(run_id, folder, "run folder missing").one_line()]
    result = analyse_messages(folder, run_id, keep_per_message=True, threads=1)
    t = result.per_message
    return (t if t is not None and t.num_rows else None), list(result.problems)


def load_run_samples(run_dir: Path, run_id: str, campaign_folder: Path | None,
                     steady_start: float, steady_stop: float, block_s: float = 1.0,
                     ) -> tuple[RunSamples | None, list[str]]:
    """The run's samples from per_message.parquet, else its agent logs (when
    ``campaign_folder`` is given), else None; and the problems met."""
    problems: list[str] = []
    table = read_per_message(run_dir)
    source = layout.PER_MESSAGE
    if table is None and campaign_folder is not None:
        table, problems = read_agent_logs(campaign_folder, run_id)
        source = "agent logs"
    if table is None:
        return None, problems
    return samples_of(table, source, steady_start, steady_stop, block_s), problems
