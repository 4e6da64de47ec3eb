"""Backups as ombt-orchestrator 1.1.x writes them, built point by point into a real influxd.

Each backup is written here as line protocol into a real influxd (database
``ombt-orchestrator`` beside an empty ``telegraf``, as upstream's
roles/influxdb/tasks/deploy.yml and roles/telegraf/templates/telegraf.conf.j2
leave them), the server stopped and its folder tarred like the orchestrator's
influxdb-data.tar.gz. Every expected value is computed below from the Python
lists of points written (never with InfluxQL nor the product's code).

- a rabbitmq run: telegraf's cpu with per-core series of very different values
  beside cpu-total, docker_container_cpu/mem of the broker, an ombt agent on the
  bus host and the control bus's broker, netstat, rabbitmq_overview/node of the
  bus and of the control bus (role control-bus);
- a qdr run: the same telegraf inputs with two qdrouterd routers (and the
  qdrouterd-gui container), the control bus's rabbitmq only, and collectd-qdrouterd's
  router_value / link_value / address_value (InfluxDB's collectd service naming).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from influx_helpers import influx, influxd_children, make_tar_of, reference_server

from ombt_postmortem.errors import RunDataError
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.client import influx_client
from ombt_postmortem.influx.collect import collect_run_metrics, resolve_database
from ombt_postmortem.influx.config import InfluxConfig

pytestmark = influx

LIMITS = Limits(threads=1, mem_mb=512)
T0 = 1_795_855_000  # the run starts here (s); Telegraf-aligned like upstream's round_interval
RUN_S = 95  # the run lasts this long
DB = "ombt-orchestrator"

RABBIT_COLUMNS = ["messages_delivered", "queues", "connections", "consumers", "exchanges",
                  "messages_delivered_in_run", "messages_delivered_rate", "mem_used",
                  "fd_used", "sockets_used"]
QDR_COLUMNS = ["qdr_deliveries_ingress", "qdr_deliveries_egress", "qdr_deliveries_ingress_rate",
               "qdr_deliveries_egress_rate", "qdr_undelivered_max", "qdr_unsettled_max",
               "qdr_connections_max", "qdr_links_max", "qdr_addresses_max"]
BUS_COLUMNS = ["bus_container_cpu_max", "bus_container_mem_max", "bus_tcp_established_max"]
CPU_COLUMNS = ["min_usage_idle_ombt_server", "min_usage_idle_bus"]


@dataclass
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float]
    t: float  # epoch seconds
    bus_container: bool = False  # a container of the bus (decided when written)

    @property
    def ns(self) -> int:
        """The time written (integer ns)."""
        return round(self.t * 1e9)

    def line(self) -> str:
        def esc(v: str) -> str:
            return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=") \
                .replace(" ", "\\ ")
        tags = "".join(f",{esc(k)}={esc(v)}" for k, v in sorted(self.tags.items()))
        fields = ",".join(f"{esc(k)}={float(v)!r}" for k, v in self.fields.items())
        return f"{esc(self.measurement)}{tags} {fields} {self.ns}"


@dataclass
class Backup:
    points: list[Point] = field(default_factory=list)

    def add(self, measurement: str, tags: dict[str, str], fields: dict[str, float], t: float,
            *, bus_container: bool = False) -> None:
        self.points.append(Point(measurement, tags, fields, t, bus_container))

    def of(self, measurement: str, **tags: str) -> list[Point]:
        return [p for p in self.points if p.measurement == measurement
                and all(p.tags.get(k) == v for k, v in tags.items())]


# --------------------------------------------------------------------------- the backups


HOSTS = {"bus-0": "bus", "ctl-bus-0": "control-bus", "server-0": "ombt-server",
         "client-0": "ombt-client"}


def telegraf(b: Backup, rng: random.Random, bus_images: list[tuple[str, str, str]]) -> None:
    """10 s telegraf inputs of every host (cpu per core + total, docker), 30 s netstat."""
    for t in range(T0 - 40, T0 + RUN_S + 40, 10):
        for host, role in HOSTS.items():
            tags = {"host": host, "role": role}
            b.add("cpu", {**tags, "cpu": "cpu-total"}, {"usage_idle": rng.uniform(20, 80),
                                                        "usage_user": rng.uniform(0, 50)}, t)
            # per-core series far from the total: mixing them in would show
            b.add("cpu", {**tags, "cpu": "cpu0"}, {"usage_idle": rng.uniform(0, 2)}, t)
            b.add("cpu", {**tags, "cpu": "cpu1"}, {"usage_idle": rng.uniform(98, 100)}, t)
            containers = [("ombt-agent", "msimonin/ombt", "3.0.0", False)]
            if role == "bus":
                containers += [(n, img, ver, not n.startswith("qdrouterd-gui"))
                               for n, img, ver in bus_images]
            if role == "control-bus":
                containers += [("rabbitmq-control-bus-0", "rabbitmq", "3-management", False)]
            for name, image, version, is_bus in containers:
                ctags = {**tags, "container_name": name, "container_image": image,
                         "container_version": version, "engine_host": host}
                big = 1 if is_bus else 10  # the others outgrow the bus: picking them shows
                b.add("docker_container_cpu", {**ctags, "cpu": "cpu-total"},
                      {"usage_percent": big * rng.uniform(5, 150),
                       "usage_total": rng.uniform(1e9, 2e9)}, t, bus_container=is_bus)
                b.add("docker_container_cpu", {**ctags, "cpu": "cpu0"},
                      {"usage_total": rng.uniform(1e9, 2e9)}, t)
                b.add("docker_container_mem", ctags, {"usage": big * rng.randint(10, 900) * 2**20,
                                                      "limit": 2**34}, t, bus_container=is_bus)
            if role in ("bus", "control-bus") and t % 30 == 0:
                scale = 1 if role == "bus" else 50
                b.add("netstat", tags, {"tcp_established": scale * rng.randint(3, 90),
                                        "tcp_listen": 12}, t)


def rabbitmq(b: Backup, rng: random.Random, host: str, role: str, scale: int) -> None:
    delivered = rng.randint(1000, 5000)  # cumulative since the broker started
    for t in range(T0 - 60, T0 + RUN_S + 60, 30):
        delivered += scale * rng.randint(100, 3000)
        tags = {"host": host, "role": role, "url": "http://localhost:15672"}
        b.add("rabbitmq_overview", tags, {
            "messages_delivered": delivered, "queues": scale * rng.randint(2, 30),
            "connections": scale * rng.randint(2, 30), "consumers": scale * rng.randint(2, 30),
            "exchanges": scale * rng.randint(2, 30)}, t)
        b.add("rabbitmq_node", {**tags, "node": f"rabbit@{host}"}, {
            "mem_used": scale * rng.randint(50, 400) * 2**20,
            "fd_used": scale * rng.randint(20, 90), "sockets_used": scale * rng.randint(2, 30)}, t)


def collectd_qdr(b: Backup, rng: random.Random, routers: list[str]) -> None:
    """collectd-qdrouterd every 30 s (not aligned), as InfluxDB's collectd service stores it."""
    counters: dict[tuple[str, str, str], float] = {}
    for t0 in range(T0 - 65, T0 + RUN_S + 60, 30):
        for i, r in enumerate(routers):
            t = t0 + 0.25 * i + rng.uniform(0, 0.1)
            for typ in ("connection-count", "link-count", "addr-count"):
                b.add("router_value", {"host": r, "instance": r, "type": typ},
                      {"value": rng.randint(1, 60)}, t)
            for typ in ("deliveries-ingress", "deliveries-egress"):  # router-level totals
                b.add("router_value", {"host": r, "instance": r, "type": typ},
                      {"value": rng.randint(10**6, 10**7)}, t)
            for link in ("endpoint.0", "endpoint.1", "inter-router.2"):
                for typ in ("undelivered-count", "unsettled-count"):
                    b.add("link_value", {"host": r, "instance": link, "type": typ},
                          {"value": rng.randint(0, 400)}, t)
                key = (r, link, "delivery-count")
                counters[key] = counters.get(key, 0) + rng.randint(0, 500)
                b.add("link_value", {"host": r, "instance": link, "type": "delivery-count"},
                      {"value": counters[key]}, t)
            for addr in ("openstack.ombt.topic-0", "$management", "ombt.control"):
                for typ in ("deliveries-ingress", "deliveries-egress", "deliveries-transit"):
                    key = (r, addr, typ)
                    counters[key] = counters.get(key, rng.randint(0, 10**5)) + rng.randint(0, 900)
                    b.add("address_value", {"host": r, "instance": addr, "type": typ},
                          {"value": counters[key]}, t)
                b.add("address_value", {"host": r, "instance": addr, "type": "subscriber-count"},
                      {"value": rng.randint(0, 6)}, t)
    # an address seen once only in the window: a counter of one sample counts nothing
    b.add("address_value", {"host": routers[0], "instance": "late", "type": "deliveries-ingress"},
          {"value": 10**6}, T0 + RUN_S - 1)


def rabbitmq_backup(seed: int) -> Backup:
    rng, b = random.Random(seed), Backup()
    telegraf(b, rng, [("rabbitmq-bus-0", "rabbitmq", "3-management")])
    rabbitmq(b, rng, "bus-0", "bus", 1)
    rabbitmq(b, rng, "ctl-bus-0", "control-bus", 100)
    return b


def qdr_backup(seed: int) -> Backup:
    rng, b = random.Random(seed), Backup()
    telegraf(b, rng, [("router0", "msimonin/qdrouterd", "1.0.0"),
                      # the image of the orchestrator's own conf.yaml (router + collectd)
                      ("router1", "msimonin/qdrouterd-collectd", "1.0.1"),
                      ("qdrouterd-gui", "msimonin/qdrouterd-gui", "1.0.0")])
    rabbitmq(b, rng, "ctl-bus-0", "control-bus", 100)  # the control bus only
    collectd_qdr(b, rng, ["router0", "router1"])
    return b


def http_post(url: str, path: str, params: dict[str, str], body: bytes = b"") -> None:
    """POST and read the whole answer (influxd stops a query whose client went away)."""
    req = urllib.request.Request(f"{url}{path}?{urllib.parse.urlencode(params)}", data=body,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        assert r.status in (200, 204), text
        assert b'"error"' not in text, text


def write_backup(folder: Path, dbs: dict[str, Iterable[Point]]) -> Path:
    """A real influxd writes ``dbs`` (name -> points; no points: an empty database);
    stopped, its folder is tarred as influxdb-data.tar.gz."""
    folder.mkdir(parents=True)
    with reference_server(folder) as url:
        for name, pts in dbs.items():
            http_post(url, "/query", {"q": f'CREATE DATABASE "{name}"'})
            lines = [p.line() for p in pts]
            for i in range(0, len(lines), 5000):
                http_post(url, "/write", {"db": name, "precision": "ns"},
                          "\n".join(lines[i:i + 5000]).encode())
    return make_tar_of(folder / "influxdb-data", folder / "influxdb-data.tar.gz")


# --------------------------------------------------------------------------- expectations


def expected(b: Backup, lo: float, hi: float) -> dict[str, float]:
    """Every column from the points written, in plain Python."""
    def inside(p: Point) -> bool:
        return lo <= p.t <= hi

    def top(values: list[float]) -> float:
        return float(max(values)) if values else math.nan

    out: dict[str, float] = {}
    for role, col in (("ombt-server", "min_usage_idle_ombt_server"), ("bus", "min_usage_idle_bus")):
        per_host: dict[str, list[float]] = {}
        for p in b.of("cpu", role=role, cpu="cpu-total"):
            if inside(p):
                per_host.setdefault(p.tags["host"], []).append(p.fields["usage_idle"])
        out[col] = min(statistics.fmean(v) for v in per_host.values()) if per_host else math.nan
    overview = [p for p in b.of("rabbitmq_overview", role="bus") if inside(p)]
    node = [p for p in b.of("rabbitmq_node", role="bus") if inside(p)]
    for f in ("messages_delivered", "queues", "connections", "consumers", "exchanges"):
        out[f] = top([p.fields[f] for p in overview])
    for f in ("mem_used", "fd_used", "sockets_used"):
        out[f] = top([p.fields[f] for p in node])
    # counters sampled every 30 s: read from a sample before the run to one after it
    # (the window widened by 30 s on each side), the rate over the run's window
    wide = [p for p in b.of("rabbitmq_overview", role="bus") if lo - 30 <= p.t <= hi + 30]
    spreads = counter_spreads(wide, "messages_delivered")
    out["messages_delivered_in_run"] = top(spreads)  # cluster-wide overview: the largest
    out["messages_delivered_rate"] = top(spreads) / (hi - lo)
    out["bus_container_cpu_max"] = top([p.fields["usage_percent"] for p in
                                        b.of("docker_container_cpu", role="bus")
                                        if p.bus_container and inside(p)])
    out["bus_container_mem_max"] = top([p.fields["usage"] for p in
                                        b.of("docker_container_mem", role="bus")
                                        if p.bus_container and inside(p)])
    out["bus_tcp_established_max"] = top([p.fields["tcp_established"]
                                          for p in b.of("netstat", role="bus") if inside(p)])
    for kind in ("ingress", "egress"):
        pts = [p for p in b.of("address_value", type=f"deliveries-{kind}")
               if lo - 30 <= p.t <= hi + 30]
        spreads = counter_spreads(pts, "value")
        out[f"qdr_deliveries_{kind}"] = sum(spreads) if spreads else math.nan
        out[f"qdr_deliveries_{kind}_rate"] = sum(spreads) / (hi - lo) if spreads else math.nan
    for col, meas, typ in (("qdr_undelivered_max", "link_value", "undelivered-count"),
                           ("qdr_unsettled_max", "link_value", "unsettled-count"),
                           ("qdr_connections_max", "router_value", "connection-count"),
                           ("qdr_links_max", "router_value", "link-count"),
                           ("qdr_addresses_max", "router_value", "addr-count")):
        out[col] = top([p.fields["value"] for p in b.of(meas, type=typ) if inside(p)])
    return out


def counter_spreads(points: list[Point], f: str) -> list[float]:
    """Per series (tag set) with two samples or more: last - first."""
    series: dict[tuple, list[Point]] = {}
    for p in points:
        series.setdefault(tuple(sorted(p.tags.items())), []).append(p)
    spreads = []
    for pts in series.values():
        pts.sort(key=lambda p: p.t)
        if len(pts) >= 2:
            spreads.append(pts[-1].fields[f] - pts[0].fields[f])
    return spreads


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Backup, Path]]:
    root = tmp_path_factory.mktemp("upstream")
    out = {}
    for name, b in (("rabbitmq", rabbitmq_backup(1)), ("qdr", qdr_backup(2))):
        out[name] = (b, write_backup(root / name, {DB: b.points, "telegraf": []}))
    return out


def cfg_for(tmp_path: Path, **kw: object) -> InfluxConfig:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return InfluxConfig.from_dict({"tmpdir": str(tmp_path / "tmp"), **kw})


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", ["rabbitmq", "qdr"])
def test_upstream_backup_every_column_from_the_raw_points(
        kind: str, backups: dict[str, tuple[Backup, Path]], tmp_path: Path) -> None:
    b, tar = backups[kind]
    margin = 7.0
    cfg = cfg_for(tmp_path, window_margin_s=margin, export_margin_s=margin)
    got = collect_run_metrics(f"run-{kind}", tar, (T0, T0 + RUN_S), cfg, None, LIMITS)
    assert list((tmp_path / "tmp").iterdir()) == [] and influxd_children() == []
    want = expected(b, T0 - margin, T0 + RUN_S + margin)
    assert list(got.values) == cfg.query_set.columns
    assert set(want) == set(got.values)
    for col, v in want.items():
        assert same(got.values[col], v), (kind, col, got.values[col], v)
    # the data's database, said once; the bus found from the measurements present
    assert got.database == DB
    assert ("database telegraf holds none of the queried measurements: used "
            "ombt-orchestrator, the one database holding them") in got.notes
    bus_notes = [n for n in got.notes if n.startswith("bus: ")]
    lacking = QDR_COLUMNS if kind == "rabbitmq" else RABBIT_COLUMNS
    present = RABBIT_COLUMNS if kind == "rabbitmq" else QDR_COLUMNS
    if kind == "rabbitmq":
        assert bus_notes == ["bus: rabbitmq (rabbitmq_overview, rabbitmq_node of role bus)"]
        absent = [n for n in got.notes if "absent from database" in n]
        assert absent == ["NaN (measurements address_value, link_value, router_value absent "
                          "from database ombt-orchestrator): " + ", ".join(QDR_COLUMNS)]
    else:
        # the control bus's rabbitmq (role control-bus) is not the run's bus
        assert bus_notes == ["bus: qdr (router_value, link_value, address_value)"]
        nodata = [n for n in got.notes if n.startswith("no data in the window")]
        assert len(nodata) == 1 and nodata[0].endswith(": NaN: " + ", ".join(RABBIT_COLUMNS))
    assert all(math.isnan(got.values[c]) for c in lacking)
    assert not any(math.isnan(got.values[c]) for c in [*present, *BUS_COLUMNS, *CPU_COLUMNS])
    # the time series come from the same database
    ts = got.timeseries
    assert set(ts["measurement"]) >= {"cpu", "docker_container_cpu", "netstat"}
    n_cpu = len([p for p in b.of("cpu") if T0 - margin <= p.t <= T0 + RUN_S + margin])
    assert (ts["measurement"] == "cpu").sum() >= n_cpu


def test_per_core_series_would_change_the_cpu_columns(
        backups: dict[str, tuple[Backup, Path]]) -> None:
    """The per-core values are far from the total's: the test above would catch a mix."""
    b, _ = backups["rabbitmq"]
    for role in ("bus", "ombt-server"):
        total = statistics.fmean(p.fields["usage_idle"] for p in b.of("cpu", role=role,
                                                                      cpu="cpu-total"))
        every = statistics.fmean(p.fields["usage_idle"] for p in b.of("cpu", role=role))
        assert abs(total - every) > 1


def test_every_metric_nan_says_why(backups: dict[str, tuple[Backup, Path]],
                                   tmp_path: Path) -> None:
    _, tar = backups["rabbitmq"]
    late = T0 + 10 * 86400.0
    got = collect_run_metrics("run-late", tar, (late, late + 30), cfg_for(tmp_path), None,
                              LIMITS)
    assert all(math.isnan(v) for v in got.values.values())
    why = [n for n in got.notes if n.startswith("every metric is NaN")]
    b, _ = backups["rabbitmq"]

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")

    assert why == [f"every metric is NaN: no point of the queried measurements in the window "
                   f"{iso(late)} .. {iso(late + 30)} (shorter than the sampling interval, or "
                   f"outside the data: database {DB} holds points from "
                   f"{iso(min(p.t for p in b.points))} to {iso(max(p.t for p in b.points))})"]
    # points in the window, but not what the queries select
    queries = {"queries": [{"column": "x", "template": 'SELECT max("nope") FROM "netstat" '
                            "WHERE time >= {start} AND time <= {stop}"}]}
    got = collect_run_metrics("run-nope", tar, (T0, T0 + RUN_S), cfg_for(tmp_path,
                              queries=queries), None, LIMITS)
    assert math.isnan(got.values["x"])
    assert [n for n in got.notes if n.startswith("every metric is NaN")] == [
        f"every metric is NaN: the window {iso(T0)} .. {iso(T0 + RUN_S)} has points of the "
        "queried measurements, but none that the queries select (fields, roles or tags "
        "absent, or fewer samples than a counter needs)"]


# --------------------------------------------------------------------------- database choice


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    # one server per case: InfluxDB 1.6 may keep a dropped database's measurements
    # in the index of a database re-created under its name
    with reference_server(tmp_path) as url:
        yield url


def set_databases(url: str, dbs: dict[str, bool]) -> None:
    """The databases ``dbs`` (name -> holds a queried measurement) on the server."""
    with urllib.request.urlopen(f"{url}/query?q=SHOW+DATABASES", timeout=30) as r:
        names = [v[0] for s in json.loads(r.read())["results"][0].get("series", [])
                 for v in s.get("values", [])]
    assert set(names) <= {"_internal"}
    for n, full in dbs.items():
        http_post(url, "/query", {"q": f'CREATE DATABASE "{n}"'})
        line = "cpu,host=h,role=bus,cpu=cpu-total usage_idle=50" if full \
            else "unrelated,host=h value=1"
        http_post(url, "/write", {"db": n}, line.encode())


@pytest.mark.parametrize(("dbs", "wanted", "chosen", "note"), [
    ({"telegraf": True, DB: False}, "telegraf", "telegraf", None),
    ({"telegraf": True, DB: True}, DB, DB, None),
    ({"telegraf": False, DB: True}, "telegraf", DB,
     "database telegraf holds none of the queried measurements: used ombt-orchestrator, "
     "the one database holding them"),
    ({"telegraf": True}, "nope", "telegraf",
     "database nope absent: used telegraf, the one database holding them"),
    ({"telegraf": False, DB: True, "other": True}, "telegraf", None, "ombt-orchestrator, other"),
    ({"telegraf": False, DB: False}, "telegraf", None, "no database holds any queried"),
    ({}, "telegraf", None, "no database holds any queried"),
])
def test_database_choice(server: str, dbs: dict[str, bool], wanted: str, chosen: str | None,
                         note: str | None) -> None:
    set_databases(server, dbs)
    qs = InfluxConfig.from_dict(None).query_set
    client = influx_client(server)
    notes: list[str] = []
    try:
        if chosen is None:
            with pytest.raises(RunDataError) as err:
                resolve_database("r1", Path("influxdb-data.tar.gz"), client, wanted,
                                 qs.measurements, notes)
            text = str(err.value)
            assert text.startswith("run r1 (influxdb-data.tar.gz): ")
            assert note is not None and note in text
            for n in dbs:
                assert n in text
            return
        db, present = resolve_database("r1", Path("influxdb-data.tar.gz"), client, wanted,
                                       qs.measurements, notes)
    finally:
        client.close()
    assert db == chosen and present == {"cpu"}
    assert notes == ([note] if note else [])


# --------------------------------------------------------------------------- the example, upstream


def test_the_example_rewritten_as_upstream_keeps_every_metric(tmp_path: Path) -> None:
    """A real run of the example moved into ``ombt-orchestrator`` (an empty ``telegraf``
    left beside it) with per-core cpu series of extreme values added at each cpu-total
    point: every metric equals the original's, the database is said once."""
    from influx_helpers import points, run_dirs, run_window, untar

    run_dir = run_dirs()[3]  # rpc-call 6x3: the longest run, every metric has data
    tar = run_dir / "influxdb-data.tar.gz"
    window = run_window(run_dir)
    cfg = cfg_for(tmp_path, window_margin_s=4.0, export_timeseries=False)
    original = collect_run_metrics("ex", tar, window, cfg, None, LIMITS)
    ref = untar(tar, tmp_path / "up")
    with reference_server(ref) as url:
        cpu = points(url, "telegraf", "SELECT usage_idle FROM cpu GROUP BY *")
        assert cpu and {p["cpu"] for p in cpu} == {"cpu-total"}
        http_post(url, "/query", {"q": f'CREATE DATABASE "{DB}"'})
        http_post(url, "/query", {"db": "telegraf", "q": f'SELECT * INTO "{DB}"..:MEASUREMENT '
                                  "FROM /.*/ GROUP BY *"})
        http_post(url, "/query", {"q": 'DROP DATABASE "telegraf"'})
        http_post(url, "/query", {"q": 'CREATE DATABASE "telegraf"'})
        cores = [Point("cpu", {**{k: p[k] for k in ("host", "role")}, "cpu": f"cpu{i}"},
                       {"usage_idle": [0.0, 100.0][i]}, p["time"] / 1e9) for p in cpu
                 for i in (0, 1)]
        http_post(url, "/write", {"db": DB, "precision": "ns"},
                  "\n".join(c.line() for c in cores).encode())
        moved = points(url, DB, "SELECT count(usage_idle) FROM cpu GROUP BY cpu")
        assert {p["cpu"]: p["count"] for p in moved} == {c: len(cpu) for c in
                                                         ("cpu-total", "cpu0", "cpu1")}
    upstream = make_tar_of(ref / "influxdb-data", tmp_path / "influxdb-data.tar.gz")
    got = collect_run_metrics("ex", upstream, window, cfg, None, LIMITS)
    assert got.database == DB
    assert not any(math.isnan(original.values[c]) for c in CPU_COLUMNS + RABBIT_COLUMNS)
    for col, v in original.values.items():
        assert same(got.values[col], v), (col, got.values[col], v)
    assert got.notes == [("database telegraf holds none of the queried measurements: used "
                          "ombt-orchestrator, the one database holding them"),
                         *(n.replace("database telegraf)", f"database {DB})")
                           for n in original.notes)]
