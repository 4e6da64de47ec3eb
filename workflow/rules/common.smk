# Shared by every rule: config validation, the campaigns and their runs.
# The list of runs is read from each params.json once, when the DAG is built;
# params.json is an input of the campaign-level rules only.
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from ombt_postmortem.errors import CampaignError, RunDataError
from ombt_postmortem.ombt.parse import find_controller_logs
from ombt_postmortem.params import load_params, run_folder


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


def run_dir(wildcards):
    """The run's backup folder, or None when backup_dir leads outside the campaign."""
    try:
        return run_folder(CAMPAIGNS[wildcards.campaign], run_of(wildcards).run_id)
    except RunDataError:
        return None


def influx_tar(wildcards):
    """The run's influxdb-data.tar.gz, or nothing: the job then reports it missing."""
    folder = run_dir(wildcards)
    tar = None if folder is None else folder / "influxdb-data.tar.gz"
    return [str(tar)] if tar is not None and tar.is_file() else []


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
    folder = run_dir(wildcards)
    return [] if folder is None else [str(p) for p in find_controller_logs(folder)]


def per_run(name):
    def inputs(wildcards):
        return [f"{RESULTS}/{wildcards.campaign}/runs/{key}/{name}"
                for key in RUNS[wildcards.campaign]]

    return inputs
