"""Rule campaign_table: wire snakemake's input/params/output to the library."""

from pathlib import Path

from ombt_postmortem.campaign import RunOutputs, write_campaign_outputs
from ombt_postmortem.params import load_params_file
from ombt_postmortem.workflow_support.logutil import job_logger

sm = snakemake
log = job_logger("campaign_table", sm.log[0])
write_campaign_outputs(
    runs=load_params_file(Path(sm.input.params)),
    inputs=RunOutputs.of(ombt=sm.input.ombt, hist=sm.input.hist, metrics=sm.input.metrics,
                         messages=sm.input.messages),
    outputs={k: Path(v) for k, v in sm.output.items()},
    name=sm.params.campaign,
    strict=sm.params.strict,
    log=log,
    campaign_dir=Path(sm.input.params).parent,  # its folders params.json does not name
)
