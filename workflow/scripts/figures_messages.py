"""Rule figures_messages: exact latency quantiles (+ per-run message timelines)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, latency_nines, message_timelines
from ombt_postmortem.logutil import job_logger

sm = snakemake
log = job_logger("figures_messages", sm.log[0])
opts = FigureOptions.from_config(sm.params.options)
table = pd.read_parquet(sm.input.table)
kw = {"params": sm.params.param_names, "title": sm.params.title, "log": log}
latency_nines(table, Path(sm.output.nines), opts, **kw)
out = getattr(sm.output, "timelines", None)  # absent with figures.per_run: false
if out:
    files = dict(zip(sm.params.run_ids, sm.input.timelines, strict=True))
    message_timelines(table, files, Path(out), opts, workers=sm.threads, **kw)
