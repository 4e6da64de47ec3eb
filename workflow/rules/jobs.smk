# The per-run jobs (run_logs, influx_metrics) run as plain programs:
# `python workflow/job.py STAGE SPEC`, ombt_postmortem.workflow_support.jobs, which never imports
# Snakemake. (Snakemake's `script:` preamble imports snakemake.script in every job
# to unpickle its `snakemake` object: 0.05-0.14 CPU s per job; docs/benchmarks.md,
# "Parallel efficiency".)
#
# Each of these rules has one param, `spec`: one JSON argument of the command
# holding the job's run, settings, inputs and outputs, built by the stage's contract
# (ombt_postmortem.workflow_support.jobspec: one dataclass per stage, which the job parses back). It is
# a function of the wildcards only, so that a change of it re-runs the job (Snakemake
# leaves params derived from input or output out of its params trigger); the inputs
# and outputs in it are the rule's own, from the same dicts and input functions as the
# rule's `input:` and `output:` (job_spec; each stage file defines its spec function).
# One function per job, not two: when it builds the DAG, Snakemake evaluates every param of every job (even in a dry run) and
# inspects each function's signature twice per job (docs/benchmarks.md, bench_sched.py).
# A spec is not a file: no extra job or file to write before the job, and the
# command Snakemake prints (`-p`) or records is the whole job, to run again by hand.
# The job's threads, memory and log are options of the command: Snakemake scales
# threads to --cores and --set-resources changes the memory, which must not re-run
# jobs.
import shlex
import sys

from snakemake.settings.types import DeploymentMethod


def _job_python():
    """The python of the jobs: that of the conda env with --sdm conda, else this one."""
    settings = getattr(workflow, "deployment_settings", None)
    if settings is not None and DeploymentMethod.CONDA in settings.deployment_method:
        return "python"
    return sys.executable


JOB = " ".join(
    shlex.quote(part)
    for part in (_job_python(), str(Path(workflow.basedir) / "workflow" / "job.py"))
)
# a shell command is one argument of `bash -c`, at most 128 KiB on Linux
# (MAX_ARG_STRLEN): a spec longer than this fails the DAG, not the job. Long input
# lists are given relative to their folder (jobspec.compact_inputs): about 80 characters
# per agent log, 1500 agents per run.
JOB_SPEC_MAX = 120_000


def job_spec(contract, wildcards, inputs, outputs, **settings):
    """A per-run job's SPEC as JSON text: the `contract` (a JobSpec class) of its run,
    `strict`, `settings` and files: `inputs` and `outputs` are the dicts of the
    rule's `input:` and `output:` (a pattern, or an input function of the
    wildcards), given their values for this job."""

    def value(declared):
        if callable(declared):
            return [str(p) for p in declared(wildcards)]
        return declared.format(campaign=wildcards.campaign, run=wildcards.run)

    run_id = run_of(wildcards).run_id
    text = contract(
        run_id=run_id,
        strict=config["strict"],
        **{k: value(v) for k, v in inputs.items()},
        **{k: value(v) for k, v in outputs.items()},
        **settings,
    ).to_json()
    if len(text) > JOB_SPEC_MAX:
        raise WorkflowError(
            f"campaign {wildcards.campaign!r}, run {run_id[:200]!r}: the job's spec "
            f"takes {len(text)} characters, more than a shell command may hold "
            f"({JOB_SPEC_MAX}): too many input files, or paths too long"
        )
    return text
