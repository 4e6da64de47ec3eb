# Stage 1, one job per run: the ombt controller output files -> per-run parquet,
# with the run's network check (the <host>.out fping files: net_* columns).
# Group RUN_GROUP (common.smk): many runs per cluster job, see cluster.runs_per_job.
# The rule's inputs and outputs, also given to the job in its spec (jobs.smk).
OMBT_STATS_INPUT = {"logs": controller_logs, "netcheck": net_checks}
OMBT_STATS_OUTPUT = {
    "summary": run_output(layout.OMBT),
    "agents": run_output(layout.AGENTS),
    "hist": run_output(layout.HIST),
}


rule ombt_stats:
    input:
        **OMBT_STATS_INPUT,
    output:
        **OMBT_STATS_OUTPUT,
    params:
        spec=ombt_stats_spec,
    group:
        RUN_GROUP
    log:
        f"{RESULTS}/{{campaign}}/logs/ombt_stats/{{run}}.log",
    resources:
        mem_mb=512,
        runtime=10,
    conda:
        "../envs/ombt-postmortem.yaml"
    shell:
        f"{JOB} ombt_stats {{params.spec:q}} --log {{log:q}}"
