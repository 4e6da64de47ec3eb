# Shared by every rule: config validation, the campaigns and their runs.
# The list of runs is read from each params.json once, when the DAG is built;
# params.json is an input of the campaign-level rules only.
import inspect
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ombt_postmortem import layout
from ombt_postmortem.backup import CampaignScan
from ombt_postmortem.errors import CampaignError
from ombt_postmortem.params import load_params


# before the schema's own "additional property" message, which would not say why
if "cluster" in config:
    raise SystemExit(
        "ombt-postmortem: config: cluster.runs_per_job is gone: the runs per "
        "cluster job are Snakemake's --group-components, in profiles/slurm/config.yaml "
        "(per_run = 2 x runs with the InfluxDB stage on, 1 x runs without)"
    )
# our own check first: a config error is one line naming the key, not
# snakemake's dump of the schema; snakemake's validate then fills the defaults.
# SystemExit, not WorkflowError: Snakemake would add the file and line of this check.
try:
    from ombt_postmortem.config import validate as _config_error_first
    _config_error_first(config)
except ValueError as _exc:  # ombt_postmortem.errors.ConfigError
    raise SystemExit(f"ombt-postmortem: config: {_exc}") from None
# the schema ships in the package (ombt_postmortem.data)
from ombt_postmortem.config import SCHEMA_PATH

validate(config, schema=str(SCHEMA_PATH))

RESULTS = config["results_dir"]


# A quiet console: progress, warnings, errors and the summary, not every
# job's block of 200-character paths (ombt_postmortem.workflow_support.console; the details stay in
# .snakemake/log/ and come back with -p, --verbose or OMBT_POSTMORTEM_VERBOSE=1).
# Snakemake (9.x) has no option for this: --quiet rules also drops -p's commands.
def _quiet_console():
    import logging

    from ombt_postmortem.workflow_support import console

    out = getattr(workflow, "output_settings", None)
    if out is not None and console.wanted(out.printshellcmds, out.verbose, out.dryrun):
        console.install(logging.getLogger("snakemake.logging").handlers)


_quiet_console()
# The optional stages, in one place: the stage files and the campaign-level rules read
# these names.
INFLUX = config["influx"]
INFLUX_ENABLED = INFLUX["enabled"]
INFLUX_EXPORT = INFLUX_ENABLED and INFLUX["export_timeseries"]
MESSAGES = config["messages"]
MESSAGES_ENABLED = MESSAGES["enabled"]
CAMPAIGNS = {name: Path(path) for name, path in config["campaigns"].items() if path}
if not CAMPAIGNS:
    raise WorkflowError("config: no campaign to analyse (every entry of 'campaigns' is null)")


def _load_runs():
    runs = {}
    for name, folder in CAMPAIGNS.items():
        try:
            runs[name] = {run.key: run for run in load_params(folder)}
        except CampaignError as exc:
            raise WorkflowError(f"campaign {name!r}: {exc}") from None
    return runs


RUNS = _load_runs()


wildcard_constraints:
    campaign=r"[^/]+",
    run=r"[^/]+",


def run_of(wildcards):
    return RUNS[wildcards.campaign][wildcards.run]


# Cluster execution: the per-run jobs (run_logs, influx_metrics) form group
# "per_run": per run, two components (each job alone: neither reads the other's
# files). How many go to one cluster job is Snakemake's --group-components, which a
# profile says (profiles/slurm: per_run=40, i.e. 20 runs with the InfluxDB stage on);
# it counts components, hence 2 per run with the InfluxDB stage, 1 without.
# Snakemake ignores groups when it runs the jobs on the local machine.
RUN_GROUP = "per_run"
COMPONENTS_PER_RUN = 2 if INFLUX_ENABLED else 1


# Local runs: no job rate limit. Snakemake (9.27) applies --max-jobs-per-timespan
# (default 100/1s) to local runs too, and after every scheduling round that saw a
# ready job it arms a timer that starts one more round a timespan later; that round
# arms the next one, so each finished job adds a chain of one round per second that
# lives as long as jobs are ready. With thousands of runs the main process ends up
# spending more CPU in these empty rounds (each walks every ready and every pending
# job) than the jobs themselves (bench/bench_sched.py, docs/benchmarks.md).
# A local machine has no submission rate to protect, so the limiter is dropped when
# it is Snakemake's default; a limit set on purpose (and any cluster run) is kept.
# No public way: --max-jobs-per-timespan takes no "none" (its 100/1s default came with
# snakemake/snakemake#3043), so this writes the scheduling settings (Snakemake 9.x).
_DEFAULT_RATE_LIMIT = (100, 1)  # Snakemake's default --max-jobs-per-timespan: 100/1s


def _no_rate_limit_for_local_runs():
    settings = getattr(workflow, "scheduling_settings", None)
    limit = getattr(settings, "max_jobs_per_timespan", None)
    if (
        limit is not None
        and workflow.local_exec
        and (limit.max_jobs, limit.timespan) == _DEFAULT_RATE_LIMIT
    ):
        settings.max_jobs_per_timespan = None


def _settings_known_once_the_dag_is_built():
    _no_rate_limit_for_local_runs()
    hold_run_locks()  # runlock.smk


# The input functions and params of the per-run rules need the run's files: scan
# each run's folder once (one directory scan), not once per function call, and the
# campaign folder once for all its runs (CampaignScan: resolved and listed once,
# instead of resolving every run's path); with thousands of runs this is a visible
# part of building the DAG.
_RUN_FILES = {}
_CAMPAIGN_SCANS = {name: CampaignScan(folder) for name, folder in CAMPAIGNS.items()}


def run_files(wildcards):
    """The run's backup files (ombt_postmortem.backup.RunFiles), scanned once."""
    key = (wildcards.campaign, wildcards.run)
    found = _RUN_FILES.get(key)
    if found is None:
        _settings_known_once_the_dag_is_built()
        found = _RUN_FILES[key] = _CAMPAIGN_SCANS[wildcards.campaign].scan(
            run_of(wildcards).run_id
        )
    return found


def per_job_function(func):
    """Decorator of the input and params functions Snakemake calls for every per-run
    job: their signature, computed once. Snakemake reads each such function's
    signature (`inspect.signature`) several times per job, uncached; a function's
    `__signature__` (Python's own protocol) is returned by `inspect.signature` at once."""
    func.__signature__ = inspect.signature(func)
    return func


@per_job_function
def controller_logs(wildcards):
    """Every controller --output file of the run (one per shard); none if absent.

    A missing folder or file is not an error of the DAG: the job runs and
    reports the run as failed with the reason.
    """
    return [str(p) for p in run_files(wildcards).controller_logs]


@per_job_function
def agent_logs(wildcards):
    """Every *.log of the run that is neither a controller file nor a _docker.log:
    the logs job tells the agents' logs by their first line."""
    return [str(p) for p in run_files(wildcards).other_logs]


@per_job_function
def net_checks(wildcards):
    """The run's network check: enoslib's <host>.out fping files (ombt_postmortem.netcheck)."""
    return [str(p) for p in run_files(wildcards).net_checks]


@per_job_function
def influx_tar(wildcards):
    """The run's influxdb-data.tar.gz, or nothing: the job then reports it missing."""
    tar = run_files(wildcards).influx_tar
    return [] if tar is None else [str(tar)]


def run_output(name):
    """A per-run output file of the layout, as a rule's output pattern."""
    return layout.run_pattern(RESULTS, name)


def campaign_output(name):
    """A per-campaign output file of the layout, as a rule's output pattern."""
    return layout.campaign_pattern(RESULTS, name)


def campaign_outputs(name):
    return [str(p) for p in layout.CampaignDir.of(RESULTS, name).campaign_files().values()]


# The targets of the workflow's `all` rule: each stage file declares its own, when it is read
# (declare_targets), so that no file refers to a name of a file read after it.
_TARGETS = []


def declare_targets(per_campaign):
    """Declare targets of the `all` rule: per_campaign(name) -> the paths of campaign
    `name` (None: a function of no argument, the paths of all campaigns)."""
    _TARGETS.append(per_campaign)
    return per_campaign


def all_targets():
    """Everything the `all` rule asks for, in the order the stage files declared it."""
    return [p for targets in _TARGETS for p in targets()]


def per_campaign_targets(per_campaign):
    """declare_targets for a function of one campaign's name."""
    declare_targets(lambda: [p for name in CAMPAIGNS for p in per_campaign(name)])


def run_ids(wildcards):
    """The run ids of the campaign, in params.json order (that of per_run's files)."""
    return [run.run_id for run in RUNS[wildcards.campaign].values()]


def per_run(name):
    """Input function: the file `name` of every run of the campaign, in params.json order.

    Spelled with the very pattern of the per-run rules' output (run_output), by string
    formatting: thousands of paths per campaign rule, no Path object each."""
    pattern = run_output(name)

    def inputs(wildcards):
        campaign = wildcards.campaign
        return [pattern.format(campaign=campaign, run=key) for key in RUNS[campaign]]

    return inputs
