# Stage 1, one job per run: the ombt controller output files -> per-run parquet.
# Group RUN_GROUP (common.smk): many runs per cluster job, see cluster.runs_per_job.
rule ombt_stats:
    input:
        logs=controller_logs,
    output:
        summary=run_output(layout.OMBT),
        agents=run_output(layout.AGENTS),
        hist=run_output(layout.HIST),
    params:
        spec=ombt_stats_spec,
        files=job_files,
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
        f"{JOB} ombt_stats {{params.spec:q}} --files {{params.files:q}} --log {{log:q}}"
