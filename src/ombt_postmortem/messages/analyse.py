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
from .arrays import Lines, id_codes, lines_of
from .discover import Discovery, discover, scan_folder
from .read import ParsedLogs, Salvage, parse_agent_logs
from .summary import SUMMARY_SCHEMA, empty_summary, latency_figures, matching
from .timeline import SCHEMA as TIMELINE_SCHEMA
from .timeline import timeline

#: the note of a run whose backup holds no agent log (ombt-orchestrator's: its agents
#: get no --output; ombt 3.0.0's notifiers and listeners write none either)
NO_AGENT_LOGS = ("no per-message logs in the backup (ombt writes them only for RPC agents "
                 "run with --output, which ombt-orchestrator does not give)")

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


def _salvage_notes(salvage: Salvage, repeated: int) -> list[str]:
    """What was read although written oddly (module :mod:`.read`), or counted once."""
    notes: list[str] = []
    if salvage.rejoined:
        notes.append(f"{salvage.rejoined} split records rejoined (ombt 3.0.0 writes an "
                     "\"unsynchronized clocks\" receipt on two lines)")
    if salvage.unescaped:
        notes.append(f"{salvage.unescaped} unescaped error strings read (ombt 3.0.0 writes "
                     "an error's text into its JSON unescaped)")
    if salvage.string_times:
        notes.append(f"{salvage.string_times} time values written as strings read as numbers")
    if salvage.other_times:
        notes.append(f"{salvage.other_times} time values that are not numbers left out "
                     "(their latencies unknown)")
    if repeated:
        notes.append(f"{repeated} repeated client lines (an id logged more than once) "
                     "counted once")
    return notes


def _notes(run: str, row: dict[str, Any], call_like: bool, first: Sequence[str] = ()
           ) -> list[str]:
    """What the figures show that a reader must know (not faults of the backup);
    ``first``: notes already known (what was salvaged)."""
    notes: list[str] = list(first)
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


def _count_repeats_once(ln: Lines, code: np.ndarray, n_ids: int) -> int:
    """Make every client line whose id an earlier client line already has (file
    order) no message line, so that the message is counted once;
    returns how many. One ``bincount`` when there is none (ombt's ids are unique)."""
    cm = ln.client & ln.message
    cc = code[cm]
    if not len(cc) or int(np.bincount(cc, minlength=n_ids).max()) <= 1:
        return 0
    rows = np.flatnonzero(cm)
    _, first = np.unique(cc, return_index=True)
    repeat = np.ones(len(cc), dtype=bool)
    repeat[first] = False
    ln.message[rows[repeat]] = False
    return int(repeat.sum())


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
    found = scan_folder(folder, run_id)
    if not folder.is_dir():
        found.problems.append(RunDataError(run_id, folder, "run folder missing").one_line())
    return _analyse(run_id, found, keep_per_message, threads)


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
        return _analyse(run_id, Discovery([], [], []), keep_per_message, threads,
                        folder_ok=False)
    return _analyse(run_id, discover(candidates, run_id), keep_per_message, threads)


def _analyse(run_id: str, found: Discovery, keep_per_message: bool, threads: int | None,
             folder_ok: bool = True) -> MessagesResult:
    """``threads``: files read and parsed at once (default: the CPUs this process
    may use; give the job's ``threads`` when several jobs share a machine).
    No agent log: counts 0, figures NaN, no problem, the note :data:`NO_AGENT_LOGS`
    (unless the run's folder is unusable: that is the ombt stage's problem). An
    unreadable log or invalid JSON lines: one problem line naming the file; the rest
    still counts. An empty or binary candidate file: a note naming it.
    """
    parsed = parse_agent_logs(found.logs, run_id, threads=threads)
    problems = found.problems + parsed.problems
    if not parsed.logs:
        row = empty_summary()
        row["msg_problems"] = "; ".join(problems)
        notes = list(found.notes)
        if folder_ok and not problems:
            notes.append(RunDataError(run_id, None, NO_AGENT_LOGS).one_line())
        row["msg_notes"] = "; ".join(notes)
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
    repeated = _count_repeats_once(ln, code, n_ids)
    row.update(matching(ln, code, n_ids, n_servers, fanout))
    del code
    row.update(latency_figures(ln))
    tl = timeline(ln)
    call_like = any(n == "test_call" for n in parsed.test_names)
    first = _salvage_notes(parsed.salvage, repeated)
    row["msg_notes"] = "; ".join([*found.notes, *_notes(run_id, row, call_like, first)])
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
