"""Rule latency_hgrm: a campaign's per-run exact latency distributions as .hgrm files."""

from pathlib import Path

import pandas as pd

from ombt_postmortem.compare.distributions import write_campaign_hgrms
from ombt_postmortem.layout import RUNS_DIR
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("latency_hgrm", sm.log[0])
table_path = Path(sm.input.table)
missing = write_campaign_hgrms(pd.read_parquet(table_path), table_path.parent / RUNS_DIR,
                               Path(sm.params.folder), Path(sm.output[0]))
for r in missing.itertuples():
    log.warning("run %s (%s): no .hgrm: %s", r.label, r.run_id, r.reason)
