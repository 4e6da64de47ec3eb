"""Rule messages: wire snakemake's input/params/output to the library."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, also without pip install

from pathlib import Path

from ombt_postmortem.arrow_io import keep_pandas_out
from ombt_postmortem.logutil import check_strict, job_logger
from ombt_postmortem.messages import analyse_message_logs, write_messages

keep_pandas_out()  # this job only writes Arrow tables: pandas would cost 0.3 CPU s
sm = snakemake
run_id = sm.params.run_id
log = job_logger("messages", sm.log[0])
per_message = sm.output.get("per_message")
result = analyse_message_logs(run_id, [Path(p) for p in sm.input.logs],
                              folder_problem=sm.params.folder_problem or None,
                              keep_per_message=per_message is not None, threads=sm.threads)
write_messages(result, Path(sm.output.summary), Path(sm.output.timeline),
               Path(per_message) if per_message else None)
s = result.summary
log.info("run %s: %d client log(s), %d server log(s), %d sent, %d received, %d bad line(s)",
         run_id, s["msg_clients_logged"], s["msg_servers_logged"], s["msg_sent"],
         s["msg_received"], s["msg_bad_lines"])
for note in filter(None, str(s.get("msg_notes") or "").split("; ")):
    log.info("%s", note)
for problem in result.problems:
    log.warning("%s", problem)
check_strict(sm.params.strict, result.problems, f"run {run_id}")
