"""The campaign table from the runs' per-run rows and their params (pure: no file is
read or written here; :mod:`.write` does that)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..labels import run_labels
from ..layout import (
    BACKUP_NOTES,
    HEAD_COLUMNS,
    INFLUX_NOTES,
    INFLUX_PROBLEMS,
    LABEL,
    MSG_NOTES,
    MSG_PROBLEMS,
    SIDES,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_PARTIAL,
)
from ..ombt.stats import SIDE_COLUMNS
from ..params import Run


def side_columns() -> list[str]:
    return [f"{s}_{c}" for s in SIDES for c in SIDE_COLUMNS]


#: the headline latency quantiles of each side: ``<side>_latency_<q>_ms``
HEADLINE_QUANTILES = ("p50", "p90", "p99")
#: the per-message figures (messages.parquet) that are each side's exact quantiles: the
#: client's time from send to reply (a round trip for rpc-call, the send alone for
#: rpc-cast), the server's one-way time from the client's send to its receipt, as
#: ombt's own latency of each side
EXACT_PREFIX = {"client": "rtt", "server": "oneway"}
#: ``<side>_latency_quantiles``: where the headline quantiles of the row come from
EXACT, ESTIMATE = "exact", "estimate"


def headline_columns() -> list[str]:
    return [f"{s}_latency_{q}_ms" for s in SIDES for q in HEADLINE_QUANTILES] + [
        f"{s}_latency_quantiles" for s in SIDES]


def headline_latency(side: str, ombt: Mapping[str, Any], messages: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """``<side>_latency_p50/p90/p99_ms``: the exact quantiles of every message (the
    messages stage's ``rtt_*``/``oneway_*``) when all three are known, else ombt's
    decade-histogram estimates (``<side>_latency_<q>_est_ms``); and
    ``<side>_latency_quantiles``: ``exact``, ``estimate`` or "" (no latency)."""
    exact = [_finite_or_nan(messages.get(f"{EXACT_PREFIX[side]}_{q}_ms"))
             for q in HEADLINE_QUANTILES]
    est = [_finite_or_nan(ombt.get(f"{side}_latency_{q}_est_ms")) for q in HEADLINE_QUANTILES]
    if all(math.isfinite(v) for v in exact):
        values, source = exact, EXACT
    else:
        values, source = est, ESTIMATE if any(math.isfinite(v) for v in est) else ""
    out: dict[str, Any] = {f"{side}_latency_{q}_ms": v
                           for q, v in zip(HEADLINE_QUANTILES, values, strict=True)}
    out[f"{side}_latency_quantiles"] = source
    return out


def _finite_or_nan(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def combine_status(ombt_status: str, other_problems: Sequence[str],
                   other_data: bool = False) -> str:
    """failed if ombt failed and no later stage found data (``other_data``: the agents'
    own logs still gave message figures); partial if ombt failed or was partial, or a
    later stage had a problem."""
    if ombt_status == STATUS_FAILED and not other_data:
        return STATUS_FAILED
    if ombt_status in (STATUS_FAILED, STATUS_PARTIAL) or any(other_problems):
        return STATUS_PARTIAL
    return STATUS_OK


def build_table(
    runs: Sequence[Run],
    ombt: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    messages: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per run of params.json, in its order.

    ``ombt`` maps run_id to the run's ombt.parquet row; ``metrics`` maps run_id
    to its metrics.parquet row (absent when the influx stage is off); ``messages``
    to its messages.parquet row (absent when the messages stage is off). A params
    key named like a column of the table (``status``, ``client_rate``, a metric
    ...) is kept as ``param_<key>``: neither value is lost.
    """
    param_keys: list[str] = []
    for run in runs:
        for k in run.params:
            if k not in param_keys:
                param_keys.append(k)
    reserved = _reserved(ombt, metrics, messages)
    labels = run_labels(runs)
    rows = []
    for run in runs:
        row: dict[str, Any] = {"run_id": run.run_id, LABEL: labels[run.run_id]}
        for k in param_keys:
            row[_param_column(k, reserved)] = run.params.get(k)
        o = dict(ombt.get(run.run_id) or {})
        problems = [p for p in str(o.get("problems") or "").split("; ") if p]
        ombt_status = str(o.get("status") or STATUS_FAILED)
        if not o:
            problems.append(f"run {run.run_id}: no ombt statistics were produced")
        m = dict(metrics.get(run.run_id) or {}) if metrics is not None else {}
        later = [p for p in str(m.pop(INFLUX_PROBLEMS, "") or "").split("; ") if p]
        notes = str(m.pop(INFLUX_NOTES, "") or "")
        g = dict(messages.get(run.run_id) or {}) if messages is not None else {}
        later += [p for p in str(g.pop(MSG_PROBLEMS, "") or "").split("; ") if p]
        has_messages = bool(g.get("msg_sent") or g.get("msg_received"))
        row["status"] = combine_status(ombt_status, later, has_messages)
        row["problems"] = "; ".join(problems + later)
        for k in ["n_clients", "n_servers", *side_columns()]:
            row[k] = o.get(k, math.nan)
        for side in SIDES:
            row.update(headline_latency(side, o, g))
        for k, v in o.items():
            if k not in row and k not in ("status", "problems", "run_id"):
                row[k] = v
        if o:
            backup = [n for n in str(o.get(BACKUP_NOTES) or "").split("; ") if n]
            row[BACKUP_NOTES] = "; ".join(backup + count_notes(run, o, ombt_status))
        for k, v in m.items():
            if k != "run_id":
                row[k] = v
        if metrics is not None:
            row[INFLUX_NOTES] = notes
        for k, v in g.items():
            if k != "run_id":
                row[k] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["run_id", LABEL, *HEAD_COLUMNS, *side_columns(),
                                   *headline_columns()])
    df = _parquet_safe(df)
    df.attrs[PARAM_COLUMNS] = [_param_column(k, reserved) for k in param_keys]
    return df


#: params.json's agent counts, and the controller's column of each
COUNT_PARAMS = (("nbr_clients", "n_clients", "clients"), ("nbr_servers", "n_servers", "servers"))


def count_notes(run: Run, ombt: Mapping[str, Any], ombt_status: str) -> list[str]:
    """A note per agent count of params.json that is not the controller's: the table's
    ``n_clients``/``n_servers`` are the controller's (the agents that reported), never
    params.json's. In incremental mode (entries with ``iteration_id``), ombt-orchestrator
    rewrites ``nbr_clients``/``nbr_servers`` into the step's deltas after naming the
    folder (msimonin/ombt-orchestrator ``orchestrator/campaign.py``, incremental), while
    the controller counts the whole group so far: the note says so."""
    if ombt_status == STATUS_FAILED:
        return []  # no controller count to compare with; the run's problems say why
    incremental = "iteration_id" in run.params
    notes = []
    for key, column, what in COUNT_PARAMS:
        declared, counted = run.params.get(key), ombt.get(column)
        if not _count(declared) or not _count(counted) or int(declared) == int(counted):
            continue
        note = (f"run {run.run_id}: params.json's {key} is {int(declared)}, the controller "
                f"files count {int(counted)} {what} (the table's n_{what})")
        if incremental:
            note += (": in incremental mode params.json's counts are deltas (the agents "
                     "added at this step), the controller's the whole group so far")
        notes.append(note)
    return notes


def _count(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) \
        and float(v).is_integer()


#: ``table.attrs[PARAM_COLUMNS]``: the run-parameter columns of a table from build_table
PARAM_COLUMNS = "param_columns"


def _reserved(*stage_rows: Mapping[str, Mapping[str, Any]] | None) -> set[str]:
    """The table's own column names: those of every stage's rows, and the fixed ones."""
    reserved = {"run_id", LABEL, *HEAD_COLUMNS, *side_columns(), *headline_columns(),
                INFLUX_NOTES, MSG_NOTES, BACKUP_NOTES}
    for rows in stage_rows:
        for r in (rows or {}).values():
            reserved.update(r or {})
    return reserved


def _param_column(key: str, reserved: set[str]) -> str:
    return f"param_{key}" if key in reserved else key


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Params may mix types across runs (1 and "1", lists...): keep them readable."""
    for col in df.columns:
        if df[col].dtype != object:
            continue
        kinds = {type(v) for v in df[col] if v is not None and not _isnan(v)}
        if kinds <= {int, float} or kinds <= {bool} or kinds <= {str}:
            continue
        df[col] = [None if v is None or _isnan(v)
                   else (v if isinstance(v, str) else json.dumps(v, sort_keys=True))
                   for v in df[col]]
    return df


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)
