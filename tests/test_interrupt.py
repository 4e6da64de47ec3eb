"""SIGINT mid-run: no influxd and no temp folder left, and a re-run completes with the
table an uninterrupted run gives. (SIGKILL of one job: test_workflow_influx.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
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
