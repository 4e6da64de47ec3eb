# Stage 4: figures and the report (`snakemake --report results/report.html`).
#
# Which figures exist depends on the data (no rpc-cast run, no rabbitmq metric,
# too few time-series points...), which is only known after the campaign table:
# a figure without data is skipped with a line in the job's log, never drawn
# empty. So each job writes one FOLDER per figure kind, holding the figures, the
# CSV of each figure's data and a manifest.csv (written and skipped figures);
# report() picks the figures up by pattern. Few jobs whatever the campaign size:
# per campaign, figures_campaign + figures_latency (+ figures_timeseries when the
# time series are exported), and one figures_comparison for several campaigns.
import dataclasses
import functools

from snakemake.exceptions import WorkflowError

from ombt_postmortem.figspec import KINDS, FigureOptions, drawn_kinds, figure_paths, subcategory
from ombt_postmortem.labels import varying_params
from ombt_postmortem.reportspec import report_labels


try:
    FIG = FigureOptions.from_config(config.get("figures"))
except (TypeError, ValueError) as exc:
    raise WorkflowError(f"config figures: {exc}") from None

FIG_OPTIONS = dataclasses.asdict(FIG)
FIG_PATTERN = f"{{name}}.{FIG.formats[0]}"  # the report shows the first format
# per-run time series only if the InfluxDB stage runs and exports them
FIG_TIMESERIES = FIG.per_run and INFLUX_EXPORT  # common.smk
FIG_COMPARISON = f"{RESULTS}/{layout.COMPARISON}"
# the label columns of a campaign's per-run figures: what varies (its sheets of all runs
# read "(all runs)" in each)
FIG_LABEL_KEYS = {
    name: varying_params([run.params for run in RUNS[name].values()]) for name in CAMPAIGNS
}

# The hook of `rule all`: figure_outputs(name) -> the figure folders of campaign `name`.
figure_outputs = functools.partial(
    figure_paths,
    RESULTS,
    campaigns=list(CAMPAIGNS),
    opts=FIG,
    timeseries=FIG_TIMESERIES,
    messages=MESSAGES_ENABLED,  # common.smk
)
per_campaign_targets(figure_outputs)

# A folder of figures of one kind, in the report under the campaign's category and
# the kind's subcategory, listed by the parameters in the figure's name (one label
# column each: nbr_clients, call_type...); a per-run kind's first entry shows all runs
# side by side (all-runs.png, ombt_postmortem.figures.sheet). The figure jobs have no job parameters
# but `options` (a change of the figures config redraws them), as the report prints
# a job's parameters under each figure: the scripts read the parameter columns from
# the table and match per-run files to runs by their folder (reportspec).
figure_folder = lambda kind: report(
    directory(campaign_output(f"{layout.FIGURES_DIR}/{kind}")),
    patterns=[FIG_PATTERN],
    caption=KINDS[kind].caption,
    category="{campaign}",
    subcategory=subcategory(kind),
    labels=lambda wc: report_labels(wc.name, FIG_LABEL_KEYS[wc.campaign]),
)
# the kinds drawn (figspec.FIGURE_KINDS: per-run ones with figures.per_run, the time
# series with their export, the messages' with that stage), by rule: its outputs
FIG_DRAWN = drawn_kinds(FIG, timeseries=FIG_TIMESERIES, messages=MESSAGES_ENABLED)
figure_outputs_of = lambda rule: {
    k.output: figure_folder(k.kind) for k in FIG_DRAWN if k.rule == rule
}


report: "../report/workflow.rst"


rule figures_campaign:
    input:
        table=campaign_output(layout.CAMPAIGN_PARQUET),
    output:
        table=report(
            campaign_output(f"{layout.FIGURES_DIR}/campaign_table.html"),
            caption="../report/campaign_table.rst",
            category="{campaign}",
            subcategory="0. campaign table",
            labels={"table": "campaign table"},
        ),
        **figure_outputs_of("figures_campaign"),
    params:
        options=FIG_OPTIONS,
    log:
        f"{RESULTS}/{{campaign}}/logs/figures_campaign.log",
    resources:
        mem_mb=2048,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/figures_campaign.py"


rule figures_latency:
    input:
        table=campaign_output(layout.CAMPAIGN_PARQUET),
        hists=per_run(layout.HIST),
    output:
        **figure_outputs_of("figures_latency"),
    params:
        options=FIG_OPTIONS,
    threads: 4  # per-run figures drawn in parallel processes (capped by --cores)
    log:
        f"{RESULTS}/{{campaign}}/logs/figures_latency.log",
    resources:
        mem_mb=2048,
        runtime=120,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/figures_latency.py"


if FIG_TIMESERIES:

    rule figures_timeseries:
        input:
            table=campaign_output(layout.CAMPAIGN_PARQUET),
            series=per_run(layout.TIMESERIES),
        output:
            **figure_outputs_of("figures_timeseries"),
        params:
            options=FIG_OPTIONS,
        threads: 4
        log:
            f"{RESULTS}/{{campaign}}/logs/figures_timeseries.log",
        resources:
            mem_mb=4096,
            runtime=120,
        conda:
            "../envs/ombt-postmortem.yaml"
        script:
            "../scripts/figures_timeseries.py"


if MESSAGES_ENABLED:

    rule figures_messages:
        input:
            table=campaign_output(layout.CAMPAIGN_PARQUET),
            timelines=per_run(layout.TIMELINE) if FIG.per_run else [],
        output:
            **figure_outputs_of("figures_messages"),
        params:
            options=FIG_OPTIONS,
        threads: 4
        log:
            f"{RESULTS}/{{campaign}}/logs/figures_messages.log",
        resources:
            mem_mb=2048,
            runtime=120,
        conda:
            "../envs/ombt-postmortem.yaml"
        script:
            "../scripts/figures_messages.py"


rule figures_comparison:
    input:
        tables=[f"{RESULTS}/{name}/{layout.CAMPAIGN_PARQUET}" for name in CAMPAIGNS],
    output:
        load_curves=report(
            directory(f"{FIG_COMPARISON}/load_curves"),
            patterns=[FIG_PATTERN],
            caption="../report/comparison.rst",
            category="campaign comparison",
            subcategory=subcategory("load_curves"),
            labels=lambda wc: report_labels(wc.name),
        ),
        resources=report(
            directory(f"{FIG_COMPARISON}/resources"),
            patterns=[FIG_PATTERN],
            caption="../report/comparison_resources.rst",
            category="campaign comparison",
            subcategory=subcategory("resources"),
            labels=lambda wc: report_labels(wc.name),
        ),
    params:
        options=FIG_OPTIONS,
    log:
        f"{FIG_COMPARISON}/logs/figures_comparison.log",
    resources:
        mem_mb=2048,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/figures_comparison.py"
