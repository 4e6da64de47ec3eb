"""Stage 3 as files: read every run's parquet, write the campaign's outputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from . import arrow_io as aio
from .campaign import (
    INFLUX_NOTES,
    Distribution,
    all_stats,
    build_table,
    distributions,
    params_calculated,
    write_notebook_json,
    write_table,
)
from .logutil import check_strict
from .params import load_params

# The notebook grouped its InfluxDB metrics by measurement in params_calculated.json.
NOTEBOOK_METRIC_GROUPS = {
    "min_usage_idle_ombt_server": "cpu",
    "min_usage_idle_bus": "cpu",
    "messages_delivered": "rabbitmq_overview",
    "queues": "rabbitmq_overview",
    "connections": "rabbitmq_overview",
    "consumers": "rabbitmq_overview",
    "exchanges": "rabbitmq_overview",
    "mem_used": "rabbitmq_node",
    "fd_used": "rabbitmq_node",
    "sockets_used": "rabbitmq_node",
}
PROBLEM_COLUMNS = ["run_id", "status", "problems"]


def write_campaign_outputs(
    campaign_dir: Path,
    runs_dir: Path,
    with_metrics: bool,
    outputs: dict[str, Path],
    strict: bool = False,
    log: logging.Logger | None = None,
) -> pd.DataFrame:
    """Build and write campaign.parquet/csv, problems.csv and the notebook JSON files."""
    log = log or logging.getLogger(__name__)
    runs = load_params(campaign_dir)
    ombt: dict[str, dict[str, Any]] = {}
    dists: dict[str, dict[str, Distribution]] = {}
    metrics: dict[str, dict[str, Any]] | None = {} if with_metrics else None
    # pyarrow straight to Python values: 3 small files per run, thousands of runs
    for run in runs:
        folder = runs_dir / run.key
        ombt[run.run_id] = aio.read_first_row(folder / "ombt.parquet")
        dists[run.run_id] = distributions(aio.read(folder / "latency_hist.parquet").to_pydict())
        if metrics is not None:
            metrics[run.run_id] = aio.read_first_row(folder / "metrics.parquet")
    table = build_table(runs, ombt, metrics)
    write_table(table, outputs["parquet"], outputs["csv"])
    metric_cols = [c for c in NOTEBOOK_METRIC_GROUPS if c in table.columns]
    extra_metrics = [c for c in table.columns if c in _metric_columns(metrics)]
    write_notebook_json(
        outputs["params_calculated"], outputs["all_stats"],
        params_calculated(runs, table, dists, {c: NOTEBOOK_METRIC_GROUPS.get(c, "influx")
                                               for c in extra_metrics}),
        all_stats(table, metric_cols or extra_metrics),
    )
    bad = table[table["status"] != "ok"][PROBLEM_COLUMNS]
    bad.to_csv(outputs["problems"], index=False)
    log.info("campaign %s: %d runs, %d ok, %d partial, %d failed", campaign_dir, len(table),
             int((table["status"] == "ok").sum()), int((table["status"] == "partial").sum()),
             int((table["status"] == "failed").sum()))
    for r in bad.itertuples():
        log.warning("%s: %s", r.status, r.problems)
    check_strict(strict, [str(p) for p in bad["problems"]], f"campaign {campaign_dir}")
    return table


def _metric_columns(metrics: dict[str, dict[str, Any]] | None) -> set[str]:
    """The InfluxDB metric columns found in the runs' metrics.parquet rows."""
    skip = {"run_id", INFLUX_NOTES, "influx_problems"}
    return {k for row in (metrics or {}).values() for k in row if k not in skip}


def problems_summary(results_dir: Path | str, campaigns: list[str] | dict[str, Any]) -> list[str]:
    """One line per campaign whose table exists: how many runs have problems, and where.

    e.g. ``campaign rabbit: 3 of 200 runs have problems (1 failed, 2 partial), see
    results/rabbit/problems.csv``. What the workflow prints when it ends.
    """
    lines = []
    for name in campaigns:
        base = Path(results_dir) / name
        table, problems = base / "campaign.parquet", base / "problems.csv"
        if not table.is_file() or not problems.is_file():
            continue
        status = pd.read_parquet(table, columns=["status"])["status"]
        failed = int((status == "failed").sum())
        partial = int((status == "partial").sum())
        if failed + partial == 0:
            lines.append(f"campaign {name}: all {len(status)} runs ok ({table})")
        else:
            lines.append(f"campaign {name}: {failed + partial} of {len(status)} runs have "
                         f"problems ({failed} failed, {partial} partial), see {problems}")
    return lines
