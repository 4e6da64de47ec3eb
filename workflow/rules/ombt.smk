# Stage 1, one job per run: the ombt controller output files -> per-run parquet.
# Group RUN_GROUP (common.smk): many runs per cluster job, see cluster.runs_per_job.
rule ombt_stats:
    input:
        logs=controller_logs,
    output:
        summary=f"{RESULTS}/{{campaign}}/runs/{{run}}/ombt.parquet",
        agents=f"{RESULTS}/{{campaign}}/runs/{{run}}/agents.parquet",
        hist=f"{RESULTS}/{{campaign}}/runs/{{run}}/latency_hist.parquet",
    params:
        run_id=lambda wc: run_of(wc).run_id,
        folder=lambda wc: str(run_dir(wc) or ""),
        # the run's own parameters: changing them re-runs this run only
        run_params=lambda wc: run_of(wc).params,
        strict=config["strict"],
    group:
        RUN_GROUP
    log:
        f"{RESULTS}/{{campaign}}/logs/ombt_stats/{{run}}.log",
    resources:
        mem_mb=512,
        runtime=10,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/ombt_stats.py"
