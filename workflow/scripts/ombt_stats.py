"""Rule ombt_stats: wire snakemake's input/params/output to the library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install

from pathlib import Path

from ombt_postmortem.arrow_io import keep_pandas_out
from ombt_postmortem.logutil import check_strict, job_logger
from ombt_postmortem.ombt.run import analyse_files, write_run_stats

keep_pandas_out()  # this job only writes Arrow tables: pandas would cost 0.3 CPU s
sm = snakemake
run_id = sm.params.run_id
log = job_logger("ombt_stats", sm.log[0])
stats = analyse_files(run_id, [Path(p) for p in sm.input.logs],
                      folder=Path(sm.params.folder) if sm.params.folder else None,
                      folder_problem=sm.params.folder_problem or None)
write_run_stats(stats, Path(sm.output.summary), Path(sm.output.agents), Path(sm.output.hist))
log.info("run %s: status %s, %d clients, %d servers", run_id, stats.status,
         stats.summary["n_clients"], stats.summary["n_servers"])
for problem in stats.problems:
    log.warning("%s", problem)
check_strict(sm.params.strict, stats.problems, f"run {run_id}")
