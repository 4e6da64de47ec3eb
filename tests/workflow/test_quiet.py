"""Quiet by default (issue 22, item 8): a config typo is one line naming the key, the
jobs' INFO lines go to their log files and not to the console (unless
OMBT_POSTMORTEM_VERBOSE), warnings still do."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import snakemake, write_config

from ombt_postmortem.campaign import problems_summary
from ombt_postmortem.errors import DATA_FAULT
from ombt_postmortem.workflow_support import console
from ombt_postmortem.workflow_support.console import QuietConsole
from ombt_postmortem.workflow_support.logutil import VERBOSE_ENV, job_logger


def test_config_typo_is_one_line(tmp_path: Path) -> None:
    camp = tmp_path / "c"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(camp), "--runs",
                    "1", "--no-influx"], check=True, capture_output=True)
    cfg = write_config(tmp_path, {"c": camp}, influx={"windw_margin_s": 3})
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    lines = [ln for ln in res.output.splitlines() if "windw_margin_s" in ln]
    assert len(lines) == 1
    assert "config: invalid configuration: influx: unknown key 'windw_margin_s'" in lines[0]
    assert "Failed validating" not in res.output
    # that line and nothing else (but Snakemake's note that it read the profile): no
    # traceback, no "WorkflowError in file ... line ..." around it
    others = [ln for ln in res.output.splitlines()
              if ln not in lines and not ln.startswith("Using workflow specific profile")]
    assert others == [], res.output
    assert lines[0].startswith("ombt-postmortem: config: ")


def test_config_error_of_an_alternative_names_the_value(tmp_path: Path) -> None:
    """figures.format is a format or a list of them: the error says which item is wrong,
    not "is not valid under any of the given schemas"."""
    camp = tmp_path / "c"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(camp), "--runs",
                    "1", "--no-influx"], check=True, capture_output=True)
    cfg = write_config(tmp_path, {"c": camp}, figures={"format": ["png", "gif"]})
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    assert ("ombt-postmortem: config: invalid configuration: figures.format.1: 'gif' is not "
            "one of ['png', 'svg', 'pdf']") in res.output.splitlines(), res.output
    assert "given schemas" not in res.output


@pytest.mark.parametrize("verbose", [False, True])
def test_job_info_goes_to_the_log_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch, verbose: bool) -> None:
    if verbose:
        monkeypatch.setenv(VERBOSE_ENV, "1")
    else:
        monkeypatch.delenv(VERBOSE_ENV, raising=False)
    log = job_logger("t", tmp_path / "job.log")
    log.info("figures x: wrote a.png")
    log.warning("partial: run r: 3 client message(s) failed")
    log.warning("run q (f.log): 7 client message(s) failed", extra=DATA_FAULT)
    for h in log.handlers:
        h.flush()
    err = capsys.readouterr().err
    text = (tmp_path / "job.log").read_text()
    assert "wrote a.png" in text and "partial: run r" in text
    assert "WARNING run q (f.log): 7 client" in text  # a data fault: in the log file,
    assert ("run q (f.log)" in err) == verbose  # on the console only when verbose
    assert "partial: run r" in err
    assert ("wrote a.png" in err) == verbose
    for h in list(log.handlers):
        h.close()
        log.removeHandler(h)
    logging.getLogger(log.name).handlers.clear()


def test_workflow_console_has_no_info_lines(tmp_path: Path) -> None:
    camp = tmp_path / "c"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(camp), "--runs",
                    "2", "--no-influx", "--agent-logs"], check=True, capture_output=True)
    cfg = write_config(tmp_path, {"c": camp}, influx={"enabled": False})
    res = snakemake(tmp_path, cfg)
    assert res.returncode == 0, res.output[-2000:]
    assert " INFO " not in res.output
    logs = "".join(p.read_text() for p in (tmp_path / "results/c/logs").rglob("*.log"))
    assert " INFO figures " in logs and " INFO " in logs
    assert "ombt-postmortem: campaign c: all 2 runs ok" in res.output


# ---------------------------------------------------- the console of a whole workflow run

def _record(event: str | None, msg: str | None = None, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("snakemake.logging", logging.INFO, __file__, 1, msg, None, None)
    if event is not None:
        rec.event = event
    rec.__dict__.update(extra)
    return rec


def test_quiet_console_filter() -> None:
    f = QuietConsole()
    assert not f.filter(_record("job_info", None, input=["x" * 200]))
    assert not f.filter(_record("job_started", "Execute 1 jobs..."))
    assert not f.filter(_record("job_finished", "Finished jobid: 3 (Rule: run_logs)"))
    assert not f.filter(_record(None, "Select jobs to execute..."))
    assert f.filter(_record("job_error", None))  # a failed job's block stays
    assert f.filter(_record(None, "Building DAG of jobs..."))
    warn = _record(None, "Select jobs to execute...")
    warn.levelno = logging.WARNING
    assert f.filter(warn)
    # at most one progress line per percent (0 % to 100 %), and always the last
    kept = [d for d in range(1, 1001) if f.filter(_record("progress", None, done=d, total=1000))]
    assert kept[:3] == [1, 10, 20] and len(kept) == 101 and kept[-1] == 1000
    g = QuietConsole()
    assert all(g.filter(_record("progress", None, done=d, total=30)) for d in range(1, 31))


def test_quiet_console_wanted() -> None:
    assert console.wanted(False, False, False, {})
    assert not console.wanted(True, False, False, {})  # -p
    assert not console.wanted(False, True, False, {})  # --verbose
    assert not console.wanted(False, False, True, {})  # -n lists the jobs
    assert not console.wanted(False, False, False, {VERBOSE_ENV: "1"})


def test_install_only_on_console_handlers(tmp_path: Path) -> None:
    stream = logging.StreamHandler()
    filed = logging.FileHandler(tmp_path / "f.log")
    try:
        assert console.install([stream, filed]) == 1
        assert console.install([stream, filed]) == 0  # once
        assert [type(f) for f in stream.filters] == [QuietConsole] and not filed.filters
    finally:
        filed.close()


N_RUNS = 12


@pytest.fixture(scope="module")
def twelve(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A 12-run synthetic campaign with timeouts (1 % of the calls fail), run through the
    workflow with the default profile."""
    tmp = tmp_path_factory.mktemp("twelve")
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(tmp / "c"),
                    "--runs", str(N_RUNS), "--fail-rate", "0.01", "--no-influx",
                    "--agent-logs"], check=True, capture_output=True)
    cfg = write_config(tmp, {"c": tmp / "c"}, influx={"enabled": False})
    res = snakemake(tmp, cfg, env={VERBOSE_ENV: ""})
    assert res.returncode == 0, res.output[-3000:]
    return tmp, res


def test_twelve_runs_console_is_progress_and_summary(twelve: tuple[Path, object]) -> None:
    tmp, res = twelve
    lines = res.output.splitlines()  # type: ignore[attr-defined]
    params = json.loads((tmp / "c" / "params.json").read_text())
    run_ids = [p["backup_dir"] for p in params]
    assert len(run_ids) == N_RUNS
    # no job block, no input list, no run id (150 characters each) anywhere
    assert not [ln for ln in lines if any(r in ln for r in run_ids)]
    assert not [ln for ln in lines if ln.strip().startswith(("input:", "output:", "log:",
                                                             "wildcards:", "reason:"))]
    assert "Select jobs to execute..." not in res.output  # type: ignore[attr-defined]
    assert "SNAKEMAKE\n=========" not in res.output  # type: ignore[attr-defined]
    assert max(len(ln) for ln in lines) < 250
    # the progress: one line per job, the last one 100 %
    n_jobs = sum(res.job_counts().values())  # type: ignore[attr-defined]
    progress = [ln for ln in lines if re.fullmatch(r"\d+ of \d+ steps \(.*\) done", ln)]
    assert len(progress) == n_jobs and progress[-1] == f"{n_jobs} of {n_jobs} steps (100%) done"
    # the summary: every run has failed calls (1 % of 500 per client), each is named by
    # its label, 10 of them with their reason, then "... and 2 more"
    summary = [ln for ln in lines if ln.startswith("ombt-postmortem: ")]
    assert summary[0] == (f"ombt-postmortem: campaign c: {N_RUNS} of {N_RUNS} runs have "
                          f"problems (0 failed, {N_RUNS} partial), see "
                          f"{Path('results') / 'c' / 'problems.csv'}")
    listed = summary[1:-1]
    assert len(listed) == 10 and summary[-1] == "ombt-postmortem:   ... and 2 more"
    labels = pd.read_parquet(tmp / "results/c/campaign.parquet")["label"].tolist()
    for ln, label in zip(listed, labels, strict=False):
        assert ln.startswith(f"ombt-postmortem:   {label} (partial): ")
        assert "client message(s) failed; errors: 1 kind" in ln
    # the runs' data faults are in their log files, not on the console
    assert not [ln for ln in lines if "WARNING" in ln]
    logs = "".join(p.read_text() for p in (tmp / "results/c/logs/run_logs").glob("*.log"))
    assert logs.count(" WARNING run ") == N_RUNS
    # all of it: header, job counts, progress, summary, Snakemake's last two lines
    assert len(lines) <= 12 + len(res.job_counts()) + 3 + n_jobs + 12 + 2, res.output  # type: ignore[attr-defined]


def test_the_detail_comes_back_with_p(twelve: tuple[Path, object]) -> None:
    tmp, _ = twelve
    cfg = tmp / "test-config.yaml"
    run = sorted((tmp / "results/c/runs").iterdir())[0]
    res = snakemake(tmp, cfg, "-p", "-R", str(run.relative_to(tmp) / "ombt.parquet"),
                    env={VERBOSE_ENV: ""})
    assert res.returncode == 0, res.output[-3000:]
    assert "localrule run_logs:" in res.output and "    input: " in res.output
    assert "workflow/job.py run_logs" in res.output  # the command -p prints
    assert "Select jobs to execute..." in res.output


# ------------------------------------------------------------------ the end-of-run summary

def _results(root: Path, statuses: list[str]) -> Path:
    """A hand-made results folder: the table's status column and problems.csv."""
    d = root / "results" / "x"
    d.mkdir(parents=True)
    ids = [f"run-{i:02d}" for i in range(len(statuses))]
    pd.DataFrame({"run_id": ids, "status": statuses}).to_parquet(d / "campaign.parquet")
    bad = [(r, s) for r, s in zip(ids, statuses, strict=True) if s != "ok"]
    pd.DataFrame({"run_id": [r for r, _ in bad], "label": [f"n={r[-2:]}" for r, _ in bad],
                  "status": [s for _, s in bad],
                  "problems": [f"run {r} (c.log): {s} because " + "x" * 300 + f"; run {r} "
                               "(c.log): second" for r, s in bad]}).to_csv(d / "problems.csv",
                                                                           index=False)
    return root / "results"


def test_summary_names_runs_failed_first_and_cut(tmp_path: Path) -> None:
    statuses = ["partial"] * 11 + ["failed"]
    lines = problems_summary(_results(tmp_path, statuses), ["x"])
    assert lines[0] == (f"campaign x: 12 of 12 runs have problems (1 failed, 11 partial), "
                        f"see {tmp_path / 'results' / 'x' / 'problems.csv'}")
    assert lines[1].startswith("  n=11 (failed): failed because xxx")  # failed first
    assert lines[2].startswith("  n=00 (partial): partial because xxx")
    assert len(lines) == 1 + 10 + 1 and lines[-1] == "  ... and 2 more"
    for ln in lines[1:-1]:
        assert "run-" not in ln  # the label names the run, not its id
        assert ln.endswith("... (+1 more)") and len(ln) < 200


def test_summary_of_one_run_says_run(tmp_path: Path) -> None:
    assert problems_summary(_results(tmp_path / "a", ["ok"]), ["x"])[0].startswith(
        "campaign x: its 1 run ok (")
    assert problems_summary(_results(tmp_path / "b", ["partial"]), ["x"])[0].startswith(
        "campaign x: 1 of 1 run has problems (0 failed, 1 partial)")
    out = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth",
                          str(tmp_path / "c"), "--runs", "1", "--clients", "1", "--servers",
                          "1", "--no-influx"], check=True, capture_output=True,
                         text=True).stdout
    assert out.startswith("wrote 1 run (2 agents, 500 client messages, 0 InfluxDB backups)")


def test_a_dry_run_lists_the_jobs(twelve: tuple[Path, object]) -> None:
    """-n is asked for the list of jobs: the quiet console leaves it alone."""
    tmp, _ = twelve
    res = snakemake(tmp, tmp / "test-config.yaml", "-n", "-F", env={VERBOSE_ENV: ""})
    assert res.returncode == 0, res.output[-3000:]
    assert res.output.count("rule run_logs:") == N_RUNS, res.output[-3000:]
    assert "    input: " in res.output
