"""Rule figures_latency: latency overlay at equal load (+ per-run histograms)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, latency_histograms, latency_overlay
from ombt_postmortem.figures.sheet import write_sheets
from ombt_postmortem.reportspec import figure_params, files_by_run
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("figures_latency", sm.log[0])
opts = FigureOptions.from_config(sm.params.options)
table = pd.read_parquet(sm.input.table)
files = files_by_run(table["run_id"], sm.input.hists)
kw = {"params": figure_params(table.attrs), "title": sm.wildcards.campaign, "log": log}
latency_overlay(table, files, Path(sm.output.overlay), opts, **kw)
hist_dir = getattr(sm.output, "hist", None)  # absent with figures.per_run: false
if hist_dir:
    latency_histograms(table, files, Path(hist_dir), opts, workers=sm.threads, **kw)
    write_sheets(hist_dir, log)
