# Stage 1, one job per run: every log of the run, read once in one process
# (ombt_postmortem.workflow_support.jobs.run_logs): the controller output files, with the run's network
# check (the <host>.out fping files: net_* columns) -> ombt, agents and histogram
# tables; the agents' own per-message logs -> exact latencies, loss, duplicates and a
# per-second timeline (messages.enabled), and the per-message table
# (messages.keep_per_message). One job, not two: each job costs a process start and its
# imports (docs/benchmarks.md, bench_jobs.py). The InfluxDB job reads none of its outputs:
# redoing this job (an agent log edited, a messages setting changed) redoes no restore.
# Group RUN_GROUP (common.smk): many runs per cluster job, see cluster.runs_per_job.
from ombt_postmortem.workflow_support.jobspec import LogsJob, check_rule_files


# The agents' logs, when the messages stage is on (else none: editing one then re-runs
# nothing). The functions of this file are lambdas (Snakemake's linter wants no `def`
# beside a rule), with per_job_function's cached signature (common.smk).
logs_job_agent_logs = per_job_function(
    lambda wildcards: agent_logs(wildcards) if MESSAGES_ENABLED else []
)


# The rule's inputs and outputs, by the names of the job's contract (LogsJob).
RUN_LOGS_INPUT = {
    "controller_logs": controller_logs,
    "netcheck": net_checks,
    "agent_logs": logs_job_agent_logs,
}
RUN_LOGS_OUTPUT = {
    "ombt": run_output(layout.OMBT),
    "agents": run_output(layout.AGENTS),
    "hist": run_output(layout.HIST),
    **(
        {"messages": run_output(layout.MESSAGES), "timeline": run_output(layout.TIMELINE)}
        if MESSAGES_ENABLED
        else {}
    ),
    **(
        {"per_message": run_output(layout.PER_MESSAGE)}
        if MESSAGES_ENABLED and MESSAGES["keep_per_message"]
        else {}
    ),
}
check_rule_files(LogsJob, RUN_LOGS_INPUT, RUN_LOGS_OUTPUT)
# the per-message tables are read by no campaign rule: asked for by `rule all`, so that
# turning keep_per_message on writes them
if "per_message" in RUN_LOGS_OUTPUT:
    per_campaign_targets(
        lambda name: [
            run_output(layout.PER_MESSAGE).format(campaign=name, run=key) for key in RUNS[name]
        ]
    )


# The job's spec (ombt_postmortem.workflow_support.jobspec.LogsJob): with the run folder and its problem
# (the reasons of a run without controller file or folder) and the digest of the run's
# own parameters (a 200 KB value would not fit in the command): changing them re-runs
# this run only.
run_logs_spec = per_job_function(
    lambda wildcards: job_spec(
        LogsJob,
        wildcards,
        RUN_LOGS_INPUT,
        RUN_LOGS_OUTPUT,
        folder=str(run_files(wildcards).folder or ""),
        folder_problem=run_files(wildcards).problem or "",
        run_params_sha256=run_of(wildcards).params_digest,
    )
)


rule run_logs:
    input:
        **RUN_LOGS_INPUT,
    output:
        **RUN_LOGS_OUTPUT,
    params:
        spec=run_logs_spec,
    threads: MESSAGES["threads"] if MESSAGES_ENABLED else 1
    group:
        RUN_GROUP
    log:
        f"{RESULTS}/{{campaign}}/logs/run_logs/{{run}}.log",
    resources:
        mem_mb=max(512, MESSAGES["mem_mb"]) if MESSAGES_ENABLED else 512,
        runtime=30,
    conda:
        "../envs/ombt-postmortem.yaml"
    shell:
        f"{JOB} run_logs {{params.spec:q}} --threads {{threads}} --log {{log:q}}"
