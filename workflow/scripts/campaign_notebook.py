"""Rule campaign_notebook: wire snakemake's input/output to the library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install

from pathlib import Path

import ombt_postmortem
from ombt_postmortem.logutil import job_logger
from ombt_postmortem.notebook_run import execute_notebook

sm = snakemake
log = job_logger("campaign_notebook", sm.log.job)
out = Path(sm.output.notebook)
execute_notebook(Path(sm.input.template), out, Path(sm.input.table).parent,
                 Path(ombt_postmortem.__file__).parents[1],  # the library imported here
                 kernel_log=Path(sm.log.kernel))
log.info("campaign %s: notebook executed into %s", sm.params.campaign, out)
