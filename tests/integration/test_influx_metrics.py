"""collect_run_metrics on the real campaign, checked against an independently run influxd."""

from __future__ import annotations

import math
import os
import re
import statistics
import urllib.request
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from influx_helpers import (
    http_query,
    influx_test,
    influxd_children,
    make_tar_of,
    points,
    reference_server,
    run_dirs,
    run_window,
    untar,
)

from ombt_postmortem.errors import RunDataError
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.collect import RunMetrics, collect_run_metrics
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.queries import (
    QueryConfigError,
    QuerySet,
    epoch_ns,
    identifier,
    string_literal,
    time_literal,
)

SEED_NOTEBOOK_COLUMNS = [
    "min_usage_idle_ombt_server", "min_usage_idle_bus",
    "messages_delivered", "queues", "connections", "consumers", "exchanges",
    "mem_used", "fd_used", "sockets_used",
]
OVERVIEW = ["messages_delivered", "queues", "connections", "consumers", "exchanges"]
#: the columns of the default query set computed from measurements the example lacks
OTHER_COLUMNS = [
    "bus_container_cpu_max", "bus_container_mem_max", "bus_tcp_established_max",
    "qdr_deliveries_ingress", "qdr_deliveries_egress", "qdr_deliveries_ingress_rate",
    "qdr_deliveries_egress_rate", "qdr_undelivered_max", "qdr_unsettled_max",
    "qdr_connections_max", "qdr_links_max", "qdr_addresses_max",
]
ABSENT_FROM_EXAMPLE = ["docker_container_cpu", "docker_container_mem", "netstat",
                       "router_value", "link_value", "address_value"]
COUNTER_COLUMNS = ["messages_delivered_in_run", "messages_delivered_rate"]
NODE = ["mem_used", "fd_used", "sockets_used"]
LIMITS = Limits(threads=1, mem_mb=512)
TS_COLUMNS = ["measurement", "field", "host", "role"]


def cfg_for(tmp_path: Path, **kw) -> InfluxConfig:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return InfluxConfig.from_dict({"tmpdir": str(tmp_path / "tmp"), **kw})


def assert_clean(tmp_path: Path) -> None:
    assert list((tmp_path / "tmp").iterdir()) == []
    assert influxd_children() == []


# --------------------------------------------------------------------------- the done criterion


def expected_values(url: str, lo: float, hi: float) -> dict[str, float]:
    """Every metric of the default query set over [lo, hi], from raw points and plain Python.

    CPU: the hosts' total (cpu=cpu-total, or no cpu tag); RabbitMQ: hosts of role bus.
    The measurements of the other columns (docker, netstat, collectd's qdr) are
    checked absent from the example: those columns are NaN.
    """
    where = f"time >= {round(lo * 1e9)} AND time <= {round(hi * 1e9)}"
    out: dict[str, float] = {}
    for role, col in (("ombt-server", "min_usage_idle_ombt_server"), ("bus", "min_usage_idle_bus")):
        per_host: dict[str, list[float]] = {}
        for p in points(url, "telegraf", f"SELECT usage_idle, host, cpu FROM cpu "
                                         f"WHERE role = '{role}' AND {where}"):
            if p.get("cpu") in ("cpu-total", None, ""):
                per_host.setdefault(p["host"], []).append(p["usage_idle"])
        out[col] = min(statistics.fmean(v) for v in per_host.values()) if per_host else math.nan
    for measurement, fields in (("rabbitmq_overview", OVERVIEW), ("rabbitmq_node", NODE)):
        for f in fields:
            vals = [p[f] for p in points(url, "telegraf", f"SELECT {f}, role FROM {measurement} "
                                                          f"WHERE {where}")
                    if p[f] is not None and p["role"] == "bus"]
            out[f] = float(max(vals)) if vals else math.nan
    # the cumulative counter per series, read from a sample before the run to one after
    # it (the window widened by the 30 s sampling interval of the orchestrator's rabbitmq
    # input): last - first, and that divided by the window's length
    wide = f"time >= {round((lo - 30) * 1e9)} AND time <= {round((hi + 30) * 1e9)}"
    series: dict[tuple, list[tuple[int, float]]] = {}
    for p in points(url, "telegraf", f"SELECT messages_delivered FROM rabbitmq_overview "
                                     f"WHERE role = 'bus' AND {wide} GROUP BY *"):
        if p["messages_delivered"] is not None:
            key = tuple(sorted((k, v) for k, v in p.items() if k not in ("time",
                                                                        "messages_delivered")))
            series.setdefault(key, []).append((p["time"], p["messages_delivered"]))
    spreads = [max(rows)[1] - min(rows)[1] for rows in series.values() if len(rows) >= 2]
    out["messages_delivered_in_run"] = float(max(spreads)) if spreads else math.nan
    length = float(Decimal(repr(hi)) - Decimal(repr(lo)))  # exact on the decimal times
    out["messages_delivered_rate"] = (float(max(spreads)) / length if spreads and length > 0
                                      else math.nan)
    present = {r[0] for s in http_query(url, "SHOW MEASUREMENTS", "telegraf")["series"]
               for r in s["values"]}
    assert not present & set(ABSENT_FROM_EXAMPLE)
    for col in OTHER_COLUMNS:
        out[col] = math.nan
    return out


def expected_timeseries(url: str, qs: QuerySet, lo: float, hi: float) -> set[tuple]:
    rows = set()
    where = f"time >= {round(lo * 1e9)} AND time <= {round(hi * 1e9)}"
    for spec in qs.timeseries:
        for f in spec.fields:
            res = http_query(url, f'SELECT "{f}" FROM "{spec.measurement}" WHERE {where} '
                                  "GROUP BY *", "telegraf")
            for s in res.get("series", []):
                for t, v in s["values"]:
                    if v is not None:
                        tags = frozenset((k, x) for k, x in s["tags"].items() if x != "")
                        rows.add((spec.measurement, f, tags, t, float(v)))
    return rows


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)


def backend_options(backend: str) -> dict:
    """native: influxd on PATH; docker: the engine of OMBT_DOCKER_HOST (Podman in CI)."""
    if backend == "native":
        return {"backend": "native"}
    url = os.environ.get("OMBT_DOCKER_HOST")
    if not url:
        reason = "OMBT_DOCKER_HOST is not set (as root: eval \"$(bash ci/podman-up.sh)\")"
        if os.environ.get("OMBT_REQUIRE_PODMAN") == "1":
            pytest.fail(f"OMBT_REQUIRE_PODMAN=1 but {reason}")
        pytest.skip(reason)
    image = os.environ.get("OMBT_DOCKER_IMAGE", "localhost/influxdb-local:1.6")
    return {"backend": "docker", "docker": {"image": image, "base_url": url}}


@pytest.mark.parametrize("backend", ["native", pytest.param("docker", marks=pytest.mark.podman)])
@pytest.mark.parametrize("run_dir", run_dirs(), ids=lambda p: f"run{run_dirs().index(p)}")
@influx_test
def test_metrics_equal_an_independent_server(run_dir: Path, tmp_path: Path, backend: str) -> None:
    tar = run_dir / "influxdb-data.tar.gz"
    start, stop = run_window(run_dir)
    results: dict[float, RunMetrics] = {}
    opts = backend_options(backend)
    for margin in (0.0, 4.0):
        cfg = cfg_for(tmp_path, window_margin_s=margin, **opts)
        log = tmp_path / f"influx-{margin}.log"
        results[margin] = collect_run_metrics(run_dir.name, tar, (start, stop), cfg, log, LIMITS)
        assert results[margin].backend == backend
        assert_clean(tmp_path)
        assert "Listening on HTTP" in log.read_text()
    qs = cfg.query_set
    with reference_server(untar(tar, tmp_path / "ref")) as url:
        for margin, got in results.items():
            lo, hi = start - margin, stop + margin
            want = expected_values(url, lo, hi)
            assert list(got.values) == qs.columns
            assert set(got.values) == set(want)
            for col in qs.columns:
                assert same(got.values[col], want[col]), (margin, col, got.values[col], want[col])
            assert got.window == (lo, hi) and got.database == "telegraf"
            assert got.notes[0] == ("bus: rabbitmq (rabbitmq_overview, rabbitmq_node, "
                                    "rabbitmq_queue of role bus)")
            assert ("NaN (measurements " + ", ".join(sorted(ABSENT_FROM_EXAMPLE))
                    + " absent from database telegraf): " + ", ".join(OTHER_COLUMNS)) in got.notes
            nan = [c for c in qs.columns if c not in OTHER_COLUMNS and math.isnan(got.values[c])]
            nodata = [n for n in got.notes if n.startswith("no data in the window")]
            assert nodata == ([f"no data in the window (no point of the field in it; a "
                               f"counter's in-run count and rate need two): NaN: "
                               f"{', '.join(nan)}"] if nan else [])
            assert len(got.notes) == 2 + len(nodata) + (
                len(nan) == len(qs.columns) - len(OTHER_COLUMNS))
            ts = got.timeseries
            assert list(ts.columns[:4]) == TS_COLUMNS and list(ts.columns[-2:]) == ["time", "value"]
            assert str(ts["time"].dtype) == "datetime64[ns, UTC]"
            tag_cols = [c for c in ts.columns if c not in ("measurement", "field", "time", "value")]
            mine = {(r["measurement"], r["field"],
                     frozenset((k, r[k]) for k in tag_cols if not pd.isna(r[k])),
                     r["time"].value, r["value"]) for r in ts.to_dict("records")}
            assert len(mine) == len(ts)
            assert mine == expected_timeseries(url, qs, lo, hi)
            assert (ts["time"] >= pd.Timestamp(lo, unit="s", tz="UTC")).all()
            assert (ts["time"] <= pd.Timestamp(hi, unit="s", tz="UTC")).all()
        # a wider window sees every metric of this RabbitMQ campaign
        assert not any(math.isnan(results[4.0].values[c])
                       for c in [*SEED_NOTEBOOK_COLUMNS, *COUNTER_COLUMNS])
        assert len(results[4.0].timeseries) > len(results[0.0].timeseries)


# --------------------------------------------------------------------------- databases, NaN, faults

@influx_test
def test_database_fallback_and_ambiguity(tmp_path: Path) -> None:
    run_dir = run_dirs()[2]
    window = run_window(run_dir)
    tar = run_dir / "influxdb-data.tar.gz"
    got = collect_run_metrics("r2", tar, window, cfg_for(tmp_path, database="tele"), None, LIMITS)
    assert got.database == "telegraf"
    assert "database tele absent: used telegraf, the one database holding them" in got.notes
    assert not math.isnan(got.values["min_usage_idle_bus"])
    # a second, empty user database (as ombt-orchestrator's): not a candidate
    ref = untar(tar, tmp_path / "two")
    with reference_server(ref) as url:
        http_query(url, 'CREATE DATABASE "other"')
    two = make_tar_of(ref / "influxdb-data", tmp_path / "influxdb-data.tar.gz")
    got = collect_run_metrics("r2", two, window, cfg_for(tmp_path, database="tele"), None, LIMITS)
    assert got.database == "telegraf"
    # ... until it holds a queried measurement too: no guess, the databases are listed
    with reference_server(ref) as url:
        req = urllib.request.Request(f"{url}/write?db=other", method="POST",
                                     data=b"cpu,host=h,role=bus,cpu=cpu-total usage_idle=1")
        urllib.request.urlopen(req, timeout=30).close()
    two = make_tar_of(ref / "influxdb-data", tmp_path / "influxdb-data.tar.gz")
    with pytest.raises(RunDataError) as err:
        collect_run_metrics("r2", two, window, cfg_for(tmp_path, database="tele"), None, LIMITS)
    text = str(err.value)
    assert "run r2 (influxdb-data.tar.gz)" in text
    assert "several databases hold the queried measurements (other, telegraf)" in text
    assert "influx.database tele" in text
    assert_clean(tmp_path)


@influx_test
def test_absent_measurements_fields_are_nan_and_export_off(tmp_path: Path) -> None:
    run_dir = run_dirs()[0]
    weird_role = "it's a \"role\" \\ with quotes"
    queries = {
        "queries": [
            {"column": "qdr_links", "template":
                'SELECT max("links") FROM "qdr_router" WHERE time >= {start} AND time <= {stop}'},
            {"column": "no_such_field", "template":
                'SELECT max("nope") FROM "rabbitmq_overview" WHERE time >= {start} '
                "AND time <= {stop}"},
            {"column": "weird_role", "role": weird_role, "template":
                'SELECT mean("usage_idle") FROM "cpu" WHERE "role" = {role} AND time >= {start} '
                "AND time <= {stop}"},
            {"column": "queues", "template":
                'SELECT max("queues") FROM "rabbitmq_overview" WHERE time >= {start} '
                "AND time <= {stop}"},
        ],
        "timeseries": [{"measurement": "qdr_router", "fields": "*"},
                       {"measurement": "rabbitmq_node", "fields": ["nope"]}],
    }
    cfg = cfg_for(tmp_path, queries=queries, window_margin_s=10)
    got = collect_run_metrics("r0", run_dir / "influxdb-data.tar.gz", run_window(run_dir), cfg,
                              None, LIMITS)
    assert math.isnan(got.values["qdr_links"]) and math.isnan(got.values["no_such_field"])
    assert math.isnan(got.values["weird_role"]) and got.values["queues"] > 0
    assert "NaN (measurement qdr_router absent from database telegraf): qdr_links" in got.notes
    assert any(n.startswith("no data in the window") and n.endswith(": NaN: no_such_field, "
                                                                     "weird_role")
               for n in got.notes)
    assert got.timeseries.empty
    assert list(got.timeseries.columns) == [*TS_COLUMNS, "time", "value"]
    off = cfg_for(tmp_path, export_timeseries=False, window_margin_s=10)
    got = collect_run_metrics("r0", run_dir / "influxdb-data.tar.gz", run_window(run_dir), off,
                              None, LIMITS)
    assert got.timeseries.empty and list(got.timeseries.columns) == [*TS_COLUMNS, "time", "value"]
    assert got.values["queues"] > 0 and "export" in got.timings
    assert_clean(tmp_path)


@influx_test
def test_data_faults_raise_run_data_error(tmp_path: Path) -> None:
    run_dir = run_dirs()[0]
    tar = run_dir / "influxdb-data.tar.gz"
    cfg = cfg_for(tmp_path)
    window = run_window(run_dir)
    for bad in (None, (window[1], window[0]), (math.nan, 1.0), ("a", "b")):
        with pytest.raises(RunDataError, match="run r0: .*test window"):
            collect_run_metrics("r0", tar, bad, cfg, None, LIMITS)
    with pytest.raises(RunDataError, match="no influxdb-data.tar.gz"):
        collect_run_metrics("r0", None, window, cfg, None, LIMITS)
    with pytest.raises(RunDataError, match=r"\(influxdb-data.tar.gz\): .*missing"):
        collect_run_metrics("r0", tmp_path / "influxdb-data.tar.gz", window, cfg, None, LIMITS)
    # corrupt data: the server dies at start, the reason quotes its log
    corrupt = untar(tar, tmp_path / "corrupt") / "influxdb-data"
    (corrupt / "meta" / "meta.db").write_bytes(os.urandom(3000))
    bad_tar = make_tar_of(corrupt, tmp_path / "influxdb-data.tar.gz")
    log = tmp_path / "logs" / "r0.log"
    with pytest.raises(RunDataError) as err:
        collect_run_metrics("r0", bad_tar, window, cfg, log, LIMITS)
    text = str(err.value)
    assert text.startswith("run r0 (influxdb-data.tar.gz): InfluxDB failed to start")
    assert "run: create server" in text and "\n" not in text
    assert "run: create server" in log.read_text()
    assert_clean(tmp_path)


# --------------------------------------------------------------------------- config and queries


def test_config_defaults_and_preset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # found from anywhere: the package's preset telegraf
    cfg = InfluxConfig.from_dict(None)
    assert (cfg.backend, cfg.database, cfg.window_margin_s, cfg.export_timeseries,
            cfg.max_extract_mb, cfg.ready_timeout_s) == ("auto", "telegraf", 0.0, True, 4096, 60.0)
    assert cfg.docker == {"image": "influxdb:1.8", "base_url": None}
    columns = [*SEED_NOTEBOOK_COLUMNS, *COUNTER_COLUMNS, *OTHER_COLUMNS]
    assert sorted(cfg.query_set.columns) == sorted(columns)
    assert cfg.query_set.source.endswith("ombt_postmortem/data/queries/telegraf.yaml")
    assert InfluxConfig.from_dict({"queries": "telegraf"}).query_set.columns == \
        cfg.query_set.columns
    c = InfluxConfig.from_dict({"docker": {"base_url": "unix:///x.sock"}, "threads": 4})
    assert c.docker == {"image": "influxdb:1.8", "base_url": "unix:///x.sock"}
    for bad in ({"backend": "k8s"}, {"window_margin_s": -1}, {"max_extract_mb": 0},
                {"export_timeseries": "yes"}, {"queries": "nope"}, {"database": ""}):
        with pytest.raises(ValueError):
            InfluxConfig.from_dict(bad)
    # every preset query is restricted to the window, widened by its own margin_s only
    # (cumulative counters: one sampling interval, 30 s, on each side)
    widened = set()
    for q in cfg.query_set.queries:
        text = q.render(10**9, 2 * 10**9)
        m = round(q.margin_s)
        assert f"time >= '1970-01-01T00:00:{1 - m:02d}.000000000Z'" in text if m == 0 else \
            f"time >= '1969-12-31T23:59:{60 + 1 - m:02d}.000000000Z'" in text, text
        assert f"time <= '1970-01-01T00:00:{2 + m:02d}.000000000Z'" in text, text
        if m:
            widened.add(q.column)
    assert widened == {"messages_delivered_in_run", "messages_delivered_rate",
                       "qdr_deliveries_ingress", "qdr_deliveries_egress",
                       "qdr_deliveries_ingress_rate", "qdr_deliveries_egress_rate"}
    rate = next(q for q in cfg.query_set.queries if q.column == "qdr_deliveries_ingress_rate")
    assert '/ 1.0 FROM' in rate.render(10**9, 2 * 10**9)  # {duration_s}: the run's window
    for bad in (-1, "30", float("nan"), 4000, True):
        with pytest.raises(ValueError, match="margin_s"):
            QuerySet.from_dict({"queries": [{"column": "c", "margin_s": bad, "template":
                                             "SELECT max(x) FROM m WHERE time >= {start} "
                                             "AND time <= {stop}"}]})


def test_escaping_and_literals() -> None:
    assert string_literal("bus") == "'bus'"
    assert string_literal("it's \\ x") == "'it\\'s \\\\ x'"
    assert identifier('a"b') == '"a\\"b"'
    for bad in ("a\nb", "tab\there", "", "x" * 300, 3):
        with pytest.raises(QueryConfigError):
            string_literal(bad)  # type: ignore[arg-type]
    assert epoch_ns(1795855059.1251228) == 1795855059125122800
    assert epoch_ns(1.0000000005) == 1000000000 and epoch_ns(1.0000000005, up=True) == 1000000001
    assert time_literal(1795855059125122800) == "'2026-11-28T08:37:39.125122800Z'"
    with pytest.raises(ValueError):
        epoch_ns(math.inf)


@pytest.mark.parametrize(("template", "role", "words"), [
    ('SELECT max("q") FROM "m" WHERE time >= {start}', None, "both {start} and {stop}"),
    ('SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop} AND x = {host}', None,
     "unknown placeholder"),
    ('SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop!r}', None,
     "unknown placeholder"),
    ('SELECT max("q") FROM "m" WHERE "role" = {role} AND time >= {start} AND time <= {stop}',
     None, "'role' must be given"),
    ('SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop}', "bus",
     "'role' must be given"),
    ('SELECT max("q") INTO "x" FROM "m" WHERE time >= {start} AND time <= {stop}', None, "INTO"),
    ('DROP DATABASE "telegraf"; SELECT 1 WHERE time >= {start} AND time <= {stop}', None, "';'"),
    ('DELETE FROM "m" WHERE time >= {start} AND time <= {stop}', None, "SELECT"),
    ("SELECT max(\"q\") FROM \"m\" WHERE time >= '{start}' AND time <= '{stop}'", None,
     "do not quote"),
    ('SELECT max("q") FROM "m" WHERE "r" = {role} AND time >= {start} AND time <= {stop}',
     "a\nb", "control"),
])
def test_bad_templates_are_refused(template: str, role: str | None, words: str) -> None:
    q = {"column": "c", "template": template}
    if role is not None:
        q["role"] = role
    with pytest.raises(QueryConfigError, match=words.replace("(", r"\(").replace("{", r"\{")
                       .replace("}", r"\}")):
        QuerySet.from_dict({"queries": [q]})


def test_bad_query_sets_are_refused() -> None:
    ok = 'SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop}'
    for data in ({"queries": [{"column": "a-b", "template": ok}]},
                 {"queries": [{"column": "a", "template": ok}, {"column": "a", "template": ok}]},
                 {"queries": [{"column": "a", "template": ok, "colour": 1}]},
                 {"timeseries": [{"measurement": "cpu", "fields": []}]},
                 {"timeseries": [{"measurement": "cpu\n", "fields": "*"}]},
                 {"querys": []}, ["not a mapping"]):
        with pytest.raises(QueryConfigError):
            QuerySet.from_dict(data)


@influx_test
def test_export_margin_widens_the_series_not_the_metrics(tmp_path: Path) -> None:
    run_dir = run_dirs()[4]  # rpc-cast 1x1: 0.4 s, no telegraf point inside its window
    tar = run_dir / "influxdb-data.tar.gz"
    start, stop = run_window(run_dir)
    cfg = cfg_for(tmp_path, window_margin_s=0, export_margin_s=20)
    got = collect_run_metrics(run_dir.name, tar, (start, stop), cfg, None, LIMITS)
    assert_clean(tmp_path)
    with reference_server(untar(tar, tmp_path / "ref")) as url:
        want = expected_values(url, start, stop)
        series = expected_timeseries(url, cfg.query_set, start - 20, stop + 20)
    for col in cfg.query_set.columns:
        assert same(got.values[col], want[col]), col
    # nothing inside the window but the counters, read from a sample before the run to
    # one after it: the 0.4 s run's deliveries are counted (they fell between samples)
    assert [c for c, v in got.values.items() if not math.isnan(v)] == COUNTER_COLUMNS
    assert got.values["messages_delivered_in_run"] > 0
    ts = got.timeseries
    tag_cols = [c for c in ts.columns if c not in ("measurement", "field", "time", "value")]
    mine = {(r["measurement"], r["field"],
             frozenset((k, r[k]) for k in tag_cols if not pd.isna(r[k])),
             r["time"].value, r["value"]) for r in ts.to_dict("records")}
    assert series and mine == series
    with pytest.raises(ValueError, match="export_margin_s"):
        cfg_for(tmp_path, export_margin_s=-1)


def test_query_set_include_buses_and_measurements(tmp_path: Path) -> None:
    ok = 'SELECT max("q") FROM "m" WHERE time >= {start} AND time <= {stop}'
    sub = ('SELECT sum("s") FROM (SELECT spread("value") AS "s" FROM "address_value" '
           "WHERE \"type\" = 'FROM \"nope\"' AND time >= {start} AND time <= {stop} GROUP BY *)")
    (tmp_path / "child.yaml").write_text(yaml.safe_dump({
        "queries": [{"column": "c2", "template": sub}],
        "timeseries": [{"measurement": "t2", "fields": "*"}],
        "buses": [{"name": "qdr", "measurements": ["router_value"]}]}))
    parent = {"queries": [{"column": "c1", "template": ok}],
              "timeseries": [{"measurement": "t1", "fields": ["f"]}],
              "buses": [{"name": "rabbitmq", "measurements": ["rabbitmq_overview"],
                         "role": "bus"}],
              "include": ["child.yaml"]}
    (tmp_path / "parent.yaml").write_text(yaml.safe_dump(parent))
    qs = QuerySet.load(tmp_path / "parent.yaml")
    assert qs.columns == ["c1", "c2"]
    assert [s.measurement for s in qs.timeseries] == ["t1", "t2"]
    assert [(b.name, b.measurements, b.role) for b in qs.buses] == [
        ("rabbitmq", ("rabbitmq_overview",), "bus"), ("qdr", ("router_value",), None)]
    # the FROM of a subquery's inner SELECT counts, a string literal's does not
    assert qs.measurements == ["m", "address_value", "t1", "t2", "rabbitmq_overview",
                               "router_value"]
    # inline, relative to the config's folder
    assert InfluxConfig.from_dict({"queries": parent}, base_dir=tmp_path).query_set.columns == \
        ["c1", "c2"]
    bad = [
        ({**parent, "include": ["nope.yaml"]}, "not found"),
        ({**parent, "include": ["parent.yaml"]}, "includes itself"),
        ({**parent, "queries": [{"column": "c2", "template": ok}]}, "column 'c2' is defined twice"),
        ({**parent, "buses": [{"name": "qdr", "measurements": ["x"]}]}, "bus 'qdr'"),
        ({**parent, "buses": [{"name": "b", "measurements": []}]}, "non-empty list"),
        ({**parent, "buses": [{"name": "b", "measurements": ["x"], "colour": 1}]},
         "unknown keys"),
        ({**parent, "include": "child.yaml"}, "'include' must be a list"),
    ]
    for data, words in bad:
        (tmp_path / "parent.yaml").write_text(yaml.safe_dump(data))
        with pytest.raises(QueryConfigError, match=re.escape(words)):
            QuerySet.load(tmp_path / "parent.yaml")
