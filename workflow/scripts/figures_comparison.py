"""Rule figures_comparison: the load curves and resources of all campaigns, one colour per
campaign."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, campaign_comparison, resources_comparison
from ombt_postmortem.reportspec import figure_params
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("figures_comparison", sm.log[0])
# results/<campaign>/campaign.parquet, in the configured campaigns' order
tables = {Path(path).parent.name: pd.read_parquet(path) for path in sm.input.tables}
param_names = {name: figure_params(t.attrs) for name, t in tables.items()}
opts = FigureOptions.from_config(sm.params.options)
campaign_comparison(tables, Path(sm.output.load_curves), opts, params=param_names,
                    log=log)
resources_comparison(tables, Path(sm.output.resources), opts, params=param_names,
                     log=log)
