# Stage 4, optional (notebook.enabled): per campaign, the campaign notebook executed into
# results/<name>/campaign.ipynb (ombt_postmortem.workflow_support.notebook_run: not
# Snakemake's notebook directive, whose engine probe prints "papermill: command not found"
# on every run). It reads the results through the Python API (ombt_postmortem.results)
# only. To explore further, open the executed notebook in Jupyter: its first cell sets
# RESULTS.
from ombt_postmortem.workflow_support.jupyter import notebook_modules_missing

NOTEBOOK_ENABLED = config["notebook"]["enabled"]

if NOTEBOOK_ENABLED and (_missing := notebook_modules_missing()):
    raise WorkflowError(f"notebook.enabled: {_missing}")

# The hook of `rule all`: the executed notebook of campaign `name`, when enabled.
notebook_outputs = lambda name: (
    [f"{RESULTS}/{name}/{layout.NOTEBOOK}"] if NOTEBOOK_ENABLED else []
)
per_campaign_targets(notebook_outputs)


rule campaign_notebook:
    input:
        # what the notebook reads (through the API): the table, the layout marker,
        # the runs' histograms and agents, and their time series when exported
        table=campaign_output(layout.CAMPAIGN_PARQUET),
        layout=campaign_output(layout.LAYOUT_FILE),
        hists=per_run(layout.HIST),
        agents=per_run(layout.AGENTS),
        series=per_run(layout.TIMESERIES) if INFLUX_ENABLED and INFLUX_EXPORT else [],
        template=str(Path(workflow.basedir) / "workflow" / "notebooks" / "campaign.py.ipynb"),
    output:
        notebook=campaign_output(layout.NOTEBOOK),
    params:
        campaign=lambda wc: wc.campaign,
    log:
        job=f"{RESULTS}/{{campaign}}/logs/campaign_notebook.log",
        # the kernel's own output (ipykernel's warnings), off the console
        kernel=f"{RESULTS}/{{campaign}}/logs/campaign_notebook.kernel.log",
    resources:
        mem_mb=2048,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/campaign_notebook.py"
