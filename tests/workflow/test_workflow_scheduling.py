"""Real snakemake: the scheduling settings of local runs (profiles/default, common.smk).

Snakemake's default job rate limiter (--max-jobs-per-timespan 100/1s) arms a timer
after every scheduling round, which multiplies the rounds of a local run with many
ready jobs (docs/benchmarks.md, "Scheduling cost"); the workflow drops it for local
runs, and keeps a limit given on purpose. Snakemake logs the limiter it creates
("Submitting maximum N job(s) over T second(s).") at debug level.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO, run_ids, snakemake, write_config

from ombt_postmortem import layout

pytestmark = pytest.mark.workflow

LIMITER = "Submitting maximum"


def _campaign(work: Path) -> Path:
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    return write_config(work, {"ex": camp}, influx={"enabled": False})


def test_profile_sets_the_greedy_subsampled_scheduler() -> None:
    import yaml

    profile = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert profile["scheduler"] == "greedy"
    assert profile["scheduler-subsample"] >= 2  # at least the cores of a small machine
    assert profile["rerun-incomplete"] is True


def test_local_run_without_default_rate_limiter(tmp_path: Path) -> None:
    cfg = _campaign(tmp_path)
    target = f"results/ex/{layout.CAMPAIGN_CSV}"
    res = snakemake(tmp_path, cfg, target, "--verbose")
    assert res.returncode == 0, res.output[-3000:]
    assert "Using workflow specific profile" in res.output
    assert LIMITER not in res.output
    # every run processed, in params.json order whatever order the jobs ran in
    table = pd.read_csv(tmp_path / target)
    assert list(table["run_id"]) == run_ids()


def test_rate_limit_given_on_purpose_is_kept(tmp_path: Path) -> None:
    cfg = _campaign(tmp_path)
    target = f"results/ex/{layout.CAMPAIGN_CSV}"
    res = snakemake(tmp_path, cfg, target, "--verbose", "--max-jobs-per-timespan", "50/1s")
    assert res.returncode == 0, res.output[-3000:]
    assert f"{LIMITER} 50 job(s)" in res.output
