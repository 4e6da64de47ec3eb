# Who runs the workflow (ombt_postmortem.workflow_support.runlock): a Snakemake lock left by a killed
# run is refused with the exact --unlock command (Snakemake would only say "another
# instance is running"), and two runs writing the results of one campaign at once
# (two clones, one absolute results_dir) are refused. Done in the main process of a
# real run (not a dry run, not a cluster job) while the DAG is built: after the
# config is read, before Snakemake locks the working directory.
from snakemake_interface_executor_plugins.settings import ExecMode

from ombt_postmortem.workflow_support import runlock
from ombt_postmortem.errors import OmbtPostmortemError

_RUN_LOCKS = []


def hold_run_locks():
    """Called once per process from common.smk (_settings_known_once_the_dag_is_built)."""
    if _RUN_LOCKS:
        return
    _RUN_LOCKS.append(True)
    settings = getattr(workflow, "execution_settings", None)
    if (
        workflow.exec_mode != ExecMode.DEFAULT
        or workflow.executor_plugin is None
        or workflow.dryrun
        or (settings is not None and not settings.lock)  # --nolock
    ):
        return
    try:
        runlock.hold_workdir(Path.cwd(), runlock.unlock_command())
        runlock.hold_results(RESULTS, CAMPAIGNS)
    except OmbtPostmortemError as exc:
        # one line, no traceback: raised from an input function, any Exception would
        # be wrapped by Snakemake in an InputFunctionException with its traceback
        raise SystemExit(f"ombt-postmortem: {exc}") from None
