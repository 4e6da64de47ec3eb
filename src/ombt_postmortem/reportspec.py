"""What the report shows of each figure, and what a figure job reads instead of job
parameters: light to import (no matplotlib, no pandas), read by the workflow.

In ``snakemake --report`` every figure of a kind sits in its campaign's category and
its kind's subcategory, listed in a table with one column per label:
:func:`report_labels` turns a figure's file name (``key=value`` parts joined by
``__``, see :mod:`ombt_postmortem.labels`) into those columns, so that the runs are
browsed by their parameters (``nbr_clients``, ``call_type``...) rather than by a
150-character run id.

The figure jobs take no run-dependent job parameters (Snakemake's report prints a
job's parameters under every figure it made): the run-parameter columns come from
the campaign table itself (:func:`figure_params`), the per-run files are matched to
their run by their folder (:func:`files_by_run`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .labels import MAX_LABEL, SEPARATOR
from .layout import run_key

#: the label column of a figure whose name is not ``key=value`` parts
FIGURE = "figure"
#: the contact sheets of a per-run kind (ombt_postmortem.figures.sheet): all-runs.png,
#: or all-runs-1.png, all-runs-2.png...; in the report, every label column reads ALL_RUNS
#: (with the page number)
SHEET = "all-runs"
_SHEET = re.compile(rf"{SHEET}(-(\d+))?")
ALL_RUNS = "(all runs)"
#: params.json's key naming the run's folder: a column of the table, not a parameter
BACKUP_DIR = "backup_dir"
#: ``table.attrs`` key of the run-parameter columns (ombt_postmortem.campaign.table.PARAM_COLUMNS)
PARAM_COLUMNS = "param_columns"


def is_sheet(name: str) -> bool:
    """Whether ``name`` (a file's stem) is a contact sheet's."""
    return _SHEET.fullmatch(name) is not None


def report_labels(name: str, keys: Sequence[str] = ()) -> dict[str, str]:
    """The report's label columns of the figure file ``name`` (without extension).

    ``nbr_clients=4__call_type=rpc-call`` -> ``{"nbr_clients": "4", "call_type":
    "rpc-call"}``, in the name's order. A name that is not made of ``key=value``
    parts (a run folder, when labels clash) or may have been cut to
    :data:`~ombt_postmortem.labels.MAX_LABEL` characters is one column,
    ``{"figure": name}``. A contact sheet has :data:`ALL_RUNS` in each of ``keys``
    (the campaign's varying parameters: the per-run figures' columns), with its page
    number when there are several.
    """
    sheet = _SHEET.fullmatch(name)
    if sheet:
        text = ALL_RUNS if sheet.group(2) is None else f"(all runs, page {sheet.group(2)})"
        return {k: text for k in keys} or {FIGURE: text}
    parts = name.split(SEPARATOR)
    pairs = [p.partition("=") for p in parts]
    if len(name) > MAX_LABEL - 12 or any(not sep or not key for key, sep, _ in pairs):
        return {FIGURE: name}
    out = {key: value for key, _, value in pairs}
    return out if len(out) == len(pairs) else {FIGURE: name}


def figure_params(attrs: Mapping[str, Any]) -> list[str]:
    """The run-parameter columns of a campaign table (its ``attrs``, kept by parquet),
    ``backup_dir`` aside: what the figures group, colour and name runs by."""
    cols = attrs.get(PARAM_COLUMNS)
    if cols is None:
        raise ValueError("campaign table without its parameter columns (attrs "
                         f"{PARAM_COLUMNS!r}): written by an older ombt-postmortem? rerun "
                         "the campaign_table rule")
    return [c for c in cols if c != BACKUP_DIR]


def files_by_run(run_ids: Iterable[str], paths: Sequence[str | Path]) -> dict[str, str]:
    """run_id -> its file among ``paths`` (``.../runs/<run key>/<file>``), for every run
    id that has one; a file of no listed run is an error (the inputs and the table
    disagree)."""
    by_key = {Path(p).parent.name: str(p) for p in paths}
    out = {rid: by_key.pop(run_key(rid)) for rid in run_ids if run_key(rid) in by_key}
    if by_key:
        raise ValueError(f"per-run files of no run of the table: {sorted(by_key.values())}")
    return out
