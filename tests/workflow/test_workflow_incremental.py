"""Real snakemake, twice: only stale runs are redone; bad inputs stop with a clear message."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import controller_log, snakemake, write_config

from ombt_postmortem.workflow_support.logutil import VERBOSE_ENV

pytestmark = pytest.mark.workflow


def _mtimes(results: Path) -> dict[str, float]:
    return {str(p.relative_to(results)): p.stat().st_mtime_ns
            for p in results.glob("runs/*/ombt.parquet")}


CAMPAIGN_LEVEL = {"campaign_table", "all", "figures_campaign", "figures_latency",
                  "figures_timeseries", "figures_comparison", "figures_messages"}
PER_RUN = ("run_logs", "influx_metrics")
#: the files of the logs job (rule run_logs) of one run, with the messages stage on
LOGS_JOB_FILES = ("ombt.parquet", "agents.parquet", "latency_hist.parquet",
                  "messages.parquet", "timeline.parquet")


def assert_jobs(counts: dict[str, int], run_logs: int, influx_metrics: int = 0) -> None:
    """run_logs and influx_metrics ran for exactly that many runs; everything else is
    campaign-level, once."""
    want = {"run_logs": run_logs, "influx_metrics": influx_metrics}
    assert {k: counts.get(k, 0) for k in PER_RUN} == want, counts
    others = {k: v for k, v in counts.items() if k not in PER_RUN}
    assert set(others) <= CAMPAIGN_LEVEL and {"campaign_table", "all"} <= set(others), counts
    assert set(others.values()) == {1}, counts


def _agent_log(run_folder: Path, kind: str) -> Path:
    """The first agent log of that kind, found by its first line (not by the product)."""
    for p in sorted(run_folder.glob("*.log")):
        first = p.read_text().split("\n", 1)[0]
        if first.startswith("{") and json.loads(first).get("kind") == kind:
            return p
    raise AssertionError(f"no {kind} log in {run_folder}")


@pytest.fixture
def done(tmp_path: Path, campaign_copy: Path) -> tuple[Path, Path]:
    cfg = write_config(tmp_path, {"ex": campaign_copy}, influx={"enabled": False})
    first = snakemake(tmp_path, cfg)
    assert first.returncode == 0, first.output
    assert_jobs(first.job_counts(), run_logs=8)
    return tmp_path, cfg


def test_nothing_to_do_on_rerun(done: tuple[Path, Path]) -> None:
    work, cfg = done
    again = snakemake(work, cfg)
    assert again.returncode == 0, again.output
    assert "Nothing to be done" in again.output
    assert again.job_counts() == {}


def test_appending_a_run_redoes_only_that_run(done: tuple[Path, Path],
                                              campaign_copy: Path) -> None:
    work, cfg = done
    results = work / "results/ex"
    before = _mtimes(results)
    params = json.loads((campaign_copy / "params.json").read_text())
    new = dict(params[0], backup_dir="appended-run", nbr_calls=500)
    shutil.copytree(campaign_copy / params[0]["backup_dir"], campaign_copy / "appended-run")
    (campaign_copy / "params.json").write_text(json.dumps([*params, new]))
    time.sleep(0.05)
    # verbose: the console names each job's wildcards (quiet by default: issue 22)
    second = snakemake(work, cfg, env={VERBOSE_ENV: "1"})
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=1)
    assert "wildcards: campaign=ex, run=appended-run" in second.output
    assert _mtimes(results) == {**before, "runs/appended-run/ombt.parquet":
                                _mtimes(results)["runs/appended-run/ombt.parquet"]}
    table = pd.read_parquet(results / "campaign.parquet")
    assert list(table["run_id"])[-1] == "appended-run"
    assert len(table) == 9


def test_editing_one_controller_log_redoes_only_that_run(done: tuple[Path, Path],
                                                         campaign_copy: Path) -> None:
    work, cfg = done
    results = work / "results/ex"
    before = _mtimes(results)
    run = json.loads((campaign_copy / "params.json").read_text())[5]["backup_dir"]
    log = controller_log(campaign_copy / run)
    lines = log.read_text().splitlines()
    clients = json.loads(lines[0])
    first = next(iter(clients))
    clients[first]["msgs_ok"] += 7
    log.write_text(json.dumps(clients) + "\n" + "\n".join(lines[1:]) + "\n")
    second = snakemake(work, cfg)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=1)
    after = _mtimes(results)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {f"runs/{run}/ombt.parquet"}
    table = pd.read_parquet(results / "campaign.parquet").set_index("run_id")
    want = sum(a["msgs_ok"] for a in clients.values())
    assert table.loc[run, "client_msgs_ok"] == want


def test_editing_one_agent_log_redoes_only_that_runs_logs_job(done: tuple[Path, Path],
                                                              campaign_copy: Path) -> None:
    """A server's log loses its last 3 receipt lines (as when it is killed before its
    buffer is written): only that run's logs job runs again, and the table says so."""
    work, cfg = done
    results = work / "results/ex"
    before = {p: p.stat().st_mtime_ns for p in results.glob("runs/*/*.parquet")}
    run = json.loads((campaign_copy / "params.json").read_text())[3]["backup_dir"]
    log = _agent_log(campaign_copy / run, "RPCServer")
    lines = log.read_text().splitlines()
    cut = [ln for ln in lines[-3:] if '"recv"' in ln]
    assert len(cut) == 3
    log.write_text("\n".join(lines[:-3]) + "\n")
    second = snakemake(work, cfg)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=1)
    changed = {str(p.relative_to(results)) for p, t in before.items() if p.stat().st_mtime_ns != t}
    assert changed == {f"runs/{run}/{name}" for name in LOGS_JOB_FILES}
    row = pd.read_parquet(results / "campaign.parquet").set_index("run_id").loc[run]
    assert row["msg_unreceived"] == 3 and row["msg_unreceived_ok"] == 3  # answered calls
    assert "answered call(s) without a receipt line" in row["msg_notes"]
    assert row["status"] == "ok"


def test_touch_without_change_redoes_nothing(done: tuple[Path, Path],
                                             campaign_copy: Path) -> None:
    """Snakemake 9 compares checksums of small inputs: a bare touch is not a change."""
    work, cfg = done
    run = json.loads((campaign_copy / "params.json").read_text())[5]["backup_dir"]
    log = controller_log(campaign_copy / run)
    time.sleep(0.05)
    os.utime(log)
    assert log.stat().st_mtime > (work / "results/ex/runs" / run / "ombt.parquet").stat().st_mtime
    second = snakemake(work, cfg, "-n")
    assert second.returncode == 0, second.output
    assert "Nothing to be done" in second.output


def test_changing_one_runs_params_redoes_only_that_run(done: tuple[Path, Path],
                                                       campaign_copy: Path) -> None:
    work, cfg = done
    params = json.loads((campaign_copy / "params.json").read_text())
    params[2]["pause"] = 0.5
    (campaign_copy / "params.json").write_text(json.dumps(params))
    second = snakemake(work, cfg, env={VERBOSE_ENV: "1"})  # the jobs' wildcards shown
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=1)
    assert f"run={params[2]['backup_dir']}" in second.output
    table = pd.read_parquet(work / "results/ex/campaign.parquet")
    assert table["pause"].tolist()[2] == 0.5


def test_reordering_the_keys_of_params_json_redoes_no_run(done: tuple[Path, Path],
                                                         campaign_copy: Path) -> None:
    """The per-run jobs' specs are JSON with sorted keys (workflow/rules/jobs.smk): the
    same run parameters (or config section) in another key order re-run no job; only
    the campaign table, which reads params.json, is redone."""
    work, cfg = done
    params = json.loads((campaign_copy / "params.json").read_text())
    reordered = [dict(reversed(list(entry.items()))) for entry in params]
    assert [list(e) for e in reordered] != [list(e) for e in params]
    (campaign_copy / "params.json").write_text(json.dumps(reordered))
    second = snakemake(work, cfg)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=0)


@pytest.mark.parametrize("content, expected", [
    ('{"backup_dir": "x"}', "expected a JSON list"),
    ("[{\"backup_dir\": \"a\"}, {\"nbr_clients\": 3}]", "entry 1 has no non-empty string"),
    ('[{"backup_dir": "a"}, {"backup_dir": "a"}]', "entry 1 repeats backup_dir 'a'"),
    ("[{\"backup_dir\": \"a\"},", "not valid JSON"),
    ('[{"backup_dir": ""}]', "entry 0 has no non-empty string"),
])
def test_bad_params_json_stops_with_file_and_entry(tmp_path: Path, content: str,
                                                   expected: str) -> None:
    camp = tmp_path / "camp"
    camp.mkdir()
    (camp / "params.json").write_text(content)
    cfg = write_config(tmp_path, {"bad": camp})
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    assert str(camp / "params.json") in res.output
    assert expected in res.output
    assert "campaign 'bad'" in res.output


def test_invalid_config_is_rejected(tmp_path: Path, campaign_copy: Path) -> None:
    cfg = write_config(tmp_path, {"ex": campaign_copy}, strict="yes")
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    assert "strict" in res.output and "boolean" in res.output


def test_the_old_cluster_key_says_where_it_went(tmp_path: Path, campaign_copy: Path) -> None:
    """cluster.runs_per_job moved to profiles/slurm (group-components, issue 21)."""
    cfg = write_config(tmp_path, {"ex": campaign_copy}, cluster={"runs_per_job": 5})
    res = snakemake(tmp_path, cfg, "-n")
    assert res.returncode != 0
    assert "cluster.runs_per_job is gone" in res.output
    assert "profiles/slurm/config.yaml" in res.output


def test_two_campaigns_in_one_run(tmp_path: Path, campaign_copy: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(campaign_copy, other)
    params = json.loads((other / "params.json").read_text())[:3]
    (other / "params.json").write_text(json.dumps(params))
    cfg = write_config(tmp_path, {"a": campaign_copy, "b": other}, influx={"enabled": False})
    res = snakemake(tmp_path, cfg)
    assert res.returncode == 0, res.output
    assert len(pd.read_parquet(tmp_path / "results/a/campaign.parquet")) == 8
    assert len(pd.read_parquet(tmp_path / "results/b/campaign.parquet")) == 3


# The InfluxDB job reads no output of the logs job (issue 21, item 2): redoing the logs
# job redoes no restore, and a change of the InfluxDB stage redoes no log reading.
INFLUX_RUNS = 2


@pytest.fixture
def done_influx(tmp_path: Path, campaign_copy: Path) -> tuple[Path, Path, list[str]]:
    """The first runs of the example, done with the InfluxDB stage on (native influxd)."""
    params = json.loads((campaign_copy / "params.json").read_text())[:INFLUX_RUNS]
    (campaign_copy / "params.json").write_text(json.dumps(params))
    cfg = write_config(tmp_path, {"ex": campaign_copy}, influx={"backend": "native"})
    first = snakemake(tmp_path, cfg)
    assert first.returncode == 0, first.output
    assert_jobs(first.job_counts(), run_logs=INFLUX_RUNS, influx_metrics=INFLUX_RUNS)
    return tmp_path, cfg, [p["backup_dir"] for p in params]


def _metrics_mtimes(work: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns
            for p in (work / "results/ex/runs").glob("*/metrics.parquet")}


def test_an_agent_log_edited_redoes_no_influx_restore(
        done_influx: tuple[Path, Path, list[str]], campaign_copy: Path) -> None:
    work, cfg, runs = done_influx
    before = _metrics_mtimes(work)
    assert len(before) == INFLUX_RUNS
    log = _agent_log(campaign_copy / runs[1], "RPCServer")
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-3]) + "\n")
    second = snakemake(work, cfg)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=1, influx_metrics=0)
    assert _metrics_mtimes(work) == before
    row = pd.read_parquet(work / "results/ex/campaign.parquet").set_index("run_id").loc[runs[1]]
    assert row["msg_unreceived"] == 3


def test_a_messages_setting_changed_redoes_only_the_logs_jobs(
        done_influx: tuple[Path, Path, list[str]], campaign_copy: Path) -> None:
    work, cfg, runs = done_influx
    before = _metrics_mtimes(work)
    cfg2 = write_config(work, {"ex": campaign_copy}, influx={"backend": "native"},
                        messages={"keep_per_message": True})
    second = snakemake(work, cfg2)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=INFLUX_RUNS, influx_metrics=0)
    assert _metrics_mtimes(work) == before
    for run in runs:
        assert (work / "results/ex/runs" / run / "per_message.parquet").is_file()


def test_changing_the_queries_redoes_only_the_influx_jobs(
        done_influx: tuple[Path, Path, list[str]], campaign_copy: Path) -> None:
    work, cfg, runs = done_influx
    results = work / "results/ex"
    logs_files = {p: p.stat().st_mtime_ns for p in results.glob("runs/*/*.parquet")
                  if p.name in LOGS_JOB_FILES}
    assert len(logs_files) == len(LOGS_JOB_FILES) * INFLUX_RUNS
    cfg2 = write_config(work, {"ex": campaign_copy},
                        influx={"backend": "native", "queries": "qdr"})
    second = snakemake(work, cfg2)
    assert second.returncode == 0, second.output
    assert_jobs(second.job_counts(), run_logs=0, influx_metrics=INFLUX_RUNS)
    assert {p: p.stat().st_mtime_ns for p in logs_files} == logs_files


def test_messages_off_skips_the_per_message_work(tmp_path: Path, campaign_copy: Path) -> None:
    """messages.enabled: false: the logs job writes the controller's tables only (same
    as with the stage on), and an agent log edited then re-runs nothing."""
    params = json.loads((campaign_copy / "params.json").read_text())[:2]
    (campaign_copy / "params.json").write_text(json.dumps(params))
    on = tmp_path / "on"
    off = tmp_path / "off"
    for work, enabled in ((on, True), (off, False)):
        work.mkdir()
        cfg = write_config(work, {"ex": campaign_copy}, influx={"enabled": False},
                           messages={"enabled": enabled})
        res = snakemake(work, cfg)
        assert res.returncode == 0, res.output
        assert_jobs(res.job_counts(), run_logs=2)
    for p in params:
        run_on, run_off = on / "results/ex/runs" / p["backup_dir"], off / "results/ex/runs" / \
            p["backup_dir"]
        assert sorted(f.name for f in run_off.iterdir()) == ["agents.parquet",
                                                             "latency_hist.parquet",
                                                             "ombt.parquet"]
        for name in ("ombt.parquet", "agents.parquet", "latency_hist.parquet"):
            a, b = pd.read_parquet(run_on / name), pd.read_parquet(run_off / name)
            pd.testing.assert_frame_equal(a, b)
    log = _agent_log(campaign_copy / params[1]["backup_dir"], "RPCServer")
    log.write_text("\n".join(log.read_text().splitlines()[:-3]) + "\n")
    again = snakemake(off, off / "test-config.yaml", "-n")
    assert again.returncode == 0, again.output
    assert "Nothing to be done" in again.output
