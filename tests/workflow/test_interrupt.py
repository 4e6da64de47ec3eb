"""SIGINT mid-run: no influxd and no temp folder left, and a re-run completes with the
table an uninterrupted run gives. (SIGKILL of one job: test_workflow_influx.py.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO, run_ids, snakemake, write_config
from influx_helpers import influx, is_dead
from test_faults_workflow import assert_rows_equal, clean_table, our_influxd, targets

pytestmark = [pytest.mark.workflow, *influx]

RUNS = run_ids()[:2]


def _restore_sigint() -> None:
    # a shell without job control starts background commands with SIGINT ignored,
    # which Python (hence snakemake) would inherit: make it the terminal's Ctrl-C again
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("whom", "hold_s"), [("process group", "60"), ("snakemake only", "4")])
def test_sigint_leaves_nothing_and_a_rerun_gives_the_same_table(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, whom: str,
        hold_s: str) -> None:
    """Ctrl-C in a terminal signals the whole process group (snakemake, its jobs, their
    influxd): the jobs stop their server and delete their folder at once. SIGINT to
    snakemake alone: it lets the running jobs finish, then stops."""
    camp = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, camp)
    params = json.loads((camp / "params.json").read_text())
    (camp / "params.json").write_text(json.dumps(params[:len(RUNS)]))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cfg = write_config(tmp_path, {"ex": camp}, influx={"backend": "native", "tmpdir": str(tmp)})
    env = {**os.environ, "TMPDIR": str(tmp), "OMBT_POSTMORTEM_HOLD_S": hold_s}
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(tmp_path), "--configfile", str(cfg), "--cores", "2", *targets()]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True,
                            preexec_fn=_restore_sigint)  # noqa: PLW1509
    logs = tmp_path / "results/ex/logs/influx_metrics"

    def holding() -> list[Path]:
        return [p for p in logs.glob("*.log") if "holding the server" in p.read_text()]

    # Ctrl-C of the process group: once every job is in its 60 s hold (a certain window)
    wait_hold = whom == "process group"
    try:
        deadline = time.monotonic() + 90
        servers: list[int] = []
        while time.monotonic() < deadline and (
                len(servers) < len(RUNS) or (wait_hold and len(holding()) < len(RUNS))):
            servers = our_influxd(tmp_path)
            time.sleep(0.05)
        assert len(servers) == len(RUNS), "the influx jobs did not start their servers"
        assert not wait_hold or len(holding()) == len(RUNS), "the jobs did not reach the hold"
        if whom == "process group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, out
    assert "Terminating processes on user request" in out or "KeyboardInterrupt" in out, out
    if whom == "process group":
        for log in holding():  # interrupted in the hold: the stage never got to its last line
            assert "timings (s):" not in log.read_text(), log.read_text()
    assert all(is_dead(pid) for pid in servers)
    assert our_influxd(tmp_path) == []
    assert [p.name for p in tmp.iterdir() if p.name.startswith("ombt-influx")] == []
    assert not (tmp_path / "results/ex/campaign.parquet").exists()

    # SIGINT to snakemake alone: the jobs it let finish are still marked incomplete, so
    # snakemake asks for --rerun-incomplete (the SLURM profile sets it; README says so)
    extra = ["--rerun-incomplete"] if whom == "snakemake only" else []
    again = snakemake(tmp_path, cfg, *targets(), *extra, env={"TMPDIR": str(tmp)})
    assert again.returncode == 0, again.output
    table = pd.read_parquet(tmp_path / "results/ex/campaign.parquet").set_index("run_id")
    clean = clean_table(tmp_path_factory).set_index("run_id")
    assert list(table.index) == RUNS
    # the label names a run by what varies within ITS campaign (a subset here)
    cols = [c for c in clean.columns if c != "label"]
    for run in RUNS:
        assert_rows_equal(table.loc[run], clean.loc[run], cols, run)
    assert our_influxd(tmp_path) == []
    assert [p.name for p in tmp.iterdir() if p.name.startswith("ombt-influx")] == []


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def test_sigterm_of_an_influx_job_stops_its_server_and_empties_its_folder(
        tmp_path: Path) -> None:
    """What SLURM's scancel (and snakemake's own shutdown) sends: SIGTERM to the job.

    The job holds its server up (OMBT_POSTMORTEM_HOLD_S): a window in which it is
    certainly running. Only the job's Python process is signalled, not its influxd:
    the job itself must stop the server and delete its private folder
    (logutil.exit_on_sigterm turns SIGTERM into SystemExit so that its ``finally``
    blocks run). A job that died without them would leave its folder behind (the
    parent-death signal would still kill influxd: the folder is the proof).
    """
    camp = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, camp)
    params = json.loads((camp / "params.json").read_text())
    (camp / "params.json").write_text(json.dumps(params[:1]))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cfg = write_config(tmp_path, {"ex": camp}, influx={"backend": "native", "tmpdir": str(tmp)})
    env = {**os.environ, "TMPDIR": str(tmp), "OMBT_POSTMORTEM_HOLD_S": "600"}
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(tmp_path), "--configfile", str(cfg), "--cores", "1", *targets()]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    logs = tmp_path / "results/ex/logs/influx_metrics"
    try:
        deadline = time.monotonic() + 120
        servers: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            servers = our_influxd(tmp_path)
            held = [p for p in logs.glob("*.log") if "holding the server" in p.read_text()]
            if servers and held:
                break
            time.sleep(0.05)
        assert len(servers) == 1 and len(held) == 1, "the influx job never held its server"
        server = servers[0]
        job = _parent(server)  # the job's Python process started influxd
        job_cmd = Path(f"/proc/{job}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert "influx_metrics" in job_cmd, job_cmd
        folders = [p for p in tmp.iterdir() if p.name.startswith("ombt-influx")]
        assert len(folders) == 1 and any(folders[0].rglob("meta.db"))  # the restored data
        os.kill(job, signal.SIGTERM)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, out  # the job failed: snakemake reports it
    assert "Error in rule influx_metrics" in out, out
    assert is_dead(server) and our_influxd(tmp_path) == []
    assert list(tmp.iterdir()) == []  # the job deleted its private folder itself
    text = held[0].read_text()
    assert f"influxd pid {server} stopped" in text, text  # ... and stopped its server itself
    assert "timings (s):" not in text  # in the middle of its hold, not after it
    assert not (tmp_path / "results/ex/runs").exists() or \
        list((tmp_path / "results/ex/runs").rglob("metrics.parquet")) == []


def test_a_second_writer_is_refused_and_a_sigkilled_runs_lock_is_named(tmp_path: Path) -> None:
    """Snakemake's locks hold one working directory; two clones share an absolute
    results_dir with none (issue 25). A runs and holds its influx job (a certain
    window): B, another clone writing the same results_dir, and C, a second snakemake
    in A's own folder, are refused before any job with one line naming A. Then A is
    killed with SIGKILL (a node failure, a hard scancel): Snakemake's lock stays; the
    next run names it and gives the exact --unlock command, which frees the folder."""
    camp = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, camp)
    params = json.loads((camp / "params.json").read_text())
    (camp / "params.json").write_text(json.dumps(params[:1]))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    shared = tmp_path / "shared-results"
    clones = {}
    for name in ("a", "b"):
        work = tmp_path / name
        work.mkdir()
        clones[name] = (work, write_config(work, {"ex": camp}, results_dir=str(shared), influx={
            "backend": "native", "tmpdir": str(tmp)}))
    (work_a, cfg_a), (work_b, cfg_b) = clones["a"], clones["b"]
    targets_ = [str(shared / "ex" / name) for name in ("campaign.parquet", "problems.csv")]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(work_a), "--configfile", str(cfg_a), "--cores", "1", *targets_]
    env = {**os.environ, "TMPDIR": str(tmp), "OMBT_POSTMORTEM_HOLD_S": "600"}
    proc = subprocess.Popen(cmd, cwd=work_a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    logs = shared / "ex/logs/influx_metrics"
    try:
        deadline = time.monotonic() + 120
        held: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None and not held:
            held = [p for p in logs.glob("*.log") if "holding the server" in p.read_text()]
            time.sleep(0.05)
        assert held, "the influx job never held its server"
        before = sorted(str(p) for p in shared.rglob("*"))
        for work, cfg in ((work_b, cfg_b), (work_a, cfg_a)):
            other = snakemake(work, cfg, *targets_, env={"TMPDIR": str(tmp)})
            assert other.returncode != 0, other.output
            mine = [ln for ln in other.output.splitlines() if ln.startswith("ombt-postmortem:")]
            assert len(mine) == 1, other.output
            assert re.fullmatch(re.escape(
                f"ombt-postmortem: the results of campaign 'ex' in {shared} are being written "
                f"by another snakemake (pid {proc.pid} on {socket.gethostname()}, working "
                f"directory {work_a}, since ") + r"[-0-9]+ [0-9:]+ \w*" + re.escape(
                "): wait for it to end, or give this one another results_dir"), mine[0]), mine
            assert "Job stats" not in other.output and "Traceback" not in other.output
        assert sorted(str(p) for p in shared.rglob("*")) == before  # B and C wrote nothing
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert our_influxd(work_a) == []  # the job's server died with it (parent-death signal)
    assert list((work_a / ".snakemake/locks").glob("*.lock"))  # Snakemake's lock stayed

    again = snakemake(work_a, cfg_a, *targets_, env={"TMPDIR": str(tmp)})
    assert again.returncode != 0, again.output
    mine = [ln for ln in again.output.splitlines() if ln.startswith("ombt-postmortem:")]
    assert len(mine) == 1 and "LockException" not in again.output, again.output
    assert "Job stats" not in again.output and "Traceback" not in again.output
    assert mine[0].startswith(f"ombt-postmortem: {work_a / '.snakemake/locks'} holds the lock "
                              "of a snakemake that is no longer running"), mine
    unlock = mine[0].split("run once `")[1].split("`")[0]
    # the command of that run (conftest.snakemake), plus --unlock
    assert shlex.split(unlock) == [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
        str(work_a), "--configfile", str(cfg_a), "--cores", "2", *targets_, "--unlock"]
    freed = subprocess.run(shlex.split(unlock), cwd=work_a, capture_output=True, text=True,
                           timeout=300)
    assert freed.returncode == 0, freed.stdout + freed.stderr
    done = snakemake(work_a, cfg_a, *targets_, env={"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.output
    table = pd.read_parquet(shared / "ex/campaign.parquet")
    assert list(table["run_id"]) == [params[0]["backup_dir"]]
    assert list(table["status"]) == ["ok"]
