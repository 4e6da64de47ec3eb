"""The campaign_table stage as files: read every run's per-run files, write the
campaign's (the table as parquet and CSV, problems.csv, columns.csv, layout.json and the
seed notebook's files), and the summary the workflow prints when it ends."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import arrow_io as aio
from .. import columns, layout
from ..backup import unlisted_run_folders
from ..errors import DATA_FAULT, check_strict
from ..layout import (
    INFLUX_NOTES,
    INFLUX_PROBLEMS,
    STATUS_FAILED,
    STATUS_NOT_ANALYSED,
    STATUS_OK,
    STATUS_PARTIAL,
)
from ..params import Run, load_params
from .legacy import Distribution, distributions, legacy_files
from .table import PARAM_COLUMNS, build_table

#: the columns of problems.csv
PROBLEM_COLUMNS = ["run_id", layout.LABEL, "status", "problems"]


@dataclass(frozen=True)
class RunOutputs:
    """The per-run files the campaign table reads, one list per kind in params.json order.

    ``metrics`` is empty when the InfluxDB stage is off, ``messages`` when the
    per-message stage is.
    """

    ombt: tuple[Path, ...]
    hist: tuple[Path, ...]
    metrics: tuple[Path, ...] = ()
    messages: tuple[Path, ...] = ()

    @classmethod
    def of(cls, **kinds: Sequence[str | Path]) -> RunOutputs:
        return cls(**{k: tuple(Path(p) for p in v) for k, v in kinds.items()})

    @classmethod
    def in_layout(cls, runs: Sequence[Run], cdir: layout.CampaignDir,
                  with_metrics: bool, with_messages: bool = False) -> RunOutputs:
        """Where the workflow writes them under ``cdir`` (for use without Snakemake)."""
        def files(name: str) -> tuple[Path, ...]:
            return tuple(cdir.run_file(r.key, name) for r in runs)

        return cls(files(layout.OMBT), files(layout.HIST),
                   files(layout.METRICS) if with_metrics else (),
                   files(layout.MESSAGES) if with_messages else ())

    def check(self, runs: Sequence[Run]) -> None:
        for kind in ("ombt", "hist", "metrics", "messages"):
            got = getattr(self, kind)
            if got and len(got) != len(runs):
                raise ValueError(f"{len(got)} {kind} file(s) for {len(runs)} runs")


def write_campaign_outputs(
    runs: Sequence[Run],
    inputs: RunOutputs,
    outputs: Mapping[str, Path],
    name: str = "",
    strict: bool = False,
    log: logging.Logger | None = None,
    campaign_dir: Path | str | None = None,
) -> pd.DataFrame:
    """Build and write campaign.parquet/csv, problems.csv, the seed notebook's files
    (params_calculated.json, all_stats.json), columns.csv and layout.json (``outputs``
    keyed as :data:`ombt_postmortem.layout.CAMPAIGN_FILES`).

    ``inputs`` holds each run's per-run files, in the order of ``runs``. With
    ``campaign_dir``, the folders of it that look like a run's but that params.json
    does not name (a failed run of the orchestrator) are listed in problems.csv,
    status :data:`~ombt_postmortem.layout.STATUS_NOT_ANALYSED`
    (:func:`ombt_postmortem.backup.unlisted_run_folders`).
    """
    log = log or logging.getLogger(__name__)
    inputs.check(runs)
    ombt: dict[str, dict[str, Any]] = {}
    dists: dict[str, dict[str, Distribution]] = {}
    metrics: dict[str, dict[str, Any]] | None = {} if inputs.metrics else None
    messages: dict[str, dict[str, Any]] | None = {} if inputs.messages else None
    # pyarrow straight to Python values: 3 small files per run, thousands of runs
    for i, run in enumerate(runs):
        ombt[run.run_id] = aio.read_first_row(inputs.ombt[i])
        dists[run.run_id] = distributions(aio.read(inputs.hist[i]).to_pydict())
        if metrics is not None:
            metrics[run.run_id] = aio.read_first_row(inputs.metrics[i])
        if messages is not None:
            messages[run.run_id] = aio.read_first_row(inputs.messages[i])
    table = build_table(runs, ombt, metrics, messages)
    write_table(table, outputs["parquet"], outputs["csv"])
    params_calculated_text, all_stats_text = legacy_files(runs, table, dists,
                                                          _metric_columns(metrics))
    outputs["params_calculated"].write_text(params_calculated_text)
    outputs["all_stats"].write_text(all_stats_text)
    bad = table[table["status"] != STATUS_OK][PROBLEM_COLUMNS]
    unlisted = [] if campaign_dir is None else \
        unlisted_run_folders(campaign_dir, [r.run_id for r in runs])
    if unlisted:
        bad = pd.concat([bad, pd.DataFrame(
            [{"run_id": u.name, layout.LABEL: "", "status": STATUS_NOT_ANALYSED,
              "problems": u.reason()} for u in unlisted], columns=PROBLEM_COLUMNS)],
            ignore_index=True)
    bad.to_csv(outputs["problems"], index=False)
    if "columns" in outputs:
        columns.write_csv(columns.describe(table.columns, table.attrs[PARAM_COLUMNS],
                                           _metric_columns(metrics)),
                          Path(outputs["columns"]))
    if "layout" in outputs:
        write_layout_marker(Path(outputs["layout"]), name, len(table),
                            table.attrs[PARAM_COLUMNS])
    counts = {s: int((table["status"] == s).sum())
              for s in (STATUS_OK, STATUS_PARTIAL, STATUS_FAILED)}
    log.info("campaign %s: %d runs, %s", name, len(table),
             ", ".join(f"{n} {s}" for s, n in counts.items()))
    for r in bad.itertuples():
        log.warning("%s: %s", r.status, r.problems, extra=DATA_FAULT)
    check_strict(strict, [str(p) for p in bad["problems"]], f"campaign {name}")
    return table


def write_campaign(campaign_dir: Path | str, cdir: layout.CampaignDir, with_metrics: bool,
                   with_messages: bool = False, strict: bool = False,
                   log: logging.Logger | None = None) -> pd.DataFrame:
    """:func:`write_campaign_outputs` over the workflow's layout, without Snakemake."""
    runs = load_params(campaign_dir)
    inputs = RunOutputs.in_layout(runs, cdir, with_metrics, with_messages)
    return write_campaign_outputs(runs, inputs, cdir.campaign_files(), cdir.root.name,
                                  strict, log, campaign_dir=campaign_dir)


def write_table(df: pd.DataFrame, parquet: Path, csv: Path) -> None:
    """The campaign table as parquet and as CSV."""
    parquet.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(parquet, index=False)
    df.to_csv(csv, index=False)


def write_layout_marker(path: Path, name: str, n_runs: int, params: Sequence[str] = ()) -> None:
    """layout.json: which layout wrote this results folder, and the table's run-parameter
    columns (``params``, in params.json order); read by the results API."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"layout_version": layout.LAYOUT_VERSION, "campaign": name,
                                "runs": n_runs, "params": list(params)}, indent=2) + "\n",
                    encoding="utf-8")


def _metric_columns(metrics: dict[str, dict[str, Any]] | None) -> set[str]:
    """The InfluxDB metric columns found in the runs' metrics.parquet rows."""
    skip = {"run_id", INFLUX_NOTES, INFLUX_PROBLEMS}
    return {k for row in (metrics or {}).values() for k in row if k not in skip}


#: the summary lists at most this many runs with problems per campaign
SUMMARY_RUNS = 10
#: and cuts each one's reason to this many characters
SUMMARY_REASON_CHARS = 150


def split_problems(problems: str) -> list[str]:
    """A run's ``problems`` cell into its problems: they are "; "-joined, each
    "run <id> (<file>): <reason>" (a reason may hold "; " itself)."""
    return [p for p in re.split(r"; (?=run )", str(problems or "")) if p]


def short_problem(problems: str, n: int) -> str:
    """The first problem of a run without "run <id> (<file>): " (the run's label names
    it), cut to ``n`` characters; "(+N more)" when there are others."""
    found = split_problems(problems)
    if not found:
        return ""
    first = found[0]
    if first.startswith("run ") and "): " in first:
        first = first.split("): ", 1)[1]
    text = first if len(first) <= n else first[: n - 3] + "..."
    return text + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")


def problems_summary(results_dir: Path | str, campaigns: list[str] | dict[str, Any]) -> list[str]:
    """What the workflow prints when it ends, per campaign whose table exists: how many
    runs have problems and where they are listed, then up to :data:`SUMMARY_RUNS` of
    them, one line each (label, status, first problem, cut), and the run folders that
    params.json does not name.

    e.g. ``campaign rabbit: 3 of 200 runs have problems (1 failed, 2 partial), see
    results/rabbit/problems.csv``, then ``  nbr_clients=4 (partial): 27 client
    message(s) failed; errors: 1 kind: 27 x "Timed out waiting ... <id>"``.
    """
    lines = []
    for name in campaigns:
        cdir = layout.CampaignDir.of(results_dir, name)
        table, problems = cdir.file(layout.CAMPAIGN_PARQUET), cdir.file(layout.PROBLEMS)
        if not table.is_file() or not problems.is_file():
            continue
        status = pd.read_parquet(table, columns=["status"])["status"]
        failed = int((status == STATUS_FAILED).sum())
        partial = int((status == STATUS_PARTIAL).sum())
        listed = pd.read_csv(problems, dtype=str, keep_default_na=False)
        if failed + partial == 0:
            every = f"all {len(status)} runs" if len(status) != 1 else "its 1 run"
            lines.append(f"campaign {name}: {every} {STATUS_OK} ({table})")
        else:
            have = "has" if failed + partial == 1 else "have"
            lines.append(f"campaign {name}: {failed + partial} of {len(status)} "
                         f"run{'' if len(status) == 1 else 's'} {have} problems ({failed} "
                         f"{STATUS_FAILED}, {partial} {STATUS_PARTIAL}), see {problems}")
            bad = listed[listed["status"] != STATUS_NOT_ANALYSED]
            bad = pd.concat([bad[bad["status"] == STATUS_FAILED],
                             bad[bad["status"] != STATUS_FAILED]])
            for r in bad.head(SUMMARY_RUNS).itertuples():
                lines.append(f"  {r.label or r.run_id} ({r.status}): "
                             f"{short_problem(r.problems, SUMMARY_REASON_CHARS)}")
            if len(bad) > SUMMARY_RUNS:
                lines.append(f"  ... and {len(bad) - SUMMARY_RUNS} more")
        unlisted = listed.loc[listed["status"] == STATUS_NOT_ANALYSED, "run_id"].tolist()
        if unlisted:
            shown = ", ".join(unlisted[:5]) + (f" and {len(unlisted) - 5} more"
                                               if len(unlisted) > 5 else "")
            lines.append(f"campaign {name}: {len(unlisted)} run folder(s) that params.json "
                         f"does not name {STATUS_NOT_ANALYSED} (failed runs?): {shown}; "
                         f"see {problems}")
    return lines
