# Stage 3, one job per run: the agents' own per-message logs -> exact latencies,
# loss, duplicates and a per-second timeline. A separate job from ombt_stats on
# purpose: touching an agent log re-runs this job only, and the InfluxDB job
# (which reads ombt.parquet) is left alone; see docs/benchmarks.md for its cost.
MESSAGES = config["messages"]
MESSAGES_ENABLED = MESSAGES["enabled"]
MESSAGES_KEEP = MESSAGES["keep_per_message"]
# The rule's inputs and outputs, also given to the job in its spec (jobs.smk).
MESSAGES_INPUT = {"logs": agent_logs}
MESSAGES_OUTPUT = {
    "summary": run_output(layout.MESSAGES),
    "timeline": run_output(layout.TIMELINE),
    **({"per_message": run_output(layout.PER_MESSAGE)} if MESSAGES_KEEP else {}),
}


rule messages:
    input:
        **MESSAGES_INPUT,
    output:
        **MESSAGES_OUTPUT,
    params:
        spec=messages_spec,
    threads: MESSAGES["threads"]
    group:
        RUN_GROUP
    log:
        f"{RESULTS}/{{campaign}}/logs/messages/{{run}}.log",
    resources:
        mem_mb=MESSAGES["mem_mb"],
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    shell:
        f"{JOB} messages {{params.spec:q}}"
        " --threads {threads} --log {log:q}"
