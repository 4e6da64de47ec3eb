"""One run's per-message analysis: discovery, parsing, summary, timeline, files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .. import arrow_io
from ..errors import RunDataError
from .contract import SUMMARY_SCHEMA, empty_summary, latency_figures, matching
from .discover import AgentLog, read_agent_logs, scan_agent_logs
from .frame import Lines, id_codes, lines_of
from .read import ParsedLogs, parse_agent_logs
from .timeline import SCHEMA as TIMELINE_SCHEMA
from .timeline import timeline

PER_MESSAGE_SCHEMA = pa.schema([
    ("agent", pa.dictionary(pa.int32(), pa.string())), ("id", pa.string()),
    ("start", pa.float64()), ("stop", pa.float64()), ("recv", pa.float64()),
    ("error", pa.string())])


@dataclass
class MessagesResult:
    """What :func:`analyse_messages` found for one run."""

    summary: dict[str, Any]  # SUMMARY_SCHEMA columns
    timeline: pa.Table  # TIMELINE_SCHEMA
    per_message: pa.Table | None  # PER_MESSAGE_SCHEMA, when asked
    problems: list[str] = field(default_factory=list)  # one line each, naming run and file

    def summary_table(self) -> pa.Table:
        return arrow_io.from_rows([self.summary], list(zip(SUMMARY_SCHEMA.names,
                                                           SUMMARY_SCHEMA.types, strict=True)))


def _notes(run: str, row: dict[str, Any], call_like: bool) -> list[str]:
    """What the figures show that a reader must know (not faults of the backup)."""
    notes: list[str] = []
    ok_short = int(row["msg_unreceived_ok"])
    if ok_short and call_like:
        notes.append(f"{ok_short} answered call(s) without a receipt line: server log lines "
                     "missing (agent killed before flushing its log?), not lost messages")
    elif ok_short:
        notes.append(f"{ok_short} message(s) sent without error never logged by a server")
    if row["msg_unknown"]:
        notes.append(f"{row['msg_unknown']} receipt(s) of ids no client logged "
                     "(client log overwritten or missing?)")
    if row["msg_duplicates"]:
        notes.append(f"{row['msg_duplicates']} duplicate receipt(s)")
    if row["oneway_negative"]:
        notes.append(f"{row['oneway_negative']} receipt(s) before their send: clock skew "
                     "between hosts (one-way times unreliable)")
    return [RunDataError(run, None, n).one_line() for n in notes]


def _per_message(parsed: ParsedLogs, ln: Lines) -> pa.Table:
    """The message lines of ``parsed.table``: zero-copy slices of its runs of message
    rows (one or two per file), or a copy by ``take`` when the runs are many."""
    keep = np.flatnonzero(ln.message)
    edges = np.flatnonzero(np.diff(np.r_[0, ln.message.astype(np.int8), 0]))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) <= 100_000:
        pieces = [parsed.table.slice(a, b - a) for a, b in zip(starts.tolist(), ends.tolist(),
                                                                strict=True)]
        t = pa.concat_tables(pieces) if pieces else parsed.table.slice(0, 0)
    else:
        t = parsed.table.take(pa.array(keep))
    names = pa.array([log.name or log.path.name for log in parsed.logs], type=pa.string())
    agent = pa.chunked_array([pa.DictionaryArray.from_arrays(
        pa.array(ln.file[keep].astype(np.int32)), names)])
    return pa.table([agent, *(t[c] for c in ("id", "start", "stop", "recv", "error"))],
                    schema=PER_MESSAGE_SCHEMA)


def analyse_messages(folder: Path, run_id: str, keep_per_message: bool = False,
                     threads: int | None = None) -> MessagesResult:
    """Analyse every agent log of the run folder ``folder``.

    A missing folder is a problem (the per-run job is told it by the ombt stage
    instead: see :func:`analyse_message_logs`).
    """
    logs, problems = scan_agent_logs(folder, run_id)
    if not folder.is_dir():
        problems.append(RunDataError(run_id, folder, "run folder missing").one_line())
    return _analyse(run_id, logs, problems, keep_per_message, threads)


def analyse_message_logs(run_id: str, candidates: Sequence[Path], *,
                         keep_per_message: bool = False, threads: int | None = None,
                         folder_problem: str | None = None) -> MessagesResult:
    """Analyse the agent logs among ``candidates`` (a job's declared inputs: every
    ``*.log`` of the run folder that is neither a controller file nor a
    ``_docker.log``; the agents' logs are told by their first line).

    ``folder_problem``: why the run folder is unusable; the ombt stage reports it,
    so the result is empty without a problem of its own.
    """
    if folder_problem:
        return _analyse(run_id, [], [], keep_per_message, threads)
    logs, problems = read_agent_logs(candidates, run_id)
    return _analyse(run_id, logs, problems, keep_per_message, threads)


def _analyse(run_id: str, logs: list[AgentLog], problems: list[str], keep_per_message: bool,
             threads: int | None) -> MessagesResult:
    """``threads``: files read and parsed at once (default: the CPUs this process
    may use; give the job's ``threads`` when several jobs share a machine).
    No agent log: counts 0, figures NaN, no problem. An unreadable log or
    invalid JSON lines: one problem line naming the file; the rest still counts.
    """
    parsed = parse_agent_logs(logs, run_id, threads=threads)
    problems = problems + parsed.problems
    if not parsed.logs:
        row = empty_summary()
        row["msg_problems"] = "; ".join(problems)
        return MessagesResult(summary=row, timeline=TIMELINE_SCHEMA.empty_table(),
                              per_message=PER_MESSAGE_SCHEMA.empty_table()
                              if keep_per_message else None, problems=problems)
    n_clients = sum(log.side == "client" for log in parsed.logs)
    n_servers = len(parsed.logs) - n_clients
    fanout = np.array([n == "test_fanout" for n in parsed.test_names], dtype=bool)
    row = empty_summary()
    row.update(msg_clients_logged=n_clients, msg_servers_logged=n_servers,
               msg_bad_lines=int(parsed.bad_lines.sum()))
    # ids first, then the other columns (the table's memory goes as each is converted):
    # (numbering the ids on a thread beside the numpy work: 1007 instead of 820 MiB peak
    # RSS on 2M messages, for a wall gain lost in the noise of a shared 2-CPU machine)
    code, n_ids = id_codes(parsed.table["id"])
    ln = lines_of(parsed, keep_table=keep_per_message)
    row.update(matching(ln, code, n_ids, n_servers, fanout))
    del code
    row.update(latency_figures(ln))
    tl = timeline(ln)
    call_like = any(n == "test_call" for n in parsed.test_names)
    row["msg_notes"] = "; ".join(_notes(run_id, row, call_like))
    row["msg_problems"] = "; ".join(problems)
    return MessagesResult(summary=row, timeline=tl,
                          per_message=_per_message(parsed, ln) if keep_per_message else None,
                          problems=problems)


def write_messages(result: MessagesResult, summary_path: Path, timeline_path: Path,
                   per_message_path: Path | None = None) -> None:
    """Write the summary row, the timeline and (when given and kept) the per-message table."""
    arrow_io.write(result.summary_table(), summary_path)
    arrow_io.write(result.timeline, timeline_path)
    if per_message_path is not None:
        tbl = result.per_message if result.per_message is not None \
            else PER_MESSAGE_SCHEMA.empty_table()
        arrow_io.write(tbl, per_message_path)
