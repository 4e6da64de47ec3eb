"""The cluster route as a user meets it, on a real SLURM cluster (profiles/slurm).

One scenario, in the order a user meets it:
- the README's cluster command, as written: it stops before submitting anything with
  one line saying what to add (on the CI's 2-CPU node: ``--cores 2``), no traceback;
- with that added, and nothing else, SIGTERM half-way (what SLURM sends at the end of
  a walltime, SIGKILL following after KillWait, 30 s) ends snakemake within 30 s: the
  run's SLURM jobs cancelled (empty queue), no influxd, no temp folder, no lock;
- the same command again completes on the bundled example, every job a SLURM job that
  completed, with the campaign table of a local run.

It needs a cluster, so it only runs when asked:

    eval "$(bash ci/slurm-up.sh)"    # as root: single node on 127.0.0.1; exports OMBT_SLURM=1
    eval "$(bash ci/slurm-venv.sh)"  # the SLURM executor plugin's venv
    pytest -m slurm                  # OMBT_REQUIRE_SLURM=1: fail, not skip, when no cluster answers
    bash ci/slurm-down.sh

Snakemake runs from the venv holding the plugin: ``OMBT_SLURM_PYTHON``, else
``.venv-slurm/bin/python`` (ci/slurm-venv.sh). ``OMBT_SLURM_PARTITION`` stands for the
README's ``<your partition>`` (default: the CI cluster's ``debug``);
``OMBT_SLURM_RUN_TIMEOUT`` bounds each SLURM run (seconds, default 600).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO, write_config
from influx_helpers import needs_influxd
from test_faults_workflow import our_influxd

pytestmark = [pytest.mark.slurm, pytest.mark.workflow, needs_influxd]

CAMPAIGN = "example"
TABLE = f"results/{CAMPAIGN}/campaign.parquet"
SLURM_TIMEOUT_S = float(os.environ.get("OMBT_SLURM_RUN_TIMEOUT", "600"))
# the bound: SLURM's SIGKILL follows its SIGTERM after KillWait (30 s by default)
SIGTERM_DEADLINE_S = 30


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


@pytest.fixture(scope="module")
def slurm() -> dict[str, object]:
    """A SLURM cluster that answers, and whether it keeps job accounting (sacct)."""
    if os.environ.get("OMBT_SLURM") != "1" and os.environ.get("OMBT_REQUIRE_SLURM") != "1":
        pytest.skip("SLURM test not enabled: run ci/slurm-up.sh as root, then set OMBT_SLURM=1")
    missing = [c for c in ("sinfo", "sbatch", "squeue", "scancel", "srun") if not shutil.which(c)]
    if missing:
        _unavailable(f"SLURM client commands not found: {' '.join(missing)} (ci/slurm-up.sh)")
    if _cmd(_python(), "-c", "import snakemake_executor_plugin_slurm").returncode != 0:
        _unavailable(f"snakemake-executor-plugin-slurm is not installed for {_python()} "
                     "(bash ci/slurm-venv.sh, or pip install 'ombt-postmortem[slurm]')")
    try:
        info = _cmd("sinfo", "--noheader", "--format=%a|%T")
    except subprocess.TimeoutExpired:
        _unavailable("sinfo did not answer within 20 s: no slurmctld (ci/slurm-up.sh)")
    usable = [ln for ln in info.stdout.split() if re.match(r"up\|(idle|mixed|allocated)", ln)]
    if info.returncode != 0 or not usable:
        _unavailable(f"no SLURM partition up with an idle node (sinfo: "
                     f"{(info.stdout + info.stderr).strip() or info.returncode})")
    accounting = _cmd("sacct", "--noheader", "-X", "--format=JobIdRaw").returncode == 0
    node_cpus = max(int(w.rstrip("+")) for w in
                    _cmd("sinfo", "--noheader", "--Node", "--format=%c").stdout.split())
    return {"accounting": accounting, "node_cpus": node_cpus}


def _readme_command() -> tuple[dict[str, str], list[str]]:
    """The README's cluster command: its environment and its arguments, with the
    plugin's venv for `.venv-slurm/bin/python` and the test's partition for
    `<your partition>`."""
    text = (REPO / "README.md").read_text()
    lines = [ln for ln in re.findall(r"```sh\n(.*?)```", text, re.S)
             for ln in ln.splitlines() if "--profile profiles/slurm" in ln]
    assert len(lines) == 1, f"the README shows {len(lines)} cluster commands: {lines}"
    words = shlex.split(lines[0].replace("<your partition>", "PARTITION"))
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if env.get("OMBT_SLURM_PARTITION") == "PARTITION":
        env["OMBT_SLURM_PARTITION"] = os.environ.get("OMBT_SLURM_PARTITION") or "debug"
    assert words[0] == ".venv-slurm/bin/python", words
    return env, [_python(), *words[1:]]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SNAKEMAKE_PROFILE", None)
    # the cluster jobs run `python -m snakemake` from the plugin's environment
    env["PATH"] = f"{Path(_python()).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _start(work: Path, cfg: Path, args: list[str], *, env: dict[str, str] | None = None,
           log_name: str = "snakemake.log") -> tuple[subprocess.Popen[bytes], Path]:
    """The README's command from the repository (as a user types it there), its outputs
    in ``work`` (--directory, --configfile: the test's own folder and campaign copy)."""
    readme_env, cmd = _readme_command()
    cmd = [*cmd, *args, "--directory", str(work), "--configfile", str(cfg)]
    log = work / log_name
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                env=_env({**readme_env, **(env or {})}),
                                start_new_session=True)
    return proc, log


def _finish(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> tuple[int, str]:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        text = log.read_text()
        _scancel(text)
        pytest.fail(f"snakemake still running after {timeout:.0f} s\n{_tail(text)}")
    return rc, log.read_text()


def _run(work: Path, cfg: Path, args: list[str], **kw: object) -> tuple[int, str]:
    proc, log = _start(work, cfg, args, **kw)  # type: ignore[arg-type]
    return _finish(proc, log, SLURM_TIMEOUT_S)


def _tail(text: str, n: int = 60) -> str:
    return "\n".join(text.splitlines()[-n:])


def _run_id(text: str) -> str | None:
    m = re.search(r"SLURM run ID: (\S+)", text)
    return m.group(1) if m else None


def _scancel(text: str) -> None:
    run_id = _run_id(text)
    if run_id:
        _cmd("scancel", f"--name={run_id}")


def _queued(run_id: str) -> list[str]:
    """The run's SLURM jobs still pending, running or completing (squeue's default states)."""
    out = _cmd("squeue", "--noheader", f"--name={run_id}", "--format=%i|%T").stdout
    return out.split()


def _slurm_jobs(run_id: str, job_ids: list[str], accounting: bool) -> dict[str, tuple[str, str]]:
    """job id -> (state, comment) as SLURM reports them, for the jobs of one snakemake run."""
    jobs: dict[str, tuple[str, str]] = {}
    # finished jobs stay in squeue for MinJobAge (600 s on the CI cluster)
    res = _cmd("squeue", "--noheader", "--states=all", f"--name={run_id}", "--format=%i|%T|%k")
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


def _ombt_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("ombt-postmortem:")]


# ---------------------------------------------------------------------------
# the reference: a plain local run
# ---------------------------------------------------------------------------

def _copy_example(dst: Path) -> Path:
    shutil.copytree(EXAMPLE, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    return dst


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the example for every run of this module (the table names its path)."""
    return _copy_example(tmp_path_factory.mktemp("example") / "campaign")


@pytest.fixture(scope="module")
def local_table(slurm: dict[str, object], campaign: Path,
                tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    work = tmp_path_factory.mktemp("local")
    cfg = write_config(work, {CAMPAIGN: campaign})
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", TABLE, "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(work), "--configfile", str(cfg), "--cores", "2"],
        cwd=work, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, _tail(proc.stdout + proc.stderr)
    assert "SLURM" not in proc.stdout + proc.stderr
    table = pd.read_parquet(work / TABLE)
    assert len(table) == len(json.loads((EXAMPLE / "params.json").read_text()))
    return table


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------

def _as_written(slurm: dict[str, object], n_runs: int, work: Path, cfg: Path) -> list[str]:
    """The README's command as written; returns what it says to add (nothing where the
    profile's `cores: 8` fits the nodes)."""
    have = int(slurm["node_cpus"])  # type: ignore[call-overload]
    rc, text = _run(work, cfg, [], log_name="as-written.log")
    if have >= 8:
        assert rc == 0, _tail(text)
        return []
    # the profile's `cores: 8` does not fit a node of fewer CPUs: one line, nothing sent
    assert rc == 1, _tail(text)
    lines = _ombt_lines(text)
    assert len(lines) == 1, text
    assert (f"one cluster job runs {n_runs} runs (2 jobs per run) and asks SLURM for 8 CPUs "
            f"({n_runs} runs per cluster job x 2 CPUs per run, capped by --cores 8)"
            ) in lines[0], lines[0]
    assert f"have at most {have} (sinfo)" in lines[0], lines[0]
    for noise in ("Traceback", "Exception", 'File "'):
        assert noise not in text, text
    assert "has been submitted with SLURM jobid" not in text
    run_id = _run_id(text)
    assert run_id and _cmd("squeue", "--noheader", "--states=all",
                           f"--name={run_id}").stdout == ""
    assert not list((work / ".snakemake" / "locks").glob("*"))
    advice = re.findall(r"Pass (--cores \d+)", lines[0])
    assert advice == [f"--cores {have}"], lines[0]
    return advice[0].split()


def test_readme_cluster_command_survives_sigterm_and_completes(
        slurm: dict[str, object], campaign: Path, local_table: pd.DataFrame,
        tmp_path: Path) -> None:
    """As a user meets the route: the README's command as written, then with what it
    says to add; SIGTERM half-way (as `timeout`, or SLURM at the end of the walltime of
    the allocation snakemake runs in); the same command again completes."""
    tmp = tmp_path / "influx-tmp"
    tmp.mkdir()
    cfg = write_config(tmp_path, {CAMPAIGN: campaign},
                       influx={"backend": "native", "tmpdir": str(tmp)})
    advice = _as_written(slurm, len(local_table), tmp_path, cfg)

    # with the advice; the influx jobs hold their server: a window in which the
    # cluster job certainly runs
    proc, log = _start(tmp_path, cfg, advice, env={"OMBT_POSTMORTEM_HOLD_S": "600"},
                       log_name="interrupted.log")
    logs = tmp_path / f"results/{CAMPAIGN}/logs/influx_metrics"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if any("holding the server" in p.read_text() for p in logs.glob("*.log")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, _tail(log.read_text())
        assert our_influxd(tmp_path), "no influx job of the cluster job holds its server"
        run_id = _run_id(log.read_text())
        assert run_id and _queued(run_id), log.read_text()

        os.kill(proc.pid, signal.SIGTERM)
        try:
            rc = proc.wait(timeout=SIGTERM_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"snakemake still running {SIGTERM_DEADLINE_S} s after SIGTERM\n"
                        f"{_tail(log.read_text())}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _scancel(log.read_text())
    text = log.read_text()
    assert rc != 0, _tail(text)
    if not slurm["accounting"]:
        assert any("sacct does not answer here" in ln and "followed with squeue" in ln
                   for ln in _ombt_lines(text)), text
    assert f"SLURM jobs of this run cancelled (scancel --name={run_id})" in text, text
    # nothing left: the queue (a cancelled job's processes get KillWait to end), the
    # job's influxd and its private folder, Snakemake's lock and temp folder
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (_queued(run_id) or our_influxd(tmp_path)
                                           or list(tmp.iterdir())):
        time.sleep(0.5)
    assert _queued(run_id) == []
    assert our_influxd(tmp_path) == []
    assert list(tmp.iterdir()) == []
    assert not list((tmp_path / ".snakemake" / "locks").glob("*"))
    assert not list((tmp_path / ".snakemake").glob("tmp.*"))
    assert not (tmp_path / TABLE).exists()

    # the same command again: no --unlock; every job a SLURM job that completed; the
    # table of a run never interrupted; the other outputs of `rule all` too
    rc, text = _run(tmp_path, cfg, advice, log_name="rerun.log")
    _scancel(text)
    assert rc == 0, _tail(text)
    run_id = _run_id(text)
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", text)
    assert run_id and job_ids, text
    jobs = _slurm_jobs(run_id, job_ids, bool(slurm["accounting"]))
    assert sorted(jobs) == sorted(job_ids), (jobs, job_ids)
    assert {state for state, _ in jobs.values()} == {"COMPLETED"}, jobs
    comments = [comment for _, comment in jobs.values()]
    for rule in ("influx_metrics", "campaign_table", "figures_campaign"):
        assert any(rule in c for c in comments), f"no SLURM job ran rule {rule}: {jobs}"
    # the per-run jobs of the example's 8 runs (< 20, profiles/slurm) in one cluster job
    assert len([c for c in comments if "influx_metrics" in c]) == 1, jobs
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / TABLE), local_table)
    assert (tmp_path / f"results/{CAMPAIGN}/figures").is_dir()
    assert our_influxd(tmp_path) == [] and list(tmp.iterdir()) == []
