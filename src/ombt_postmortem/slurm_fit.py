"""Does a cluster job of the workflow fit the SLURM nodes it is sent to?

A group job of ``runs_per_job`` runs asks SLURM for the CPUs of the jobs it runs
side by side, capped by snakemake's ``--cores``: ``min(cores, runs_per_job x
threads)``. When that exceeds the CPUs of every node of the partition, sbatch
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


def group_cpus(cores: int | None, runs_per_job: int, threads: int) -> int:
    """CPUs a group job of ``runs_per_job`` runs asks for (at most ``cores``)."""
    need = max(1, runs_per_job) * max(1, threads)
    return need if cores is None else min(int(cores), need)


def misfit(cores: int | None, runs_per_job: int, threads: int, partition: str | None,
           run: Runner = _run) -> str | None:
    """An error message if the group jobs cannot fit the partition's nodes, else None
    (also None when SLURM cannot be asked: sbatch then has the last word)."""
    need = group_cpus(cores, runs_per_job, threads)
    have = node_cpus(partition, run)
    if have is None or need <= have:
        return None
    where = f"partition {partition!r}" if partition else "the cluster"
    return (f"a cluster job of {runs_per_job} runs would ask SLURM for {need} CPUs "
            f"({runs_per_job} runs x {threads} thread(s), at most --cores {cores}), but the "
            f"nodes of {where} have at most {have} "
            f"(sinfo): SLURM would refuse every such job. Pass --cores {have} (or set "
            f"`cores: {have}` in profiles/slurm/config.yaml), or fewer runs per job "
            f"(--config cluster='{{runs_per_job: {max(1, have // max(1, threads))}}}').")
