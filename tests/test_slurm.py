"""The workflow through a real SLURM cluster, with profiles/slurm.

The bundled example campaign is processed twice: locally (``--cores``) and through
``--profile profiles/slurm`` (snakemake-executor-plugin-slurm). The test checks that
the per-run and campaign jobs really ran as SLURM jobs (the job ids the plugin
printed, their state and rule as SLURM reports them) and that both campaign tables
are identical.

It needs a cluster, so it only runs when asked:

    eval "$(bash ci/slurm-up.sh)"    # as root: single node on 127.0.0.1; exports OMBT_SLURM=1
    pytest -m slurm                  # OMBT_REQUIRE_SLURM=1: fail, not skip, when no cluster answers
    bash ci/slurm-down.sh

On a cluster without job accounting (ci/slurm-up.sh's) the plugin must be told to
poll ``squeue`` or it waits forever; the test detects that from ``scontrol show
config`` and adds ``--slurm-status-command squeue``. Snakemake runs from the venv
holding the SLURM executor plugin: ``OMBT_SLURM_PYTHON``, else ``.venv-slurm/bin/python``
(ci/slurm-venv.sh), else this interpreter. ``OMBT_SLURM_PARTITION`` picks
the partition (profiles/slurm/config.yaml), ``OMBT_SLURM_RUN_TIMEOUT`` bounds the
SLURM run (seconds, default 600).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

PROFILE = REPO / "profiles" / "slurm"
CAMPAIGN = "example"
TARGET = f"results/{CAMPAIGN}/campaign.parquet"
RUNS_PER_JOB = 4
# first status check after 1 s (the plugin's default, 40 s, is for busy clusters)
INIT_STATUS_DELAY_S = 1
SLURM_TIMEOUT_S = float(os.environ.get("OMBT_SLURM_RUN_TIMEOUT", "600"))


def _python() -> str:
    """The interpreter whose environment holds the SLURM executor plugin."""
    given = os.environ.get("OMBT_SLURM_PYTHON")
    if given:
        return given
    overlay = REPO / ".venv-slurm" / "bin" / "python"
    return str(overlay) if overlay.exists() else sys.executable


# ---------------------------------------------------------------------------
# the cluster
# ---------------------------------------------------------------------------

def _unavailable(reason: str) -> None:
    if os.environ.get("OMBT_REQUIRE_SLURM") == "1":
        pytest.fail(f"OMBT_REQUIRE_SLURM=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _cmd(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _slurm_config() -> dict[str, str]:
    out = _cmd("scontrol", "show", "config").stdout
    conf = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            conf[key.strip()] = value.strip()
    return conf


def _seconds(value: str) -> int | None:
    m = re.match(r"(\d+)\s*(\w*)", value or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    return n * 3600 if unit in ("h", "hour", "hours") else n


@pytest.fixture(scope="module")
def slurm() -> dict[str, object]:
    """A SLURM cluster that answers, and how to talk to it."""
    if os.environ.get("OMBT_SLURM") != "1" and os.environ.get("OMBT_REQUIRE_SLURM") != "1":
        pytest.skip("SLURM test not enabled: run ci/slurm-up.sh as root, then set OMBT_SLURM=1")
    missing = [c for c in ("sinfo", "sbatch", "squeue", "scontrol", "srun") if not shutil.which(c)]
    if missing:
        _unavailable(f"SLURM client commands not found: {' '.join(missing)} (ci/slurm-up.sh)")
    if _cmd(_python(), "-c", "import snakemake_executor_plugin_slurm").returncode != 0:
        _unavailable(f"snakemake-executor-plugin-slurm is not installed for {_python()} "
                     "(bash ci/slurm-venv.sh, or pip install 'ombt-postmortem[slurm]')")
    try:
        info = _cmd("sinfo", "--noheader", "--format=%a|%T")
    except subprocess.TimeoutExpired:
        _unavailable("sinfo did not answer within 20 s: no slurmctld (ci/slurm-up.sh)")
    usable = [ln for ln in info.stdout.split()
              if re.match(r"up\|(idle|mixed|allocated)", ln)]
    if info.returncode != 0 or not usable:
        _unavailable(f"no SLURM partition up with an idle node (sinfo: "
                     f"{(info.stdout + info.stderr).strip() or info.returncode})")
    conf = _slurm_config()
    accounting = conf.get("AccountingStorageType", "") == "accounting_storage/slurmdbd"
    if not accounting:
        min_job_age = _seconds(conf.get("MinJobAge", ""))
        # the plugin refuses squeue when finished jobs may vanish before it looks
        assert min_job_age is not None and min_job_age >= 3 * INIT_STATUS_DELAY_S, (
            f"no job accounting and MinJobAge={conf.get('MinJobAge')}: squeue cannot "
            "follow the jobs (ci/slurm-up.sh sets MinJobAge=600)")
    return {"accounting": accounting}


# ---------------------------------------------------------------------------
# running snakemake
# ---------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SNAKEMAKE_PROFILE", None)
    # the jobs run `python -m snakemake` from this environment
    env["PATH"] = f"{Path(_python()).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(work: Path, cfg: Path, args: list[str], timeout: float, *, expect_rc: int = 0) -> str:
    """Run snakemake in its own process group; kill the whole group on timeout."""
    log = work / "snakemake.log"
    cmd = [_python(), "-m", "snakemake", TARGET,
           "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfg), *args]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                env=_env(), start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM first: snakemake then scancels the SLURM jobs it submitted
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = None
    text = log.read_text()
    tail = "\n".join(text.splitlines()[-60:])
    assert rc is not None, f"snakemake still running after {timeout:.0f} s: {cmd}\n{tail}"
    if expect_rc == 0:
        assert rc == 0, f"snakemake failed (exit {rc}): {cmd}\n{tail}"
    else:
        assert rc != 0, f"snakemake should have failed: {cmd}\n{tail}"
    return text


def _slurm_jobs(run_uuid: str, job_ids: list[str], accounting: bool) -> dict[str, tuple[str, str]]:
    """job id -> (state, comment) as SLURM reports them, for the jobs of one snakemake run."""
    jobs: dict[str, tuple[str, str]] = {}
    # finished jobs stay in squeue for MinJobAge (600 s on the CI cluster)
    res = _cmd("squeue", "--noheader", "--states=all", f"--name={run_uuid}",
               "--format=%i|%T|%k")
    for line in res.stdout.splitlines():
        jid, state, comment = line.split("|", 2)
        jobs[jid] = (state, comment)
    if accounting and set(job_ids) - set(jobs):
        res = _cmd("sacct", "--noheader", "--parsable2", "--allocations",
                   f"--jobs={','.join(job_ids)}", "--format=JobID,State,Comment")
        for line in res.stdout.splitlines():
            jid, state, comment = line.split("|", 2)
            jobs.setdefault(jid, (state, comment))
    return jobs


def _scancel_run(run_uuid: str | None) -> None:
    if run_uuid:
        _cmd("scancel", f"--name={run_uuid}")


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------

def test_slurm_profile_matches_local_run(slurm: dict[str, object], campaign_copy: Path,
                                         tmp_path: Path) -> None:
    local = tmp_path / "local"
    cluster = tmp_path / "slurm"
    local.mkdir()
    cluster.mkdir()

    # the reference: a plain local run, no groups
    cfg = write_config(local, {CAMPAIGN: campaign_copy})
    t0 = time.monotonic()
    local_log = _run(local, cfg, ["--cores", "2"], timeout=600)
    t_local = time.monotonic() - t0
    assert "SLURM jobid" not in local_log

    # the same through SLURM, with the project's profile; the per-run jobs of
    # RUNS_PER_JOB runs go to one cluster job (config cluster.runs_per_job, the
    # workflow's group "per_run"), one CPU per group job so that two of them run
    # side by side on a 2-CPU node
    cfg = write_config(cluster, {CAMPAIGN: campaign_copy},
                       cluster={"runs_per_job": RUNS_PER_JOB})
    args = [
        "--profile", str(PROFILE),
        "--cores", "1",
        "--slurm-init-seconds-before-status-checks", str(INIT_STATUS_DELAY_S),
        "--slurm-keep-successful-logs",
        "--latency-wait", "10",
    ]
    if not slurm["accounting"]:
        # without slurmdbd, `sacct` (the plugin's default) never sees a job finish
        args += ["--slurm-status-command", "squeue"]
    run_uuid = None
    t0 = time.monotonic()
    try:
        cluster_log = _run(cluster, cfg, args, timeout=SLURM_TIMEOUT_S)
        print(f"local run {t_local:.1f} s, SLURM run {time.monotonic() - t0:.1f} s")
        m = re.search(r"SLURM run ID: (\S+)", cluster_log)
        assert m, cluster_log
        run_uuid = m.group(1)
    finally:
        # nothing of ours stays queued, whatever happened
        if run_uuid is None and (cluster / "snakemake.log").exists():
            m = re.search(r"SLURM run ID: (\S+)", (cluster / "snakemake.log").read_text())
            run_uuid = m.group(1) if m else None
        _scancel_run(run_uuid)

    # the jobs went through SLURM: the ids the plugin printed are SLURM jobs of this
    # run (job name = the run's id), they completed, and they cover every rule
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", cluster_log)
    assert job_ids, cluster_log
    jobs = _slurm_jobs(run_uuid, job_ids, bool(slurm["accounting"]))
    assert sorted(jobs) == sorted(job_ids), (jobs, job_ids)
    assert {state for state, _ in jobs.values()} == {"COMPLETED"}, jobs
    comments = [comment for _, comment in jobs.values()]
    for rule in ("ombt_stats", "influx_metrics", "campaign_table"):
        assert any(rule in c for c in comments), f"no SLURM job ran rule {rule}: {jobs}"
    # one cluster job per RUNS_PER_JOB runs, each running both per-run rules
    n_runs = len(pd.read_parquet(local / TARGET))
    grouped = [c for c in comments if "ombt_stats" in c and "influx_metrics" in c]
    assert len(grouped) == -(-n_runs // RUNS_PER_JOB), jobs
    assert len(jobs) == len(grouped) + 1, jobs
    # the plugin kept each job's SLURM output (--slurm-keep-successful-logs)
    assert len(list((cluster / ".snakemake" / "slurm_logs").rglob("*.log"))) == len(jobs)

    # identical campaign tables
    expected = pd.read_parquet(local / TARGET)
    got = pd.read_parquet(cluster / TARGET)
    assert len(got) == len(expected) > 0
    pd.testing.assert_frame_equal(got, expected)


def test_slurm_profile_too_big_for_the_nodes_fails_before_submitting(
        slurm: dict[str, object], campaign_copy: Path, tmp_path: Path) -> None:
    """More CPUs per group job than any node has: a clear error, and no job submitted."""
    nodes = [int(w.rstrip("+")) for w in _cmd("sinfo", "--noheader", "--Node",
                                              "--format=%c").stdout.split()]
    too_many = max(nodes) + 1
    cfg = write_config(tmp_path, {CAMPAIGN: campaign_copy},
                       cluster={"runs_per_job": too_many})
    args = ["--profile", str(PROFILE), "--cores", str(too_many)]
    if not slurm["accounting"]:
        args += ["--slurm-status-command", "squeue"]
    log = _run(tmp_path, cfg, args, timeout=300, expect_rc=1)
    assert f"would ask SLURM for {too_many} CPUs" in log, log[-3000:]
    assert f"have at most {max(nodes)}" in log and f"Pass --cores {max(nodes)}" in log
    assert "has been submitted with SLURM jobid" not in log
    m = re.search(r"SLURM run ID: (\S+)", log)
    if m:  # nothing of this run reached SLURM
        assert _cmd("squeue", "--noheader", "--states=all", f"--name={m.group(1)}").stdout == ""
