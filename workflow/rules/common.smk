# Shared by every rule: config validation, the campaigns and their runs.
# The list of runs is read from each params.json once, when the DAG is built;
# params.json is an input of the campaign-level rules only.
import os
from contextlib import nullcontext
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ombt_postmortem.errors import CampaignError, RunDataError
from ombt_postmortem.ombt.parse import is_controller_output
from ombt_postmortem.params import load_params, run_folder
from ombt_postmortem.slurm_fit import misfit as slurm_misfit


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = config["results_dir"]
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


# Cluster execution: the per-run jobs (ombt_stats, influx_metrics) form group
# "per_run", one connected component per run; one cluster job processes
# `cluster.runs_per_job` runs: Snakemake's --group-components, set from the config
# unless the command line or a profile gives one for "per_run" (the command line's
# group settings are only known once the DAG is being built, hence the call from
# _run_files). Snakemake ignores groups when it runs the jobs on the local machine.
RUN_GROUP = "per_run"


def _group_runs_per_cluster_job():
    settings = getattr(workflow, "group_settings", None)
    if settings is not None and RUN_GROUP not in settings.group_components:
        settings.group_components = {
            **settings.group_components,
            RUN_GROUP: config["cluster"]["runs_per_job"],
        }
    _check_slurm_fit(settings)


# A SLURM run: the group jobs must fit the partition's nodes (ombt_postmortem.slurm_fit),
# checked once, before anything is submitted.
_SLURM_CHECKED = []


def _resource_value(resource):
    try:
        return resource.evaluate(wildcards={}, input=[], attempt=1, threads=1,
                                 rulename=RUN_GROUP, async_run=workflow.async_run).value
    except Exception:  # an expression needing a real job: let sbatch judge
        return None


def _slurm_partition():
    rs = workflow.resource_settings
    sources = [(rs.overwrite_resources or {}).get(rule, {})
               for rule in ("influx_metrics", "ombt_stats")]
    sources.append(rs.default_resources if rs.default_resources is not None else {})
    for resources in sources:
        r = resources.get("slurm_partition")
        value = _resource_value(r) if r is not None else None
        if value:
            return str(value)
    return None


def _check_slurm_fit(settings):
    plugin = getattr(workflow, "executor_plugin", None)
    if _SLURM_CHECKED or getattr(plugin, "name", None) != "slurm":
        return
    _SLURM_CHECKED.append(True)
    runs = (settings.group_components if settings is not None else {}).get(RUN_GROUP, 1)
    threads = INFLUX["threads"] if INFLUX["enabled"] else 1
    problem = slurm_misfit(workflow._cores, int(runs), int(threads), _slurm_partition())
    if problem:
        raise WorkflowError(f"profiles/slurm does not fit this cluster: {problem}")


# The input functions and params of both per-run rules need the run's folder and
# files: look each run up once (one directory scan), not once per function call;
# with thousands of runs this is a visible part of building the DAG.
_RUN_FILES = {}


def _run_files(wildcards):
    """(folder or None, controller logs, influxdb-data.tar.gz or None) of a run."""
    key = (wildcards.campaign, wildcards.run)
    found = _RUN_FILES.get(key)
    if found is None:
        _group_runs_per_cluster_job()
        try:
            folder = run_folder(CAMPAIGNS[wildcards.campaign], run_of(wildcards).run_id)
        except RunDataError:
            folder = None
        logs, tar = [], None
        try:
            with os.scandir(folder) if folder is not None else nullcontext(()) as entries:
                for e in entries:
                    if e.name == "influxdb-data.tar.gz":
                        tar = e.path if e.is_file() else None
                    elif is_controller_output(Path(e.name)) and e.is_file():
                        logs.append(e.path)
        except (FileNotFoundError, NotADirectoryError):
            pass  # the job reports the missing folder
        found = _RUN_FILES[key] = (folder, sorted(logs), tar)
    return found


def run_dir(wildcards):
    """The run's backup folder, or None when backup_dir leads outside the campaign."""
    return _run_files(wildcards)[0]


def influx_tar(wildcards):
    """The run's influxdb-data.tar.gz, or nothing: the job then reports it missing."""
    tar = _run_files(wildcards)[2]
    return [] if tar is None else [tar]


def campaign_outputs(name):
    base = f"{RESULTS}/{name}"
    return [
        f"{base}/campaign.parquet",
        f"{base}/campaign.csv",
        f"{base}/params_calculated.json",
        f"{base}/all_stats.json",
        f"{base}/problems.csv",
    ]


def all_outputs():
    """Everything `rule all` asks for; figure_outputs comes from figures.smk."""
    return [
        path
        for name in CAMPAIGNS
        for path in [*campaign_outputs(name), *figure_outputs(name)]
    ]


def controller_logs(wildcards):
    """Every controller --output file of the run (one per shard); none if absent.

    A missing folder or file is not an error of the DAG: the job runs and
    reports the run as failed with the reason.
    """
    return list(_run_files(wildcards)[1])


def per_run(name):
    def inputs(wildcards):
        return [f"{RESULTS}/{wildcards.campaign}/runs/{key}/{name}"
                for key in RUNS[wildcards.campaign]]

    return inputs
