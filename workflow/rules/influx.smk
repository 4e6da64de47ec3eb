# Stage 2, one job per run: restore the run's InfluxDB backup in a private
# server (own port on 127.0.0.1, own temp folder, CPU/memory limits) and query
# the run's window. `--resources influx=N` bounds the servers running at once.
INFLUX = config["influx"]
INFLUX_ENABLED = INFLUX["enabled"]
INFLUX_EXPORT = INFLUX["export_timeseries"]
# the job asks for the server's memory plus room for its own Python process;
# the server's limit is the job's mem_mb minus that room (ombt_postmortem.jobs)
INFLUX_JOB_OVERHEAD_MB = 512
# The rule's inputs and outputs, also given to the job in its spec (jobs.smk).
INFLUX_METRICS_INPUT = {"ombt": run_output(layout.OMBT), "tar": influx_tar}
INFLUX_METRICS_OUTPUT = {
    "metrics": run_output(layout.METRICS),
    **({"timeseries": run_output(layout.TIMESERIES)} if INFLUX_EXPORT else {}),
}


rule influx_metrics:
    input:
        **INFLUX_METRICS_INPUT,
    output:
        **INFLUX_METRICS_OUTPUT,
    params:
        spec=influx_metrics_spec,
    threads: INFLUX["threads"]
    group:
        RUN_GROUP
    resources:
        mem_mb=INFLUX["mem_mb"] + INFLUX_JOB_OVERHEAD_MB,
        influx=1,
        runtime=30,
    log:
        f"{RESULTS}/{{campaign}}/logs/influx_metrics/{{run}}.log",
    conda:
        "../envs/ombt-postmortem.yaml"
    shell:
        f"{JOB} influx_metrics {{params.spec:q}}"
        " --threads {threads} --mem-mb {resources.mem_mb} --log {log:q}"
