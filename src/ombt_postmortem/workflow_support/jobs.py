"""The workflow's per-run jobs as plain programs: no Snakemake in the job's process.

    python workflow/job.py STAGE SPEC [--threads N] [--mem-mb N] [--log PATH]
    python -m ombt_postmortem.workflow_support.jobs STAGE SPEC ...   (the same)

STAGE is ``run_logs`` (every log of the run, read once: the controller's statistics
and, unless the messages stage is off, the per-message figures) or ``influx_metrics``
(the run's InfluxDB backup). SPEC is one JSON object (or ``@FILE`` holding one): the
job's run, settings, inputs and outputs::

    {"run_id": "...", "strict": false,
     "input": {"controller_logs": [...], ...}, "output": {"ombt": "...", ...}, ...}

(the keys of each stage: the fields of its contract,
:mod:`ombt_postmortem.workflow_support.jobspec`, which also builds it); it is the rule's one param
(``workflow/rules/jobs.smk``). A job is thus run by hand with the very command
Snakemake ran (``snakemake -p`` prints it). The job's threads, memory and log file
are options, not in SPEC: Snakemake scales a job's threads to ``--cores`` and
``--set-resources`` changes its memory, which must not re-run it.

Why not Snakemake's ``script:``: its preamble imports ``snakemake.script`` in every
job to unpickle the ``snakemake`` object; run as plain programs, the jobs take
0.05-0.14 CPU s less each (docs/benchmarks.md, "Parallel efficiency"), and can be
run by hand. This module imports only the standard library at first; each stage
imports what it needs, and keeps out what pyarrow would import for nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..keepout import keep_out
from .jobspec import STAGES, InfluxJob, JobSpecError, LogsJob

if TYPE_CHECKING:
    import logging


def run_logs(spec: LogsJob, opts: argparse.Namespace) -> None:
    """Rule run_logs: every log of the run, read once in one process: the controller
    files (+ network check) -> ombt, agents and histogram tables; the agents' own logs
    -> messages and timeline tables (+ per-message table), when the spec asks for them."""
    from ..errors import DATA_FAULT, check_strict
    from ..ombt.run import analyse_files, write_run_stats
    from .logutil import job_logger

    run_id = spec.run_id
    log = job_logger("run_logs", opts.log)
    stats = analyse_files(run_id, [Path(p) for p in spec.controller_logs],
                          folder=Path(spec.folder) if spec.folder else None,
                          folder_problem=spec.folder_problem or None,
                          net_checks=[Path(p) for p in spec.netcheck])
    write_run_stats(stats, Path(spec.ombt), Path(spec.agents), Path(spec.hist))
    log.info("run %s: status %s, %d clients, %d servers", run_id, stats.status,
             stats.summary["n_clients"], stats.summary["n_servers"])
    for note in filter(None, str(stats.summary.get("backup_notes") or "").split("; ")):
        log.info("%s", note)
    for problem in stats.problems:
        log.warning("%s", problem, extra=DATA_FAULT)
    problems = list(stats.problems)
    if spec.messages is not None and spec.timeline is not None:
        problems += _messages(spec, opts, log)
    check_strict(spec.strict, problems, f"run {run_id}")


def _messages(spec: LogsJob, opts: argparse.Namespace, log: logging.Logger) -> list[str]:
    """The per-message part of run_logs; its problems."""
    from ..errors import DATA_FAULT
    from ..messages import analyse_message_logs, write_messages

    assert spec.messages is not None and spec.timeline is not None
    run_id = spec.run_id
    result = analyse_message_logs(run_id, [Path(p) for p in spec.agent_logs],
                                  folder_problem=spec.folder_problem or None,
                                  keep_per_message=spec.per_message is not None,
                                  threads=opts.threads)
    write_messages(result, Path(spec.messages), Path(spec.timeline),
                   Path(spec.per_message) if spec.per_message else None)
    s = result.summary
    log.info("run %s: %d client log(s), %d server log(s), %d sent, %d received, "
             "%d bad line(s)", run_id, s["msg_clients_logged"], s["msg_servers_logged"],
             s["msg_sent"], s["msg_received"], s["msg_bad_lines"])
    for note in filter(None, str(s.get("msg_notes") or "").split("; ")):
        log.info("%s", note)
    for problem in result.problems:
        log.warning("%s", problem, extra=DATA_FAULT)
    return list(result.problems)


def influx_metrics(spec: InfluxJob, opts: argparse.Namespace) -> None:
    """Rule influx_metrics: restore the run's InfluxDB backup, query the run's window."""
    from ..errors import check_strict
    from .logutil import exit_on_sigterm, verbose

    exit_on_sigterm()  # before anything starts a server: its `finally` blocks must run
    from .. import config

    config.trust_validated()  # the workflow validated it: no jsonschema in the job
    from ..influx.backends.server import Limits
    from ..influx.config import InfluxConfig
    from ..influx.stage import RunLogs, run_influx_stage, write_stage

    run_id = spec.run_id
    if opts.mem_mb is None:
        raise JobSpecError(f"job influx_metrics of run {run_id}: --mem-mb is required "
                           "(the server's memory limit is taken from it)")
    if len(spec.tar) > 1:
        raise JobSpecError(f"job influx_metrics of run {run_id}: spec key 'input.tar' "
                           "holds at most one path")
    limits = Limits.for_job(opts.threads, opts.mem_mb, spec.overhead_mb)
    cfg = InfluxConfig.from_dict(spec.influx, base_dir=spec.base_dir)
    log_path = Path(opts.log) if opts.log else None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")  # the stage and influxd append to it
    logs = RunLogs([Path(p) for p in spec.controller_logs],
                   [Path(p) for p in spec.agent_logs])
    result = run_influx_stage(run_id, logs, Path(spec.tar[0]) if spec.tar else None, cfg,
                              log_path, limits, threads=opts.threads)
    write_stage(result, Path(spec.metrics),
                Path(spec.timeseries) if spec.timeseries else None)
    if result.problems:
        # data faults: in the table's problems and the summary the workflow ends with;
        # on the console only when verbose (docs/guide.md), always in the job's log
        if log_path is not None:
            with log_path.open("a", encoding="utf-8") as f:
                f.writelines(f"WARNING {p}\n" for p in result.problems)
        if log_path is None or verbose():
            for problem in result.problems:
                print(f"WARNING {problem}", file=sys.stderr)
    check_strict(spec.strict, result.problems, f"run {run_id}")


#: what each stage's process does without (see main)
KEEP_OUT: dict[str, tuple[str, ...]] = {
    "run_logs": ("pandas", "jsonschema"),  # the messages part uses numpy
    "influx_metrics": ("pandas", "jsonschema"),
    # the parts of run_logs, for the benches and tests that do one of them
    "ombt_stats": ("pandas", "numpy", "jsonschema"),  # also run_logs without messages
    "messages": ("pandas", "jsonschema"),
}

def keep_unneeded_out(stage: str) -> None:
    """Refuse, in this process, the packages pyarrow would import and ``stage`` does
    not need (:data:`KEEP_OUT`): pandas (0.3 CPU s) in every job, numpy (0.1 s)
    where no code of the stage uses it. Call it before pyarrow is imported; the
    job's own ``main`` does, and so do the benches and tests that do a job's work."""
    keep_out(*KEEP_OUT[stage], by=f"ombt_postmortem.workflow_support.jobs ({stage})")


RUNNERS: dict[str, Callable[[Any, argparse.Namespace], None]] = {
    LogsJob.stage: run_logs,
    InfluxJob.stage: influx_metrics,
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ombt-postmortem-job",
                                 description="Run one per-run job of the workflow.")
    ap.add_argument("stage", choices=sorted(STAGES))
    ap.add_argument("spec", help="the job's spec: a JSON object, or @FILE holding one")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mem-mb", type=int, default=None, help="the job's memory (influx_metrics)")
    ap.add_argument("--log", default=None, help="the job's log file")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    try:
        spec = STAGES[opts.stage].from_json(opts.spec)  # the standard library only
        if opts.threads < 1:
            raise JobSpecError(f"job {opts.stage} of run {spec.run_id}: --threads is at "
                               f"least 1, not {opts.threads}")
        # before anything imports pyarrow
        no_messages = isinstance(spec, LogsJob) and spec.messages is None
        keep_unneeded_out("ombt_stats" if no_messages else opts.stage)
        RUNNERS[opts.stage](spec, opts)
    except ConfigError as exc:  # a bad spec, or a bad stage config (the query set ...)
        print(f"ombt-postmortem-job: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
