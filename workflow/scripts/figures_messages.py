"""Rule figures_messages: exact latency quantiles (+ per-run message timelines)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, latency_nines, message_timelines
from ombt_postmortem.figures.sheet import write_sheets
from ombt_postmortem.reportspec import figure_params, files_by_run
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("figures_messages", sm.log[0])
opts = FigureOptions.from_config(sm.params.options)
table = pd.read_parquet(sm.input.table)
kw = {"params": figure_params(table.attrs), "title": sm.wildcards.campaign, "log": log}
latency_nines(table, Path(sm.output.nines), opts, **kw)
out = getattr(sm.output, "timelines", None)  # absent with figures.per_run: false
if out:
    files = files_by_run(table["run_id"], sm.input.timelines)
    message_timelines(table, files, Path(out), opts, workers=sm.threads, **kw)
    write_sheets(out, log)
