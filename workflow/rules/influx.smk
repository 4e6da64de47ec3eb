# Stage 2, one job per run: restore the run's InfluxDB backup in a private
# server (own port on 127.0.0.1, own temp folder, CPU/memory limits) and query
# the run's window. `--resources influx=N` bounds the servers running at once.
# The window comes from the run's controller files, read by this job itself, or from
# the agents' logs when those give none (ombt_postmortem.influx.stage): it reads no
# output of the logs job, so redoing that one redoes no restore. The agents' logs are
# `ancient` here: editing one re-runs the logs job, not this one (only a run whose
# controller files give no window reads them).
from ombt_postmortem.workflow_support.jobspec import InfluxJob, check_rule_files

# the job asks for the server's memory plus room for its own Python process;
# the server's limit is the job's mem_mb minus that room (ombt_postmortem.workflow_support.jobs)
INFLUX_JOB_OVERHEAD_MB = 512
# the stage's config, without the job's resources (options of the command)
INFLUX_STAGE = {k: v for k, v in INFLUX.items() if k not in ("threads", "mem_mb")}


# The agents' logs, as `ancient` inputs: their edits re-run no restore. (Lambdas, as in
# logs.smk.)
influx_agent_logs = per_job_function(lambda wildcards: ancient(agent_logs(wildcards)))


# The rule's inputs and outputs, by the names of the job's contract (InfluxJob).
INFLUX_METRICS_INPUT = {
    "controller_logs": controller_logs,
    "agent_logs": influx_agent_logs,
    "tar": influx_tar,
}
INFLUX_METRICS_OUTPUT = {
    "metrics": run_output(layout.METRICS),
    **({"timeseries": run_output(layout.TIMESERIES)} if INFLUX_EXPORT else {}),
}
check_rule_files(InfluxJob, INFLUX_METRICS_INPUT, INFLUX_METRICS_OUTPUT)


# The job's spec (ombt_postmortem.workflow_support.jobspec.InfluxJob).
influx_metrics_spec = per_job_function(
    lambda wildcards: job_spec(
        InfluxJob,
        wildcards,
        INFLUX_METRICS_INPUT,
        INFLUX_METRICS_OUTPUT,
        influx=INFLUX_STAGE,
        base_dir=workflow.basedir,
        overhead_mb=INFLUX_JOB_OVERHEAD_MB,
    )
)


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
