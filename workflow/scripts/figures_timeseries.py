"""Rule figures_timeseries: per run, the bus hosts' CPU and memory over time."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, bus_timeseries
from ombt_postmortem.figures.sheet import write_sheets
from ombt_postmortem.reportspec import figure_params, files_by_run
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("figures_timeseries", sm.log[0])
table = pd.read_parquet(sm.input.table)
files = files_by_run(table["run_id"], sm.input.series)
bus_timeseries(table, files, Path(sm.output.timeseries),
               FigureOptions.from_config(sm.params.options),
               params=figure_params(table.attrs), title=sm.wildcards.campaign,
               workers=sm.threads, log=log)
write_sheets(sm.output.timeseries, log)
