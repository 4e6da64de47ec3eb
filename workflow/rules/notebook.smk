# Optional (notebook.enabled): per campaign, the campaign notebook executed with
# Snakemake's notebook directive into results/<name>/campaign.ipynb. It reads the
# results through the Python API (ombt_postmortem.results) only. To explore further:
#   snakemake --edit-notebook results/<name>/campaign.ipynb
from ombt_postmortem.workflow_support.jupyter import nbconvert_on_path

NOTEBOOK_ENABLED = config["notebook"]["enabled"]

if NOTEBOOK_ENABLED and (_missing := nbconvert_on_path()):
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
    output:
        notebook=campaign_output(layout.NOTEBOOK),
    log:
        # the notebook directive writes the executed notebook here: the output itself
        notebook=campaign_output(layout.NOTEBOOK),
    params:
        campaign=lambda wc: wc.campaign,
    resources:
        mem_mb=2048,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    notebook:
        "../notebooks/campaign.py.ipynb"
