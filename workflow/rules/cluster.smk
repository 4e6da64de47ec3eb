# The cluster route (snakemake-executor-plugin-slurm, profiles/slurm): its own step,
# Snakemake's `onstart`, which runs once the DAG is built and the executor has started,
# before any job is submitted (and never in a dry run, nor in the cluster jobs, which
# run with --no-hooks). On the SLURM route it
#  1. makes sure the plugin can see its jobs finish: sacct where it answers, else squeue
#     where MinJobAge allows (one line says so), else stops with one line naming the
#     option to add (ombt_postmortem.workflow_support.slurm_route.choose_status_command);
#  2. makes sure a cluster job fits the partition's nodes, else stops with one line
#     naming the --cores to pass (ombt_postmortem.workflow_support.slurm_fit);
#  3. makes SIGTERM (and Ctrl-C) stop the run within seconds: the run's SLURM jobs
#     cancelled, the lock released (ombt_postmortem.workflow_support.slurm_route.SigtermStop says why
#     Snakemake alone does not).
# On every route, it also records which process holds Snakemake's lock, so that a run
# finding a lock left by a killed one names the command that removes it.
# Only public attributes of Snakemake's workflow and the plugin's settings are used; the
# one setting written is the plugin's --slurm-status-command, which the plugin reads
# again at every status check.
import math
import shutil

from ombt_postmortem.workflow_support import slurm_route
from ombt_postmortem.workflow_support.slurm_fit import misfit as slurm_misfit

# seconds from SIGTERM to exit at most: SLURM's SIGKILL follows SIGTERM after KillWait
# (30 s by default), and the lock must be gone by then
SIGTERM_GRACE_S = 15


def _say(line):
    print(f"ombt-postmortem: {line}", file=sys.stderr, flush=True)


def _stop(line):
    """One line, exit 1: no traceback (Snakemake releases its lock on the way out)."""
    _say(line)
    sys.exit(1)


def _resource_value(resource):
    try:
        return resource.evaluate(wildcards={}, input=[], attempt=1, threads=1,
                                 rulename=RUN_GROUP, async_run=workflow.async_run).value
    except Exception:  # an expression needing a real job: let sbatch judge
        return None


def _slurm_partition():
    rs = workflow.resource_settings
    sources = [(rs.overwrite_resources or {}).get(rule, {})
               for rule in ("influx_metrics", "run_logs")]
    sources.append(rs.default_resources if rs.default_resources is not None else {})
    for resources in sources:
        r = resources.get("slurm_partition")
        value = _resource_value(r) if r is not None else None
        if value:
            return str(value)
    return None


def _fit_problem():
    """Why a cluster job of group per_run cannot fit the partition's nodes, or None."""
    components = workflow.group_settings.group_components.get(RUN_GROUP)
    # the profile's (or command line's) --group-components; none: one job per cluster job
    runs_per_job = math.ceil(int(components) / COMPONENTS_PER_RUN) if components else 1
    runs_per_job = min(runs_per_job, max(len(runs) for runs in RUNS.values()))
    jobs_per_run = 1 + int(INFLUX_ENABLED)
    # the CPUs of one run's jobs that can run side by side (slurm_fit.group_cpus): the
    # logs job and the InfluxDB job depend on nothing of each other
    cpus = (MESSAGES["threads"] if MESSAGES_ENABLED else 1) + (
        INFLUX["threads"] if INFLUX_ENABLED else 0
    )
    return slurm_misfit(workflow.resource_settings.cores, runs_per_job, jobs_per_run,
                        cpus, _slurm_partition())


def _stop_on_sigterm(log):
    run_id = slurm_route.run_id_in_log(log)
    # the executor's temp folder (.snakemake/tmp.*, Snakemake's RemoteExecutor.tmpdir)
    # is made at the first submission: the new one is this run's
    temp_before = set(Path(".snakemake").glob("tmp.*"))

    def cancel():
        if run_id is None:
            return "no SLURM run ID in Snakemake's log: cancelling is left to Snakemake"
        return slurm_route.scancel_run(run_id)

    def finish():
        workflow.persistence.unlock()
        for folder in set(Path(".snakemake").glob("tmp.*")) - temp_before:
            shutil.rmtree(folder, ignore_errors=True)

    slurm_route.SigtermStop(cancel, finish, _say, grace_s=SIGTERM_GRACE_S).install()


# A lock left by a snakemake that was killed (SIGKILL: e.g. SLURM's, KillWait after the
# SIGTERM that ends the walltime of the allocation it ran in) is told with the exact
# --unlock command by runlock.smk (ombt_postmortem.workflow_support.runlock), for both routes.


def cluster_route_start(log):
    plugin = workflow.executor_plugin
    if getattr(plugin, "name", None) != "slurm":
        return
    problem = _fit_problem()
    if problem:
        _stop(problem)
    settings = workflow.executor_settings
    choice = slurm_route.choose_status_command(
        getattr(settings, "status_command", None),
        getattr(settings, "init_seconds_before_status_checks", None),
        shutil.which("sacct") is not None,
    )
    if choice.error:
        _stop(choice.error)
    if choice.note:
        settings.status_command = choice.command
        _say(choice.note)
    _stop_on_sigterm(log)


onstart:
    cluster_route_start(log)
