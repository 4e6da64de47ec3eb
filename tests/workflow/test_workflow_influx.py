"""Real snakemake + real influxd: 8 runs restored at once, nothing left behind."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, controller_log, run_ids, write_config
from influx_helpers import influx, is_dead, reference_server, run_window, untar
from test_influx_metrics import expected_values, same

pytestmark = [pytest.mark.workflow, *influx]


def all_influxd(marker: Path) -> list[int]:
    """Live influxd processes started on a folder under ``marker`` (this test's temp root).

    Each server's generated config lives in its private folder, so its command
    line names it; other influxd on the machine (other tests, other users) are ignored.
    """
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                comm = (p / "comm").read_text().strip()
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if comm == "influxd" and str(marker) in cmd and not is_dead(int(p.name)):
                out.append(int(p.name))
    return out


class InfluxWatcher(threading.Thread):
    """Samples the process table: how many influxd ran at once."""

    def __init__(self, marker: Path) -> None:
        super().__init__(daemon=True)
        self.marker = marker
        self.max_seen = 0
        self.pids: set[int] = set()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            found = all_influxd(self.marker)
            self.pids.update(found)
            self.max_seen = max(self.max_seen, len(found))
            time.sleep(0.01)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _snakemake_cmd(work: Path, cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(work), "--configfile", str(cfg), *args]


def _ports_in_logs(logs: Path) -> list[tuple[str, str]]:
    ports = []
    for log in logs.glob("*.log"):
        m = re.search(r"http http://127\.0\.0\.1:(\d+), rpc 127\.0\.0\.1:(\d+)", log.read_text())
        assert m, log.read_text()
        ports.append(m.groups())
    return ports


@pytest.fixture(scope="module")
def eight_at_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InfluxWatcher, str]:
    import shutil

    from conftest import EXAMPLE
    work = tmp_path_factory.mktemp("influx-wf")
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    tmp = work / "influx-tmp"
    tmp.mkdir()
    cfg = write_config(work, {"ex": camp}, influx={"tmpdir": str(tmp), "backend": "native"})
    watcher = InfluxWatcher(tmp)
    watcher.start()
    proc = subprocess.run(_snakemake_cmd(work, cfg, "--cores", "8"), capture_output=True,
                          text=True, timeout=600)
    watcher.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work, watcher, proc.stdout + proc.stderr


def test_all_runs_have_metrics_equal_to_an_independent_server(
        eight_at_once: tuple[Path, InfluxWatcher, str], tmp_path: Path) -> None:
    work, _, _ = eight_at_once
    table = pd.read_parquet(work / "results/ex/campaign.parquet").set_index("run_id")
    assert list(table.index) == run_ids()
    assert set(table["status"]) == {"ok"}, table["problems"].tolist()
    zeros = 0
    for i, run in enumerate(run_ids()):
        run_dir = work / "campaign" / run
        lo, hi = run_window(run_dir)
        data = untar(run_dir / "influxdb-data.tar.gz", tmp_path / f"r{i}")
        with reference_server(data) as url:
            want = expected_values(url, lo, hi)
        for col, value in want.items():
            assert same(float(table.loc[run, col]), value), (run, col, table.loc[run, col], value)
        # a zero where the run had traffic is noted (issue 22): the count from the JSON
        servers = json.loads((controller_log(run_dir)).read_text().splitlines()[1])
        delivered = sum(a["msgs_ok"] for a in servers.values())
        for col in ("connections", "consumers", "sockets_used"):
            note = f"{col} 0 while the run delivered {delivered} messages: "
            assert (note in str(table.loc[run, "influx_notes"])) == (want[col] == 0), \
                (run, col, table.loc[run, "influx_notes"])
            zeros += want[col] == 0
        ts = pd.read_parquet(work / "results/ex/runs" / run / "timeseries.parquet")
        if len(ts):
            t = ts["time"].astype("int64") / 1e9
            assert t.min() >= lo - 1e-6 and t.max() <= hi + 1e-6
    # the two short rpc-cast runs fall between two telegraf samples (every 2 s): NaN, not 0
    assert math.isnan(table["messages_delivered"].iloc[4])
    assert zeros >= 3  # the example has some (rpc-call, 2 clients: all three)


def test_eight_servers_ran_at_once_without_collision(
        eight_at_once: tuple[Path, InfluxWatcher, str]) -> None:
    work, watcher, _ = eight_at_once
    assert len(watcher.pids) == 8
    assert watcher.max_seen >= 2  # they overlapped
    ports = _ports_in_logs(work / "results/ex/logs/influx_metrics")
    assert len(ports) == 8
    flat = [p for pair in ports for p in pair]
    assert len(set(flat)) == len(flat), ports
    assert "8088" not in flat and "8086" not in flat


def test_nothing_left_behind(eight_at_once: tuple[Path, InfluxWatcher, str]) -> None:
    work, watcher, _ = eight_at_once
    assert all(is_dead(pid) for pid in watcher.pids)
    assert all_influxd(work / "influx-tmp") == []
    assert list((work / "influx-tmp").iterdir()) == []


def test_resources_bound_the_servers_at_once(tmp_path: Path, campaign_copy: Path) -> None:
    tmp = tmp_path / "influx-tmp"
    tmp.mkdir()
    cfg = write_config(tmp_path, {"ex": campaign_copy},
                       influx={"tmpdir": str(tmp), "backend": "native"})
    watcher = InfluxWatcher(tmp)
    watcher.start()
    proc = subprocess.run(_snakemake_cmd(tmp_path, cfg, "--cores", "8", "--resources",
                                         "influx=1"), capture_output=True, text=True, timeout=600)
    watcher.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(watcher.pids) == 8
    assert watcher.max_seen == 1


def test_sigkill_of_a_job_kills_its_server(tmp_path: Path, campaign_copy: Path,
                                           eight_at_once: tuple[Path, InfluxWatcher, str]
                                           ) -> None:
    """kill -9 of the job's process: its influxd dies with it (parent-death signal); the
    re-run gives the row of the uninterrupted run (eight_at_once), column for column."""
    tmp = tmp_path / "influx-tmp"
    tmp.mkdir()
    params = json.loads((campaign_copy / "params.json").read_text())
    (campaign_copy / "params.json").write_text(json.dumps(params[:1]))
    # a server that never gets ready keeps the job waiting long enough to be killed
    cfg = write_config(tmp_path, {"ex": campaign_copy},
                       influx={"tmpdir": str(tmp), "backend": "native",
                               "ready_timeout_s": 60})
    env = {**os.environ, "OMBT_POSTMORTEM_HOLD_S": "30"}
    proc = subprocess.Popen(_snakemake_cmd(tmp_path, cfg, "--cores", "1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        servers: list[int] = []
        while time.monotonic() < deadline and not servers:
            servers = all_influxd(tmp)
            time.sleep(0.05)
        assert servers, "no influxd started"
        (server,) = servers
        job = int(Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert "influx_metrics" in Path(f"/proc/{job}/cmdline").read_text()
        os.kill(job, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not is_dead(server):
            time.sleep(0.05)
        assert is_dead(server), "influxd survived the SIGKILL of its job"
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode != 0
        assert "influx_metrics" in out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert all_influxd(tmp) == []
    # the killed job could not delete its folder: the next job sweeps dead owners' folders
    assert list(tmp.iterdir()), "expected the killed job's restore folder"
    again = subprocess.run(_snakemake_cmd(tmp_path, cfg, "--cores", "1"), capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert list(tmp.iterdir()) == []
    assert all_influxd(tmp) == []
    table = pd.read_parquet(tmp_path / "results/ex/campaign.parquet")
    assert table["status"].tolist() == ["ok"]
    clean = pd.read_parquet(eight_at_once[0] / "results/ex/campaign.parquet")
    # the label names a run by what varies within ITS campaign (one run here: its key)
    pd.testing.assert_frame_equal(table.drop(columns="label"),
                                  clean.iloc[:1].drop(columns="label"))


@pytest.mark.podman
def test_docker_backend_gives_the_same_table(eight_at_once: tuple[Path, InfluxWatcher, str],
                                             tmp_path: Path, campaign_copy: Path) -> None:
    """The whole workflow with influx.backend docker (Podman here): same metric columns."""
    from test_influx_metrics import backend_options

    opts = backend_options("docker")
    tmp = tmp_path / "influx-tmp"
    tmp.mkdir()
    cfg = write_config(tmp_path, {"ex": campaign_copy}, influx={"tmpdir": str(tmp), **opts})
    proc = subprocess.run(_snakemake_cmd(tmp_path, cfg, "--cores", "2"), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    native = pd.read_parquet(eight_at_once[0] / "results/ex/campaign.parquet")
    docker = pd.read_parquet(tmp_path / "results/ex/campaign.parquet")
    metric_cols = ["min_usage_idle_ombt_server", "min_usage_idle_bus", "messages_delivered",
                   "queues", "connections", "consumers", "exchanges", "mem_used", "fd_used",
                   "sockets_used"]
    pd.testing.assert_frame_equal(native[["run_id", "status", *metric_cols]],
                                  docker[["run_id", "status", *metric_cols]])
    for run in run_ids():
        log = (tmp_path / "results/ex/logs/influx_metrics" / f"{run}.log").read_text()
        assert "docker server ready" in log
    assert list(tmp.iterdir()) == []
