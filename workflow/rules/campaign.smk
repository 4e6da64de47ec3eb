# Stage 3: all runs of a campaign -> one table and its files, with the seed notebook's
# params_calculated.json and all_stats.json (ombt_postmortem.campaign).
per_campaign_targets(campaign_outputs)


rule campaign_table:
    input:
        params=lambda wc: str(CAMPAIGNS[wc.campaign] / layout.PARAMS_FILE),
        ombt=per_run(layout.OMBT),
        hist=per_run(layout.HIST),
        metrics=per_run(layout.METRICS) if INFLUX_ENABLED else [],
        messages=per_run(layout.MESSAGES) if MESSAGES_ENABLED else [],
    output:
        **{k: campaign_output(v) for k, v in layout.CAMPAIGN_FILES.items()},
    params:
        campaign=lambda wc: wc.campaign,
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
