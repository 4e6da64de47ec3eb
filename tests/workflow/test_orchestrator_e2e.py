"""Backups exactly as ombt-orchestrator 1.1.x writes them, through real snakemake and influxd.

1. The bundled example rewritten into upstream's layout (points moved to database
   ``ombt-orchestrator`` beside an empty ``telegraf``, per-core cpu series added beside
   cpu-total, agent logs removed, broker log tarballs and fping outputs added) gives the
   very metrics of the original example, and every run is ``ok``.
2. A synthetic campaign mixing a RabbitMQ ``broker`` and a qdr ``router-2``, in the
   orchestrator's layout: every ``qdr_*``, container and connection value equals a
   computation in plain Python over the raw points read back from each run's backup
   (``SELECT *``), not through the product's queries.
"""

from __future__ import annotations

import json
import math
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, snakemake, write_config
from influx_helpers import influx, points, reference_server, run_window, untar

from ombt_postmortem.synth import SynthSpec, synth_campaign
from ombt_postmortem.synth.rewrite import rewrite_to_orchestrator

pytestmark = [pytest.mark.workflow, *influx]

DB = "ombt-orchestrator"
NS = 10**9


def _table(work: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(work / "results" / name / "campaign.parquet").set_index("run_id")


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------- 1. the example


@pytest.fixture(scope="module")
def both_examples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example and its upstream rewrite, analysed in one snakemake run."""
    work = tmp_path_factory.mktemp("orch-example")
    orig = work / "original"
    shutil.copytree(EXAMPLE, orig)
    rewrite_to_orchestrator(orig, work / "upstream")
    cfg = write_config(work, {"orig": orig, "upstream": work / "upstream"})
    res = snakemake(work, cfg, timeout=900)
    assert res.returncode == 0, res.output[-4000:]
    return work, orig


def test_the_rewritten_example_gives_the_example_s_metrics(
        both_examples: tuple[Path, Path]) -> None:
    work, _ = both_examples
    orig, up = _table(work, "orig"), _table(work, "upstream")
    assert list(orig.index) == list(up.index)
    assert set(up["status"]) == {"ok"}, up["problems"].tolist()
    assert set(orig["status"]) == {"ok"}, orig["problems"].tolist()
    # every metric of the InfluxDB stage: the columns the query set adds
    from ombt_postmortem.influx.config import InfluxConfig
    columns = InfluxConfig.from_dict({}).query_set.columns
    assert {"min_usage_idle_bus", "messages_delivered", "bus_container_cpu_max"} <= set(columns)
    compared = 0
    for run in orig.index:
        for col in columns:
            a, b = float(orig.loc[run, col]), float(up.loc[run, col])
            assert _same(a, b), (run, col, a, b)
            compared += not math.isnan(a)
    assert compared >= 8 * 8  # most columns carry numbers in the example
    # the per-message columns need the agents' logs, which upstream backups lack: said
    for run in up.index:
        notes = str(up.loc[run, "notes"]) if "notes" in up.columns else ""
        notes += " " + str(up.loc[run, "influx_notes"])
        assert "ombt-orchestrator" in notes, (run, notes)


def test_the_rewritten_example_really_has_upstream_s_shape(
        both_examples: tuple[Path, Path], tmp_path: Path) -> None:
    """The premise of the test above: per-core series that would change a mixed mean."""
    work, _ = both_examples
    run = json.loads((work / "upstream" / "params.json").read_text())[0]["backup_dir"]
    data = untar(work / "upstream" / run / "influxdb-data.tar.gz", tmp_path / "r")
    with reference_server(data) as url:
        assert points(url, "telegraf", 'SHOW MEASUREMENTS') == []
        cpus = {p["cpu"] for p in points(url, DB, 'SELECT usage_idle, cpu FROM "cpu"')}
    assert "cpu-total" in cpus and len(cpus) >= 3, cpus


# --------------------------------------------------------------------------- 2. qdr + rabbitmq


def _window(run_dir: Path) -> tuple[int, int]:
    lo, hi = run_window(run_dir)
    return int(lo * NS) - 1, int(hi * NS) + 1  # the product rounds outwards


def _in(rows: list[dict], lo: int, hi: int) -> list[dict]:
    return [r for r in rows if lo <= r["time"] <= hi]


def _series(rows: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return out


def _max(values: list[float]) -> float:
    return max(values) if values else math.nan


def _spread_sum(rows: list[dict]) -> float:
    """Sum over the series (host, instance, type) of last - first, series of >= 2 points."""
    total, any_ = 0.0, False
    for s in _series(rows, ("host", "instance", "type")).values():
        v = [r["value"] for r in sorted(s, key=lambda r: r["time"])]
        if len(v) >= 2:
            total += max(v) - min(v)
            any_ = True
    return total if any_ else math.nan


BUS_IMAGES = ("rabbitmq", "msimonin/qdrouterd", "msimonin/qdrouterd-collectd")


#: cumulative counters are read from one sample before the run to one after it: the
#: window widened by their sampling interval (collectd and telegraf's rabbitmq: 30 s)
COUNTER_MARGIN_NS = 30 * NS


def expected_from_raw(url: str, lo: int, hi: int, duration: float) -> dict[str, float]:
    def rows(measurement: str, fields: str, margin: int = 0) -> list[dict]:
        return _in(points(url, DB, f'SELECT {fields} FROM "{measurement}" GROUP BY *'),
                   lo - margin, hi + margin)

    addr = rows("address_value", "value", COUNTER_MARGIN_NS)
    link = rows("link_value", "value")
    router = rows("router_value", "value")
    cont_cpu = [r for r in rows("docker_container_cpu", "usage_percent")
                if r["role"] == "bus" and r["container_image"] in BUS_IMAGES
                and r["usage_percent"] is not None]
    cont_mem = [r for r in rows("docker_container_mem", '"usage"')
                if r["role"] == "bus" and r["container_image"] in BUS_IMAGES]
    netstat = [r for r in rows("netstat", "tcp_established") if r["role"] == "bus"]
    overview = [r for r in rows("rabbitmq_overview", "messages_delivered", COUNTER_MARGIN_NS)
                if r["role"] == "bus"]
    want = {
        "qdr_deliveries_ingress": _spread_sum(
            [r for r in addr if r["type"] == "deliveries-ingress"]),
        "qdr_deliveries_egress": _spread_sum(
            [r for r in addr if r["type"] == "deliveries-egress"]),
        "qdr_undelivered_max": _max([r["value"] for r in link
                                     if r["type"] == "undelivered-count"]),
        "qdr_unsettled_max": _max([r["value"] for r in link if r["type"] == "unsettled-count"]),
        "qdr_connections_max": _max([r["value"] for r in router
                                     if r["type"] == "connection-count"]),
        "qdr_links_max": _max([r["value"] for r in router if r["type"] == "link-count"]),
        "qdr_addresses_max": _max([r["value"] for r in router if r["type"] == "addr-count"]),
        "bus_container_cpu_max": _max([r["usage_percent"] for r in cont_cpu]),
        "bus_container_mem_max": _max([r["usage"] for r in cont_mem]),
        "bus_tcp_established_max": _max([r["tcp_established"] for r in netstat]),
    }
    by_host = _series(overview, ("host",))
    spreads = [max(r["messages_delivered"] for r in s) - min(r["messages_delivered"] for r in s)
               for s in by_host.values() if len(s) >= 2]
    want["messages_delivered_in_run"] = max(spreads) if spreads else math.nan
    for col in ("messages_delivered", "qdr_deliveries_ingress", "qdr_deliveries_egress"):
        name = col + "_in_run" if col == "messages_delivered" else col
        want[col + "_rate"] = want[name] / duration
    return want


@pytest.fixture(scope="module")
def mixed_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("orch-mixed")
    # pause 0.4 s x 150 calls: a minute of test, two or more 30 s collectd/netstat samples
    spec = SynthSpec(layout="orchestrator", drivers=("broker", "router-2"), clients=(2,),
                     servers=(2,), call_types=("rpc-call", "rpc-cast"), nbr_calls=150,
                     pause=0.4, seed=5, agents_per_host=2)
    synth_campaign(work / "campaign", spec, jobs=2)
    cfg = write_config(work, {"mixed": work / "campaign"})
    res = snakemake(work, cfg, timeout=900)
    assert res.returncode == 0, res.output[-4000:]
    return work


def test_mixed_broker_router_campaign_equals_the_raw_points(
        mixed_campaign: Path, tmp_path: Path) -> None:
    work = mixed_campaign
    table = _table(work, "mixed")
    params = json.loads((work / "campaign" / "params.json").read_text())
    assert set(table["status"]) == {"ok"}, table["problems"].tolist()
    seen = {"qdr": 0, "rabbitmq": 0}
    for i, p in enumerate(params):
        run = p["backup_dir"]
        run_dir = work / "campaign" / run
        lo, hi = _window(run_dir)
        # the run's length in seconds, exact on the JSON's decimal times
        start, stop = run_window(run_dir)
        duration = float(Decimal(repr(stop)) - Decimal(repr(start)))
        data = untar(run_dir / "influxdb-data.tar.gz", tmp_path / f"r{i}")
        with reference_server(data) as url:
            want = expected_from_raw(url, lo, hi, duration)
        row = table.loc[run]
        for col, value in want.items():
            assert _same(float(row[col]), value), (run, col, float(row[col]), value)
        notes = str(row["influx_notes"])
        if p["driver"].startswith("router"):
            seen["qdr"] += 1
            # every message of the run enters a router once: rpc-call requests and replies
            clients, _ = (json.loads(line) for line in
                          next(run_dir.glob("*_controller-*-0.log")).read_text().splitlines()[:2])
            sent = sum(c["msgs_ok"] for c in clients.values())
            per_message = 2 if p["call_type"] == "rpc-call" else 1
            # read from a sample before the run to one after it, the count misses only
            # what a series created during the run (a reply address) had delivered by
            # its first sample: a few messages, not a router's share (without the 30 s
            # margin, a router whose samples straddled the run's edges was left out:
            # half the deliveries with 2 routers)
            assert 0.95 * per_message * sent <= want["qdr_deliveries_ingress"] \
                <= per_message * sent, (run, want, sent)
            assert not math.isnan(want["qdr_deliveries_egress"]), run  # the test has data
            assert want["qdr_deliveries_egress"] > 0
            assert math.isnan(float(row["messages_delivered_in_run"]))
            assert "qdr" in notes, notes
        else:
            seen["rabbitmq"] += 1
            assert math.isnan(want["qdr_deliveries_ingress"])
            assert not math.isnan(want["bus_container_cpu_max"])
            assert "rabbitmq" in notes, notes
        assert "ombt-orchestrator" in notes, notes
    assert seen == {"qdr": 2, "rabbitmq": 2}
