"""Rule figures_comparison: the load curves and resources of all campaigns, one colour per
campaign."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, campaign_comparison, resources_comparison
from ombt_postmortem.logutil import job_logger

sm = snakemake
log = job_logger("figures_comparison", sm.log[0])
tables = {name: pd.read_parquet(path)
          for name, path in zip(sm.params.campaigns, sm.input.tables, strict=True)}
opts = FigureOptions.from_config(sm.params.options)
campaign_comparison(tables, Path(sm.output.load_curves), opts, params=sm.params.param_names,
                    log=log)
resources_comparison(tables, Path(sm.output.resources), opts, params=sm.params.param_names,
                     log=log)
