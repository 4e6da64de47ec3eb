"""Rule compare_campaigns: two campaigns compared run by run (ombt_postmortem.compare)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pandas as pd

from ombt_postmortem.compare import CompareOptions, Side, compare_campaigns
from ombt_postmortem.compare.output import format_table, write_comparison
from ombt_postmortem.layout import RUNS_DIR
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("compare_campaigns", sm.log[0])


def side(spec, table_path):
    from ombt_postmortem.results import open_campaign

    name, results, folder = spec["name"], spec["results"], spec["folder"]
    c = open_campaign(results)
    return Side(name=name, table=pd.read_parquet(table_path), params=c.params,
                runs_dir=Path(results) / RUNS_DIR, campaign_folder=Path(folder) if folder else None)


cmp = compare_campaigns(side(sm.params.baseline, sm.input.baseline),
                        side(sm.params.candidate, sm.input.candidate),
                        CompareOptions.from_config(sm.params.options))
files = write_comparison(cmp, Path(sm.output.deltas).parent, fmt=sm.params.fmt,
                         dpi=sm.params.dpi)
log.info("%s", format_table(cmp))
