"""Rule figures_comparison: the load curves of all campaigns, one colour per campaign."""

import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.figures import FigureOptions, campaign_comparison
from ombt_postmortem.logutil import job_logger

sm = snakemake
log = job_logger("figures_comparison", sm.log[0])
tables = {name: pd.read_parquet(path)
          for name, path in zip(sm.params.campaigns, sm.input.tables, strict=True)}
campaign_comparison(tables, Path(sm.output.load_curves),
                    FigureOptions.from_config(sm.params.options),
                    params=sm.params.param_names, log=log)
