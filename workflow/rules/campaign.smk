# Stage 3: all runs of a campaign -> one table (+ the old notebook's JSON files).


rule campaign_table:
    input:
        params=lambda wc: str(CAMPAIGNS[wc.campaign] / "params.json"),
        ombt=per_run("ombt.parquet"),
        hist=per_run("latency_hist.parquet"),
        metrics=per_run("metrics.parquet") if INFLUX_ENABLED else [],
    output:
        parquet=f"{RESULTS}/{{campaign}}/campaign.parquet",
        csv=f"{RESULTS}/{{campaign}}/campaign.csv",
        params_calculated=f"{RESULTS}/{{campaign}}/params_calculated.json",
        all_stats=f"{RESULTS}/{{campaign}}/all_stats.json",
        problems=f"{RESULTS}/{{campaign}}/problems.csv",
    params:
        campaign=lambda wc: wc.campaign,
        campaign_dir=lambda wc: str(CAMPAIGNS[wc.campaign]),
        runs_dir=lambda wc: f"{RESULTS}/{wc.campaign}/runs",
        strict=config["strict"],
    log:
        f"{RESULTS}/{{campaign}}/logs/campaign_table.log",
    resources:
        mem_mb=2048,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    script:
        "../scripts/campaign_table.py"
