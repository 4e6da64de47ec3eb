"""Rule figures_campaign: load curves, resources against load, the table page."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import (
    FigureOptions,
    campaign_table_html,
    load_curves,
    resources_vs_load,
)
from ombt_postmortem.reportspec import figure_params
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("figures_campaign", sm.log[0])
opts = FigureOptions.from_config(sm.params.options)
table = pd.read_parquet(sm.input.table)
params = figure_params(table.attrs)
kw = {"params": params, "title": sm.wildcards.campaign, "log": log}
load_curves(table, Path(sm.output.load_curves), opts, **kw)
resources_vs_load(table, Path(sm.output.resources), opts, **kw)
campaign_table_html(table, Path(sm.output.table),
                    title=f"{sm.wildcards.campaign}: campaign table", params=params)
