"""Quiet by default (issue 22, item 8): a config typo is one line naming the key, the
jobs' INFO lines go to their log files and not to the console (unless
OMBT_POSTMORTEM_VERBOSE), warnings still do."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import snakemake, write_config

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
    assert len(res.output.splitlines()) < 10, res.output


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
    for h in log.handlers:
        h.flush()
    err = capsys.readouterr().err
    text = (tmp_path / "job.log").read_text()
    assert "wrote a.png" in text and "partial: run r" in text
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
