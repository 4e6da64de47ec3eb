"""Rule campaign_notebook: wire snakemake's input/output to the library."""

from pathlib import Path

from ombt_postmortem.workflow_support.logutil import job_logger
from ombt_postmortem.workflow_support.notebook_run import execute_notebook

sm = snakemake
log = job_logger("campaign_notebook", sm.log.job)
out = Path(sm.output.notebook)
execute_notebook(Path(sm.input.template), out, Path(sm.input.table).parent,
                 kernel_log=Path(sm.log.kernel))
log.info("campaign %s: notebook executed into %s", sm.params.campaign, out)
