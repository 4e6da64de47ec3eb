"""Synthetic campaigns: the real format, accepted by the product's parser, exact ombt sums.

The expectations are computed here independently of the generator: counts from
the generator's inputs (clients x calls ...), and every agent's Stats re-made
from the simulated samples with a re-typing of ombt 3.0.0's ``Stats.update`` and
``merge`` (below), compared bit for bit with what the controller file holds.
"""

from __future__ import annotations

import json
import math
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from influx_helpers import influx_test, points, reference_server

from ombt_postmortem.cli import main
from ombt_postmortem.ombt.parse import find_controller_logs, parse_run_folder
from ombt_postmortem.params import load_params
from ombt_postmortem.synth import (
    SynthSpec,
    decades_and_buckets,
    plan_runs,
    simulate_campaign,
    synth_campaign,
)

ALL_TYPES = ("rpc-call", "rpc-cast", "rpc-fanout", "notify")


# --------------------------------------------------------------------------- ombt, re-typed


class OmbtStats:
    """ombt 3.0.0 ``Stats``: update() and merge() as ombt/__init__.py has them."""

    def __init__(self) -> None:
        self.min = self.max = None
        self.total = 0
        self.count = 0
        self.sum_of_squares = 0
        self.distribution: dict[int, list[int]] = {}

    def update(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.sum_of_squares += value**2
        self.min = min(self.min, value) if self.min else value
        self.max = max(self.max, value) if self.max else value
        log = int(math.log10(value)) if value >= 1.0 else 0
        base = 10**log
        index = int(value / base)
        if log not in self.distribution:
            self.distribution[log] = [0 for _ in range(10)]
        self.distribution[log][index] += 1

    def merge(self, other: OmbtStats) -> None:
        if other.min is not None and self.min is not None:
            self.min = min(self.min, other.min)
        else:
            self.min = self.min or other.min
        if other.max is not None and self.max is not None:
            self.max = max(self.max, other.max)
        else:
            self.max = self.max or other.max
        self.total += other.total
        self.count += other.count
        self.sum_of_squares += other.sum_of_squares
        for k in other.distribution:
            if k in self.distribution:
                self.distribution[k] = [a + b for a, b in zip(other.distribution[k],
                                                              self.distribution[k], strict=True)]
            else:
                self.distribution[k] = other.distribution[k]

    def as_json(self) -> dict:
        return json.loads(json.dumps({"min": self.min, "max": self.max, "total": self.total,
                                      "count": self.count, "sum_of_squares": self.sum_of_squares,
                                      "distribution": self.distribution}))


def replay(samples: list[np.ndarray]) -> dict:
    """One Stats per poll (a client has one), merged in order like the controller does."""
    merged: OmbtStats | None = None
    for seg in samples:
        s = OmbtStats()
        for v in seg.tolist():
            s.update(v)
        if merged is None:
            merged = s
        else:
            merged.merge(s)
    assert merged is not None
    return merged.as_json()


# --------------------------------------------------------------------------- helpers


def campaign(tmp_path: Path, name: str = "c", **kw: object) -> tuple[Path, SynthSpec]:
    spec = SynthSpec(**{"influx": False, "nbr_calls": 60, **kw})  # type: ignore[arg-type]
    out = tmp_path / name
    synth_campaign(out, spec)
    return out, spec


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".tar.gz")}


# --------------------------------------------------------------------------- tests


def test_layout_and_params_like_ombt_orchestrator(tmp_path: Path) -> None:
    out, spec = campaign(tmp_path, runs=7, clients=(1, 3), servers=(2,),
                         call_types=("rpc-call", "notify"), agent_logs=True)
    runs = load_params(out)  # the product's own reader
    assert len(runs) == 7
    entries = json.loads((out / "params.json").read_text())
    # 4 combinations, swept twice: the repetition is an extra `iteration` column
    assert [(e["call_type"], e["nbr_clients"], e["iteration"]) for e in entries] == [
        ("rpc-call", 1, 0), ("rpc-call", 3, 0), ("notify", 1, 0), ("notify", 3, 0),
        ("rpc-call", 1, 1), ("rpc-call", 3, 1), ("notify", 1, 1)]
    e = entries[0]
    assert e["backup_dir"] == (
        "call_type__rpc-call-driver__broker-executor__threading-iteration__0-length__1024-"
        "nbr_calls__60-nbr_clients__1-nbr_servers__2-pause__0-timeout__60-version__ombt-3.0.0")
    for run in runs:
        folder = out / run.run_id
        (ctl,) = find_controller_logs(folder)
        assert re.fullmatch(r"enos-control-bus-0_controller-0-topic-0-[0-9a-f-]{36}-0\.log",
                            ctl.name)
        assert (folder / ctl.name.replace(".log", "_docker.log")).is_file()
        n_agents = run.params["nbr_clients"] + run.params["nbr_servers"]
        assert len(list(folder.glob("enos-*_*-topic-0-*-0.log"))) == 1 + n_agents
        assert not (folder / "influxdb-data.tar.gz").exists()  # --no-influx


@pytest.mark.parametrize("call_type", ALL_TYPES)
def test_product_parser_accepts_and_totals_follow_the_inputs(tmp_path: Path,
                                                             call_type: str) -> None:
    clients, servers, calls = (1, 5), (1, 3), 40
    out, _ = campaign(tmp_path, clients=clients, servers=servers, nbr_calls=calls,
                      call_types=(call_type,), fail_rate=0.05, seed=3)
    unsorted_keys = False
    for run in load_params(out):
        nc, ns = run.params["nbr_clients"], run.params["nbr_servers"]
        parsed = parse_run_folder(out / run.run_id, run.run_id)
        assert parsed.problems == []
        cl = [a for a in parsed.agents if a.side == "client"]
        sv = [a for a in parsed.agents if a.side == "server"]
        assert (len(cl), len(sv)) == (nc, ns)
        for a in cl:
            assert a.msgs_ok + a.msgs_fail == calls == a.latency.count
            assert sum(a.errors.values()) == a.msgs_fail
            assert a.start_time < a.stop_time
        delivered = sum(a.msgs_ok for a in cl) * (ns if call_type == "rpc-fanout" else 1)
        assert sum(a.msgs_ok for a in sv) == delivered == sum(a.latency.count for a in sv)
        assert all(a.msgs_fail == 0 for a in sv)
        for a in cl + sv:
            lat = a.latency
            assert sum(map(sum, lat.distribution.values())) == lat.count
            if lat.count:
                assert 0 < lat.min <= lat.total / lat.count <= lat.max
                assert lat.sum_of_squares >= lat.total**2 / lat.count * (1 - 1e-12)
        for line in (out / run.run_id / parsed.files[0].name).read_text().splitlines():
            for r in json.loads(line).values():
                keys = list(r["latency"]["distribution"])
                assert all(isinstance(k, str) for k in keys)
                unsorted_keys |= keys != sorted(keys, key=int)
    if call_type != "rpc-call":  # queues make server latencies span decades, in any order
        assert unsorted_keys


def test_degenerate_runs_are_written_like_ombt_would(tmp_path: Path) -> None:
    # fewer messages than servers; nearly every message failing (servers see nothing)
    for name, kw in {"few": {"nbr_calls": 1, "servers": (3,)},
                     "failing": {"nbr_calls": 5, "fail_rate": 0.99}}.items():
        out, _ = campaign(tmp_path, name, clients=(1,), call_types=ALL_TYPES, **kw)
        for run in load_params(out):
            parsed = parse_run_folder(out / run.run_id, run.run_id)
            assert parsed.problems == []
            assert sum(a.msgs_ok + a.msgs_fail for a in parsed.agents
                       if a.side == "client") == kw["nbr_calls"]


def test_stats_are_accumulated_exactly_like_ombt(tmp_path: Path) -> None:
    spec = SynthSpec(influx=False, nbr_calls=150, clients=(2, 4), servers=(1, 2),
                     call_types=ALL_TYPES, fail_rate=0.02, seed=11)
    out = tmp_path / "c"
    synth_campaign(out, spec)
    checked = 0
    for sim in simulate_campaign(spec):  # same seed: the same runs, with their samples
        lines = (out / sim.backup_dir / sim.controller_log_name).read_text().splitlines()
        written = [json.loads(line) for line in lines]
        for side, agents in enumerate((sim.clients, sim.servers)):
            assert list(written[side]) == [a.agent_id for a in agents]
            for a in agents:
                assert written[side][a.agent_id]["latency"] == replay(a.samples)
                checked += 1
    assert checked == len(ALL_TYPES) * sum(c + s for c in (2, 4) for s in (1, 2))


def test_decades_right_at_powers_of_ten() -> None:
    values = np.array([0.25, 0.999999, 1.0, 9.999999999999998, 10.0, 99.99999999999999, 100.0,
                       999.9999999999999, 1000.0, 12345.678])
    log, index = decades_and_buckets(values)
    expect_log = [int(math.log10(v)) if v >= 1.0 else 0 for v in values.tolist()]
    assert log.tolist() == expect_log
    assert index.tolist() == [int(v / 10**d) for v, d in zip(values.tolist(), expect_log,
                                                              strict=True)]


def test_same_seed_same_bytes_and_runs_do_not_depend_on_what_follows(tmp_path: Path) -> None:
    a, _ = campaign(tmp_path, "a", runs=5, seed=7, call_types=ALL_TYPES, agent_logs=True)
    b, _ = campaign(tmp_path, "b", runs=5, seed=7, call_types=ALL_TYPES, agent_logs=True)
    assert files_of(a) == files_of(b)
    c, _ = campaign(tmp_path, "c", runs=5, seed=8, call_types=ALL_TYPES, agent_logs=True)
    assert files_of(c).keys() != files_of(a).keys() or files_of(c) != files_of(a)
    d, _ = campaign(tmp_path, "d", runs=6, seed=7, call_types=ALL_TYPES, agent_logs=True)
    first5 = {k: v for k, v in files_of(d).items() if k != "params.json"}
    assert {k: v for k, v in files_of(a).items() if k != "params.json"}.items() <= first5.items()
    assert json.loads((d / "params.json").read_text())[:5] == \
        json.loads((a / "params.json").read_text())


def _result_lines(text: str) -> list[str]:
    keep = ("Total Messages", "Test Interval", "Aggregate throughput", "Latency ", "[", "Error")
    return [ln for ln in text.splitlines() if ln.startswith(keep)]


def _close(a: str, b: str) -> bool:
    num = r"-?\d+(?:\.\d+)?"
    if re.sub(num, "#", a) != re.sub(num, "#", b):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=2e-6)
               for x, y in zip(re.findall(num, a), re.findall(num, b), strict=True))


def test_show_prints_what_the_synthetic_controller_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = campaign(tmp_path, clients=(3,), servers=(2,), call_types=ALL_TYPES, seed=5)
    for run in load_params(out):
        folder = out / run.run_id
        assert main(["show", str(folder)]) == 0
        shown = _result_lines(capsys.readouterr().out)
        (docker,) = folder.glob("*_docker.log")
        printed = _result_lines(docker.read_text())
        assert len(shown) == len(printed) > 20
        assert all(_close(a, b) for a, b in zip(shown, printed, strict=True)), run.run_id


def test_cli_refuses_a_non_empty_folder(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    args = ["synth", str(out), "--runs", "2", "--clients", "1,2", "--servers", "1",
            "--calls", "20", "--no-influx"]
    assert main(args) == 0
    assert "wrote 2 runs" in capsys.readouterr().out
    assert main(args) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert main(["synth", str(tmp_path / "x"), "--call-types", "rpc-bogus", "--no-influx"]) == 2
    assert len(plan_runs(SynthSpec(clients=(1, 2, 4), servers=(1, 2)))) == 12


@influx_test
def test_influx_backup_is_a_real_influxdb_with_the_telegraf_schema(tmp_path: Path) -> None:
    out = tmp_path / "c"
    spec = SynthSpec(runs=2, clients=(4,), servers=(2,), call_types=("rpc-call", "rpc-cast"),
                     nbr_calls=200, seed=2)
    report = synth_campaign(out, spec, jobs=2)
    assert report.influx_tars == 2
    for sim, run in zip(simulate_campaign(spec), load_params(out), strict=True):
        tar = out / run.run_id / "influxdb-data.tar.gz"
        with tarfile.open(tar) as tf:
            members = tf.getmembers()
        names = {m.name for m in members}
        assert {"influxdb-data/meta/meta.db", "influxdb-data/wal", "influxdb-data/data"} <= names
        assert {m.mtime for m in members} == {int(sim.end_time)}
        dest = tmp_path / run.key
        dest.mkdir()
        with tarfile.open(tar) as tf:
            tf.extractall(dest, filter="data")
        start = min(a.results["start_time"] for a in sim.clients + sim.servers)
        stop = max(a.results["stop_time"] for a in sim.clients + sim.servers)
        where = f"time >= {int(start * 1e9)} AND time <= {int(stop * 1e9)}"
        with reference_server(dest) as url:  # an influxd the product did not configure
            rows = points(url, "telegraf", f'SELECT usage_idle, host, role FROM cpu WHERE {where}')
            roles = {r["role"] for r in rows}
            assert roles == {"bus", "control-bus", "default", "ombt-client", "ombt-server"}
            bus_idle = min(r["usage_idle"] for r in rows if r["role"] == "bus")
            idle_before = points(url, "telegraf", "SELECT min(usage_idle) FROM cpu "
                                 f"WHERE role = 'bus' AND time < {int(start * 1e9) - 4 * 10**9}")
            assert bus_idle < idle_before[0]["min"]  # the test loads the bus
            over = points(url, "telegraf", "SELECT max(messages_delivered), max(queues), "
                          "max(connections), max(consumers) FROM rabbitmq_overview")[0]
            sent = sum(a.results["msgs_ok"] for a in sim.clients)
            factor = 2 if run.params["call_type"] == "rpc-call" else 1  # + the replies
            assert over["max"] == sent * factor
            assert min(over["max_1"], over["max_2"], over["max_3"]) > 0
            node = points(url, "telegraf", "SELECT max(mem_used), max(fd_used), "
                          "max(sockets_used) FROM rabbitmq_node")[0]
            assert min(node["max"], node["max_1"], node["max_2"]) > 0
            measurements = {r["name"] for r in points(url, "telegraf", "SHOW MEASUREMENTS")}
            assert measurements == {"cpu", "mem", "system", "net", "rabbitmq_overview",
                                    "rabbitmq_node", "rabbitmq_queue"}


# --------------------------------------------------------------------------- job grouping


def test_per_run_jobs_of_many_runs_share_one_cluster_job(tmp_path: Path) -> None:
    """Groups only exist for cluster executors; a dry run shows them (a local run has none)."""
    from conftest import snakemake, write_config

    out, _ = campaign(tmp_path, runs=12, nbr_calls=20)
    config = write_config(tmp_path, {"syn": out})
    # 5 runs per cluster job: 10 components (per run, run_logs and influx_metrics), as
    # profiles/slurm says it (group-components)
    grouped = snakemake(tmp_path, config, "-n", "--forceall", "--group-components",
                        "per_run=10")
    assert grouped.returncode == 0, grouped.output[-2000:]
    counts = grouped.job_counts()
    assert (counts["run_logs"], counts["influx_metrics"]) == (12, 12)
    assert "ombt_stats" not in counts and "messages" not in counts
    # 12 runs, 5 per cluster job: 3 group jobs, each with the two jobs of its runs
    assert grouped.output.count("Group job per_run") == 3
    # it counts the DAG's connected components: per run, run_logs and influx_metrics
    one_each = snakemake(tmp_path, config, "-n", "--forceall", "--group-components", "per_run=1")
    assert one_each.output.count("Group job per_run") == 24
