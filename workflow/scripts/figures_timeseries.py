"""Rule figures_timeseries: per run, the bus hosts' CPU and memory over time."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, bus_timeseries
from ombt_postmortem.logutil import job_logger

sm = snakemake
log = job_logger("figures_timeseries", sm.log[0])
files = dict(zip(sm.params.run_ids, sm.input.series, strict=True))
bus_timeseries(pd.read_parquet(sm.input.table), files, Path(sm.output.timeseries),
               FigureOptions.from_config(sm.params.options),
               params=sm.params.param_names, title=sm.params.title, workers=sm.threads,
               log=log)
