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
        run_id=lambda wc: run_of(wc).run_id,
        # for the reasons of a run without controller file or folder
        folder=lambda wc: str(run_files(wc).folder or ""),
        folder_problem=lambda wc: run_files(wc).problem or "",
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
