"""The reader's CLI and API (issue 22, item 10): `ombt-postmortem runs`, figures in
several formats, a clean exit on a closed pipe, no RST in --help, "1 client"."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, controller_log, run_ids
from independent import load_sides, side_expected
from independent_messages import expected_summary

from ombt_postmortem.campaign import write_campaign
from ombt_postmortem.figspec import FigureOptions
from ombt_postmortem.figures import load_curves
from ombt_postmortem.layout import CampaignDir
from ombt_postmortem.messages.analyse import analyse_messages, write_messages
from ombt_postmortem.ombt.run import analyse_run, write_run_stats
from ombt_postmortem.params import load_params

CLI = [sys.executable, "-m", "ombt_postmortem.cli"]


def _results(campaign: Path, out: Path) -> Path:
    """The campaign's results (stages 1, messages, 3), as the workflow lays them out."""
    cdir = CampaignDir(out)
    for run in load_params(campaign):
        d = cdir.run(run.key)
        d.mkdir(parents=True)
        write_run_stats(analyse_run(campaign / run.run_id, run.run_id), d / "ombt.parquet",
                        d / "agents.parquet", d / "latency_hist.parquet")
        write_messages(analyse_messages(campaign / run.run_id, run.run_id),
                       d / "messages.parquet", d / "timeline.parquet", None)
    write_campaign(campaign, cdir, with_metrics=False, with_messages=True)
    return out


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    subprocess.run([*CLI, "synth", str(tmp / "fail"), "--clients", "1", "3", "--servers", "1",
                    "--fail-rate", "0.01", "--no-influx", "--agent-logs"], check=True,
                   capture_output=True)
    return tmp / "fail", _results(tmp / "fail", tmp / "results" / "fail")


def test_runs_one_line_per_run(failing: tuple[Path, Path]) -> None:
    campaign, results = failing
    out = subprocess.run([*CLI, "runs", str(results.parent)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    with (results / "campaign.csv").open() as f:
        table = list(csv.DictReader(f))
    assert out[0].startswith(f"campaign fail: {len(table)} runs")
    assert out[1].split() == ["label", "status", "rate/s", "p50_ms", "p99_ms", "problems"]
    lines = out[2:]
    assert len(lines) == len(table)
    for line, row in zip(lines, table, strict=True):
        folder = campaign / row["run_id"]
        rate = side_expected(load_sides(controller_log(folder))["client"])["rate"]
        exact = expected_summary(folder)
        cells = line.split()
        assert cells[0] == row["label"] and cells[1] == row["status"]
        assert cells[2:5] == [f"{rate:.1f}", f"{exact['rtt_p50_ms']:.2f}",
                              f"{exact['rtt_p99_ms']:.2f}"]
        if row["status"] == "partial":
            assert "message(s) failed; errors: 1 kind" in line
            assert row["run_id"] not in line  # the label names the run
        assert len(line) < 250


def test_runs_names_a_missing_folder(tmp_path: Path) -> None:
    proc = subprocess.run([*CLI, "runs", str(tmp_path / "nope")], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr


def test_closed_pipe_is_a_clean_exit(failing: tuple[Path, Path]) -> None:
    campaign, _ = failing
    folder = sorted(p for p in campaign.iterdir() if p.is_dir())[0]
    cmd = " ".join([*CLI, "show", "--raw-errors", str(folder)]) + " | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                          text=True)
    assert proc.stdout.startswith("Run folder: ")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 141)


@pytest.mark.parametrize("sub", [None, "show", "runs", "synth", "compare"])
def test_help_has_no_rst(sub: str | None) -> None:
    out = subprocess.run([*CLI, *([sub] if sub else []), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "``" not in out and ":func:" not in out


def test_show_says_1_client() -> None:
    run = next(r for r in run_ids() if "nbr_clients__1-nbr_servers__1" in r)
    out = subprocess.run([*CLI, "show", str(EXAMPLE / run)], capture_output=True,
                         text=True, check=True).stdout
    assert "1 client, 1 server (2 total)" in out


def test_figures_in_several_formats(failing: tuple[Path, Path], tmp_path: Path) -> None:
    _, results = failing
    table = pd.read_parquet(results / "campaign.parquet")
    fs = load_curves(table, tmp_path, FigureOptions.from_config({"format": ["png", "pdf"]}))
    assert fs.written
    for w in fs.written:
        assert w.figure.suffix == ".png"
        assert w.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert w.figure.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("sub", ["show", "runs"])
def test_a_reader_gone_before_the_first_line_is_a_clean_exit(
        failing: tuple[Path, Path], sub: str) -> None:
    """A real pipe whose read end is closed before the command starts: its first write
    fails (EPIPE) whatever the output's size, unlike `| head`, which may read it all."""
    campaign, results = failing
    arg = sorted(p for p in campaign.iterdir() if p.is_dir())[0] if sub == "show" \
        else results.parent
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([*CLI, sub, str(arg)], stdout=w, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(w)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.stderr == ""
    assert proc.returncode == 141
