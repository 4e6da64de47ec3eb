"""Rule influx_metrics: wire snakemake's input/params/output to the library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install

from pathlib import Path

from ombt_postmortem.arrow_io import keep_pandas_out
from ombt_postmortem.influx.metrics import InfluxConfig
from ombt_postmortem.influx.server import Limits
from ombt_postmortem.influx.stage import run_influx_stage, write_stage
from ombt_postmortem.logutil import check_strict, exit_on_sigterm

keep_pandas_out()  # this job only writes Arrow tables: pandas would cost 0.3 CPU s
exit_on_sigterm()
sm = snakemake
log_path = Path(sm.log[0])
log_path.parent.mkdir(parents=True, exist_ok=True)
log_path.write_text("")  # the stage and influxd append to it
cfg = InfluxConfig.from_dict(sm.params.influx, base_dir=sm.params.base_dir)
result = run_influx_stage(
    sm.params.run_id,
    Path(sm.input.ombt),
    Path(sm.input.tar[0]) if sm.input.tar else None,
    cfg,
    log_path,
    Limits.for_job(sm.threads, int(sm.resources.mem_mb), sm.params.overhead_mb),
)
ts = sm.output.get("timeseries")
write_stage(result, Path(sm.output.metrics), Path(ts) if ts else None)
for problem in result.problems:
    print(f"WARNING {problem}", file=sys.stderr)
check_strict(sm.params.strict, result.problems, f"run {sm.params.run_id}")
