"""Rule campaign_table: wire snakemake's input/params/output to the library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install

from pathlib import Path

from ombt_postmortem.campaign_io import write_campaign_outputs
from ombt_postmortem.logutil import job_logger

sm = snakemake
log = job_logger("campaign_table", sm.log[0])
write_campaign_outputs(
    campaign_dir=Path(sm.params.campaign_dir),
    runs_dir=Path(sm.params.runs_dir),
    with_metrics=bool(sm.input.metrics),
    outputs={k: Path(v) for k, v in sm.output.items()},
    strict=sm.params.strict,
    log=log,
)
