"""Does a cluster job of the workflow fit the SLURM nodes it is sent to?

A group job of ``runs_per_job`` runs asks SLURM for the CPUs of the jobs it runs
side by side, capped by snakemake's ``--cores``: ``min(cores, runs_per_job x
cpus_per_run)``. When that exceeds the CPUs of every node of the partition, sbatch
refuses the job ("More processors requested than permitted", in slurmctld's log
only) and snakemake reports ``Error in group per_run ... message: None``.
:func:`misfit` says so before anything is submitted, naming what to change.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)


def node_cpus(partition: str | None, run: Runner = _run) -> int | None:
    """The most CPUs of one node of ``partition`` (of any partition if None), as
    ``sinfo`` reports them; None when sinfo does not answer."""
    cmd = ["sinfo", "--noheader", "--Node", "--format=%c"]
    if partition:
        cmd.append(f"--partition={partition}")
    try:
        proc = run(cmd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    counts = [int(w.rstrip("+")) for w in proc.stdout.split() if w.rstrip("+").isdigit()]
    return max(counts) if counts else None


def group_cpus(cores: int | None, runs_per_job: int, cpus_per_run: int) -> int:
    """CPUs a cluster job of ``runs_per_job`` runs asks for (at most ``cores``).

    ``cpus_per_run``: the CPUs one run's jobs take side by side. Snakemake sizes a group
    job by the widest "layer" of jobs that can run at once (GroupResources.basic_layered:
    the jobs of one toposort level, capped by --cores); for a run, whose two jobs
    (run_logs, influx_metrics) depend on nothing of each other, the sum of their threads."""
    need = max(1, runs_per_job) * max(1, cpus_per_run)
    return need if cores is None else min(int(cores), need)


def misfit(cores: int | None, runs_per_job: int, jobs_per_run: int, cpus_per_run: int,
           partition: str | None, run: Runner = _run) -> str | None:
    """One line saying why the cluster jobs cannot fit the partition's nodes and what to
    pass, else None (also None when SLURM cannot be asked: sbatch then has the last word)."""
    need = group_cpus(cores, runs_per_job, cpus_per_run)
    have = node_cpus(partition, run)
    if have is None or need <= have:
        return None
    where = f"partition {partition!r}" if partition else "the cluster"
    capped = f", capped by --cores {cores}" if cores is not None and need == cores else ""
    return (f"one cluster job runs {runs_per_job} runs ({jobs_per_run} jobs per run) and "
            f"asks SLURM for {need} CPUs ({runs_per_job} runs per cluster job x "
            f"{cpus_per_run} CPUs per run{capped}), but the nodes of {where} have at most "
            f"{have} (sinfo): SLURM would refuse every cluster job. Pass --cores {have} "
            f"(or set `cores: {have}` in profiles/slurm/config.yaml).")
