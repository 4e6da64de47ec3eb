# ombt-postmortem: from ombt-orchestrator campaign backups to tables, figures and a report.
#   snakemake --cores 8                       (default config: the bundled example campaign)
#   snakemake --cores 8 --configfile my-campaigns.yaml   (see config/config.yaml)
#   snakemake --report results/report.html    (after a run)
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

# The library is installed in snakemake's environment (`make setup`: pip install -e .)
# and in the jobs' (the venv's, or the conda env's with --sdm conda).
try:
    import ombt_postmortem
except ModuleNotFoundError:
    raise WorkflowError(
        "the library ombt_postmortem is not installed in this Python environment "
        f"({sys.executable}): run `make setup` and `.venv/bin/snakemake`, or "
        f"`pip install -e {workflow.basedir}` in this environment"
    ) from None
# where the conda env's post-deploy script installs the library from (--sdm conda;
# workflow/envs/ombt-postmortem.post-deploy.sh); set here, read there
os.environ.update(OMBT_POSTMORTEM_ROOT=workflow.basedir)


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/runlock.smk"
include: "workflow/rules/jobs.smk"
include: "workflow/rules/logs.smk"
include: "workflow/rules/influx.smk"
include: "workflow/rules/campaign.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/notebook.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/cluster.smk"


# what the stage files declared (declare_targets, common.smk)
rule all:
    input:
        all_targets(),
    default_target: True


onsuccess:
    from ombt_postmortem.campaign import problems_summary

    for line in problems_summary(RESULTS, CAMPAIGNS):
        print(f"ombt-postmortem: {line}", file=sys.stderr)
