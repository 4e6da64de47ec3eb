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
    try:
        deadline = time.monotonic() + 90
        servers: list[int] = []
        while time.monotonic() < deadline and len(servers) < len(RUNS):
            servers = our_influxd(tmp_path)
            time.sleep(0.05)
        assert len(servers) == len(RUNS), "the influx jobs did not start their servers"
        t0 = time.monotonic()
        if whom == "process group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0, out
    assert "Terminating processes on user request" in out or "KeyboardInterrupt" in out, out
    if whom == "process group":
        assert took < 20, f"Ctrl-C took {took:.1f} s"  # not the 60 s hold
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
    for run in RUNS:
        assert_rows_equal(table.loc[run], clean.loc[run], list(clean.columns), run)
    assert our_influxd(tmp_path) == []
    assert [p.name for p in tmp.iterdir() if p.name.startswith("ombt-influx")] == []
