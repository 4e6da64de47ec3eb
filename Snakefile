# ombt-postmortem: from ombt-orchestrator campaign backups to tables, figures and a report.
#   snakemake --cores 8                       (default config: the bundled example campaign)
#   snakemake --cores 8 --configfile my-campaigns.yaml   (see config/config.yaml)
#   snakemake --report results/report.html    (after a run)
import sys
from pathlib import Path

from snakemake.utils import min_version

# the library lives in src/: importable from a plain clone, a conda env or a cluster node
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

min_version("9.0")


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
    from ombt_postmortem.campaign_io import problems_summary

    for line in problems_summary(RESULTS, CAMPAIGNS):
        print(f"ombt-postmortem: {line}", file=sys.stderr)
