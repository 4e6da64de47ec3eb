# The per-run jobs (ombt_stats, messages, influx_metrics) run as plain programs:
# `python workflow/job.py STAGE SPEC`, ombt_postmortem.jobs, which never imports
# Snakemake. (Snakemake's `script:` preamble imports snakemake.script in every job
# to unpickle its `snakemake` object: 0.05-0.14 CPU s per job; docs/benchmarks.md,
# "Parallel efficiency".)
#
# Each of these rules has one param, `spec`: one JSON argument of the command
# holding the job's run, config, inputs and outputs. It is a function of the
# wildcards only, so that a change of it re-runs the job (Snakemake leaves params
# derived from input or output out of its params trigger); the inputs and outputs
# in it are the rule's own, from the same dicts and input functions as the rule's
# `input:` and `output:` (job_files). One function per job, not two: when it builds
# the DAG, Snakemake evaluates every param of every job (even in a dry run) and
# inspects each function's signature twice per job; with one function instead of
# two, `snakemake -n` at 10 000 runs went from 33.7 to 30.3 s (docs/benchmarks.md,
# "Snakemake's floor for the same DAG").
# A spec is not a file: no extra job or file to write before the job, and the
# command Snakemake prints (`-p`) or records is the whole job, to run again by hand.
# The job's threads, memory and log are options of the command: Snakemake scales
# threads to --cores and --set-resources changes the memory, which must not re-run
# jobs.
import json
import shlex
import sys

from snakemake.settings.types import DeploymentMethod

from ombt_postmortem.jobs import compact_inputs as compact_job_inputs


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
# lists are given relative to their folder (compact_job_inputs): about 80 characters
# per agent log, 1500 agents per run.
JOB_SPEC_MAX = 120_000


def job_files(wildcards, inputs, outputs):
    """The job's inputs and outputs (ombt_postmortem.jobs): `inputs` and `outputs`
    are the dicts of the rule's `input:` and `output:` (a pattern, or an input
    function of the wildcards), given their values for this job."""

    def value(declared):
        if callable(declared):
            return declared(wildcards)
        return declared.format(campaign=wildcards.campaign, run=wildcards.run)

    return {
        **compact_job_inputs({k: value(v) for k, v in inputs.items()}),
        "output": {k: value(v) for k, v in outputs.items()},
    }


def job_spec(wildcards, inputs, outputs, **spec):
    """A per-run job's SPEC as JSON text: its run, `strict`, files and `spec`."""
    text = json.dumps(
        {
            "run_id": run_of(wildcards).run_id,
            "strict": config["strict"],
            **job_files(wildcards, inputs, outputs),
            **spec,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    if len(text) > JOB_SPEC_MAX:
        run_id = run_of(wildcards).run_id
        raise WorkflowError(
            f"campaign {wildcards.campaign!r}, run {run_id[:200]!r}: the job's spec "
            f"takes {len(text)} characters, more than a shell command may hold "
            f"({JOB_SPEC_MAX}): too many input files, or paths too long"
        )
    return text


# One spec function per rule (Snakemake inspects the signature of each function of
# each job when it builds the DAG: as few as possible).
@per_job_function
def ombt_stats_spec(wildcards):
    """The job's spec (ombt_postmortem.jobs)."""
    files = run_files(wildcards)
    return job_spec(
        wildcards,
        OMBT_STATS_INPUT,
        OMBT_STATS_OUTPUT,
        # for the reasons of a run without controller file or folder
        folder=str(files.folder or ""),
        folder_problem=files.problem or "",
        # the run's own parameters, by their digest (a 200 KB value would not fit in
        # the command): changing them re-runs this run only
        run_params_sha256=run_of(wildcards).params_digest,
    )


@per_job_function
def messages_spec(wildcards):
    """The job's spec (ombt_postmortem.jobs)."""
    return job_spec(
        wildcards,
        MESSAGES_INPUT,
        MESSAGES_OUTPUT,
        folder_problem=run_files(wildcards).problem or "",
    )


# the stage's config, without the job's resources (options of the command)
INFLUX_STAGE = {k: v for k, v in config["influx"].items() if k not in ("threads", "mem_mb")}


@per_job_function
def influx_metrics_spec(wildcards):
    """The job's spec (ombt_postmortem.jobs)."""
    return job_spec(
        wildcards,
        INFLUX_METRICS_INPUT,
        INFLUX_METRICS_OUTPUT,
        influx=INFLUX_STAGE,
        base_dir=workflow.basedir,
        overhead_mb=INFLUX_JOB_OVERHEAD_MB,  # influx.smk
    )
