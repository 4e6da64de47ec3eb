"""The bundled example rewritten into ombt-orchestrator's layout (``synth.rewrite``).

Checked with raw InfluxQL on an influxd the product did not configure, the
original backup against the rewritten one: every point moved unchanged to
``ombt-orchestrator``, ``telegraf`` empty, per-core cpu series beside each
``cpu-total`` point, agent logs gone, broker log tarballs and fping files added.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from influx_helpers import CAMPAIGN, influx, points, reference_server

from ombt_postmortem.synth.rewrite import rewrite_to_orchestrator

pytestmark = influx


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("rewrite") / "campaign"
    rewrite_to_orchestrator(CAMPAIGN, dest)
    return dest


def _serve(tar: Path, dest: Path):  # type: ignore[no-untyped-def]
    dest.mkdir(parents=True)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    return reference_server(dest)


def _all_rows(url: str, db: str) -> dict[str, list[tuple]]:
    out = {}
    for m in (r["name"] for r in points(url, db, "SHOW MEASUREMENTS")):
        rows = points(url, db, f'SELECT * FROM "{m}" GROUP BY *')
        out[m] = sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)
    return out


def _field_types(url: str, db: str) -> set[tuple[str, str, str]]:
    res = points(url, db, "SHOW FIELD KEYS")
    return {(r.get("name", ""), r["fieldKey"], r["fieldType"]) for r in res}


def test_the_rewritten_example_holds_the_same_points_in_upstreams_layout(
        rewritten: Path, tmp_path: Path) -> None:
    params = json.loads((CAMPAIGN / "params.json").read_text())
    assert (rewritten / "params.json").read_bytes() == (CAMPAIGN / "params.json").read_bytes()
    for k, p in enumerate(params):
        run, orig = rewritten / p["backup_dir"], CAMPAIGN / p["backup_dir"]
        with _serve(orig / "influxdb-data.tar.gz", tmp_path / f"o{k}") as url:
            before = _all_rows(url, "telegraf")
            before_types = _field_types(url, "telegraf")
        assert before["cpu"]  # the example's cpu points
        with _serve(run / "influxdb-data.tar.gz", tmp_path / f"r{k}") as url:
            dbs = {r["name"] for r in points(url, "", "SHOW DATABASES")}
            assert {"telegraf", "ombt-orchestrator"} <= dbs
            assert points(url, "telegraf", "SHOW MEASUREMENTS") == []
            after = _all_rows(url, "ombt-orchestrator")
            assert set(after) == set(before)
            for m in before:
                if m != "cpu":
                    assert after[m] == before[m], m  # same points, tags and values
            totals = [r for r in after["cpu"] if ("cpu", "'cpu-total'") in r]
            assert totals == before["cpu"]  # the example has only cpu-total
            assert _field_types(url, "ombt-orchestrator") == before_types
            cpu = points(url, "ombt-orchestrator",
                         'SELECT usage_idle, usage_user, cpu, host FROM "cpu"')
            assert {r["cpu"] for r in cpu} == {"cpu-total", "cpu0", "cpu1", "cpu2", "cpu3"}
            by_point: dict[tuple, dict[str, dict]] = {}
            for r in cpu:
                by_point.setdefault((r["host"], r["time"]), {})[r["cpu"]] = r
            for cores in by_point.values():
                assert len(cores) == 5  # every total got its four cores, same time and host
                idle = [cores[f"cpu{i}"]["usage_idle"] for i in range(4)]
                if cores["cpu-total"]["usage_idle"] < 100.0:  # some busy part to share
                    assert len(set(idle)) == 4
                    assert max(idle) < cores["cpu-total"]["usage_idle"]  # busier cores
                assert all(0.0 <= cores[f"cpu{i}"]["usage_idle"] <= 100.0 for i in range(4))
            # a query averaging every cpu series of a host is not the cpu-total one
            host = next(iter(by_point))[0]
            mixed = points(url, "ombt-orchestrator",
                           f"SELECT mean(usage_idle) FROM cpu WHERE host = '{host}'")[0]["mean"]
            total = points(url, "ombt-orchestrator", "SELECT mean(usage_idle) FROM cpu WHERE "
                           f"host = '{host}' AND cpu = 'cpu-total'")[0]["mean"]
            assert mixed < total - 0.01

        names = {f.name for f in run.iterdir()}
        orig_names = {f.name for f in orig.iterdir()}
        agent_logs = {n for n in orig_names if "_rpc-client-" in n or "_rpc-server-" in n}
        assert agent_logs and not agent_logs & names
        controller = {n for n in orig_names if "_controller-" in n}
        assert len(controller) == 2 and controller <= names
        for n in controller:
            assert (run / n).read_bytes() == (orig / n).read_bytes()
        for tarball in ("enos-bus-0_oo-rabbitmq-bus-0-logs.tar.gz",
                        "enos-control-bus-0_oo-rabbitmq-control-bus-0-logs.tar.gz"):
            with tarfile.open(run / tarball) as tf:
                assert any(m.isfile() and m.name.endswith(".log") for m in tf.getmembers())
        outs = {n for n in names if n.endswith(".out")}
        assert "enos-bus-0.out" in outs and len(outs) >= 4
        text = (run / "enos-bus-0.out").read_text()
        assert f"{len(outs):8d} targets" in text and "ICMP Echos sent" in text


def test_the_rewrite_refuses_an_existing_destination(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(FileExistsError):
        rewrite_to_orchestrator(CAMPAIGN, tmp_path / "x")
