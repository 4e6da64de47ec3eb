"""The cluster route's decisions (ombt_postmortem.workflow_support.slurm_route, slurm_fit) on
the answers of SLURM's commands, for clusters this machine is not (accounting, short MinJobAge,
bigger nodes): the commands' answers are given as SLURM 22.05 prints them. The real
cluster is exercised end to end in test_slurm.py. SigtermStop is tested with real
signals in a real child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import REPO

from ombt_postmortem.workflow_support.slurm_fit import misfit
from ombt_postmortem.workflow_support.slurm_route import choose_status_command, run_id_in_log

ACCOUNTING_OFF = "Slurm accounting storage is disabled\n"


def cluster(min_job_age: str | None, sacct_ok: bool, sinfo: str = "2\n"):  # type: ignore[no-untyped-def]
    """A runner answering as a cluster would; records the commands it was asked."""
    asked: list[list[str]] = []

    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        cmd = list(cmd)
        asked.append(cmd)
        if cmd[:3] == ["scontrol", "show", "config"]:
            lines = ["Configuration data as of 2026-12-06T20:00:00",
                     "AccountingStorageType   = accounting_storage/none"]
            if min_job_age is not None:
                lines.append(f"MinJobAge               = {min_job_age}")
            return subprocess.CompletedProcess(cmd, 0, "\n".join(lines) + "\n", "")
        if cmd[0] == "sacct":
            if sacct_ok:
                return subprocess.CompletedProcess(cmd, 0, "", "")
            return subprocess.CompletedProcess(cmd, 1, "", ACCOUNTING_OFF)
        if cmd[0] == "sinfo":
            return subprocess.CompletedProcess(cmd, 0, sinfo, "")
        raise AssertionError(f"unexpected command {cmd}")

    run.asked = asked  # type: ignore[attr-defined]
    return run


def test_sacct_that_answers_is_kept() -> None:
    choice = choose_status_command(None, 10, True, cluster("600 sec", sacct_ok=True))
    assert (choice.command, choice.note, choice.error) == ("sacct", None, None)


def test_no_accounting_and_long_min_job_age_switch_to_squeue_in_one_line() -> None:
    choice = choose_status_command(None, 10, True, cluster("600 sec", sacct_ok=False))
    assert choice.command == "squeue" and choice.error is None
    assert choice.note == ("sacct does not answer here (Slurm accounting storage is disabled): "
                           "the SLURM jobs are followed with squeue instead (MinJobAge 600 s "
                           ">= 3 x the first status delay, 10 s)")


def test_no_accounting_and_min_job_age_below_3_delays_names_the_options() -> None:
    # Slurm's default MinJobAge (300 s) against the plugin's default delay (40 s x 3 = 120:
    # fits) and against a delay of 150 s (450 > 300: squeue would miss finished jobs)
    ok = choose_status_command(None, None, True, cluster("300 sec", sacct_ok=False))
    assert ok.command == "squeue" and "3 x the first status delay, 40 s" in ok.note
    choice = choose_status_command(None, 150, True, cluster("300 sec", sacct_ok=False))
    assert choice.command is None and choice.note is None
    assert "add --slurm-status-command squeue --slurm-init-seconds-before-status-checks 100 " \
        "(MinJobAge is 300 s" in choice.error
    assert "\n" not in choice.error


def test_no_accounting_and_no_min_job_age_says_what_is_missing() -> None:
    choice = choose_status_command(None, 10, True, cluster("0 sec", sacct_ok=False))
    assert choice.command is None
    assert "ask the cluster's admins for job accounting (slurmdbd) or MinJobAge >= 30 s" \
        in choice.error


def test_squeue_asked_for_is_used_without_probing_sacct_when_min_job_age_allows() -> None:
    run = cluster("600 sec", sacct_ok=False)
    assert choose_status_command("squeue", 10, True, run).command == "squeue"
    assert not [c for c in run.asked if c[0] == "sacct"]  # type: ignore[attr-defined]


def test_squeue_asked_for_with_short_min_job_age_is_checked_as_the_plugin_falls_back() -> None:
    # the plugin itself goes back to sacct when MinJobAge < 3 x delay and sacct exists
    choice = choose_status_command("squeue", 40, True, cluster("60 sec", sacct_ok=False))
    assert choice.command is None and "--slurm-init-seconds-before-status-checks 20" \
        in choice.error


def test_misfit_counts_runs_per_cluster_job_and_jobs_per_run() -> None:
    line = misfit(8, 20, 3, 2, "debug", cluster(None, True, sinfo="2\n2\n"))
    assert line == (
        "one cluster job runs 20 runs (3 jobs per run) and asks SLURM for 8 CPUs (20 runs "
        "per cluster job x 2 CPUs per run, capped by --cores 8), but the nodes of partition "
        "'debug' have at most 2 (sinfo): SLURM would refuse every cluster job. Pass --cores 2 "
        "(or set `cores: 2` in profiles/slurm/config.yaml).")
    # uncapped: 3 runs x 2 CPUs = 6 > 4
    line = misfit(None, 3, 3, 2, None, cluster(None, True, sinfo="4\n"))
    assert line is not None and "asks SLURM for 6 CPUs (3 runs per cluster job x 2 CPUs " \
        "per run), but the nodes of the cluster have at most 4" in line
    assert misfit(2, 20, 3, 2, "debug", cluster(None, True, sinfo="2\n")) is None
    assert misfit(8, 20, 3, 2, "debug", cluster(None, True, sinfo="")) is None  # no answer


def test_run_id_is_read_from_snakemake_log(tmp_path: Path) -> None:
    log = tmp_path / "x.snakemake.log"
    log.write_text("Building DAG of jobs...\nSLURM run ID: 4b32b45b-412b-4dac-b8dd-5cbf545ab20a\n"
                   "Using shell: /usr/bin/bash\n")
    assert run_id_in_log([str(log)]) == "4b32b45b-412b-4dac-b8dd-5cbf545ab20a"
    assert run_id_in_log(log) == "4b32b45b-412b-4dac-b8dd-5cbf545ab20a"
    assert run_id_in_log([str(tmp_path / "missing.log")]) is None
    assert run_id_in_log(None) is None


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ombt_postmortem.workflow_support.slurm_route import SigtermStop
    out = Path(sys.argv[1])
    join_s = float(sys.argv[2])
    def finish():
        (out / "finished").write_text("lock released")
    stop = SigtermStop(lambda: "jobs cancelled", finish, lambda line: print(line, flush=True),
                       grace_s=1)
    stop.install()
    try:
        print("ready", flush=True)
        time.sleep(600)            # Snakemake waiting for its jobs
    except KeyboardInterrupt:
        print("KeyboardInterrupt: Snakemake's own shutdown", flush=True)
        time.sleep(join_s)         # ... joining its status thread
        (out / "clean-exit").write_text("")
""")


@pytest.mark.parametrize(("join_s", "code"), [("600", 128 + signal.SIGTERM), ("0", 0)])
def test_sigterm_cancels_then_snakemake_path_then_watchdog(
        tmp_path: Path, join_s: str, code: int) -> None:
    """A shutdown that hangs (the status thread's sleep) is cut by the watchdog, which
    releases the lock (finish); one that ends in time is left alone."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), join_s],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = out.splitlines()
    assert lines[:3] == ["SIGTERM: stopping this run (at most 1 s)", "jobs cancelled",
                         "KeyboardInterrupt: Snakemake's own shutdown"], out
    assert proc.returncode == code, out
    if code:
        assert "still running 1 s after SIGTERM" in out
        assert (tmp_path / "finished").exists() and not (tmp_path / "clean-exit").exists()
    else:
        assert (tmp_path / "clean-exit").exists() and not (tmp_path / "finished").exists()
