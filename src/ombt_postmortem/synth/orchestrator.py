"""Synthetic runs as ombt-orchestrator 1.1.x backs them up (``synth --layout orchestrator``).

Read from msimonin/ombt-orchestrator at 406c79b (paths under ``orchestrator/``):

- **params.json** (``campaign.py``: ``generate_id``, ``dump_parameters``): one line
  (``json.dump``), the sweep's keys in the conf's order then ``backup_dir``,
  made by ``generate_id`` (sorted ``key__value`` joined by ``-``, ``/`` -> ``_sl_``,
  ``:`` -> ``_sc_``); ``version`` a docker image; with a traffic setting
  ``delay`` (``"10ms"`` or null), ``loss`` (a percentage) and ``traffic``.
- **InfluxDB** (``ansible/roles/influxdb/tasks/deploy.yml`` creates an empty
  ``telegraf``; ``roles/telegraf/templates/telegraf.conf.j2`` and the collectd
  listener of ``roles/influxdb/files/influxdb.conf`` write to
  ``ombt-orchestrator``): the points go to database ``ombt-orchestrator``,
  ``telegraf`` stays empty.
- **Telegraf** (``telegraf.conf.j2``): ``interval = "10s"``, ``round_interval``
  (points on multiples of 10 s), global tag ``role`` (ombt-server, ombt-client,
  bus, control-bus, default, in that precedence) and ``host``; ``cpu`` with
  ``percpu`` and ``totalcpu`` (``cpu=cpu0``.. beside ``cpu=cpu-total``, the mean
  of the cores here), ``mem``, ``system``, ``net``; ``docker`` on every host;
  ``netstat`` every 30 s on bus and control-bus hosts; ``rabbitmq`` every 30 s on
  the bus when the driver's type is rabbitmq, and on the control bus always
  (``SynthSpec.control_bus_rabbitmq``).
- **Containers** (telegraf's docker input, influxdata/telegraf
  ``plugins/inputs/docker/README.md``: ``docker_container_cpu`` with
  ``usage_percent``, ``usage_total``... tagged ``container_name``,
  ``container_image``, ``cpu`` (``cpu-total``, and ``cpu0``.. carrying
  ``usage_total`` only), ``docker_container_mem`` with ``usage``, ``limit``...;
  the image is split into ``container_image`` and ``container_version``, "unknown"
  without a tag, beside ``engine_host`` and ``server_version``, and the field
  ``container_id`` a string, as in ``plugins/inputs/docker/testcases/memory_stats/
  expected.out``; newer Telegrafs add ``container_status``, not written here): the
  bus's broker (``roles/rabbitmq/tasks/start_single_rabbitmq.yml``: named by the
  bus agent id ``rabbitmq-bus-0``, image ``rabbitmq:3-management``; or
  ``roles/qdr/tasks/deploy.yml``: one ``routerN`` per router, image
  ``msimonin/qdrouterd-collectd:1.0.1``, beside ``qdrouterd-gui`` and
  ``websockify``), the control bus's ``rabbitmq-control-bus-0``, every ombt agent
  (named by its agent id, ``orchestrator/tasks.py`` ``generate_shard_conf``:
  ``rpc-client-0-topic-0-<iteration uuid>-0``; image = params ``version``),
  ``telegraf`` everywhere and ``influxdb`` on the default host. A bus container
  is told from an agent's by its image (rabbitmq / qdrouterd), and the data bus
  from the control bus by the host's ``role``.
- **qdr counters** (ajssmith/collectd-qdrouterd ``collectd_plugin.py``: plugin
  ``router``/``link``/``address``, plugin instance the router id / link name /
  address, type the ``uncamelcase``\\d statistic; ``roles/qdr/templates``:
  ``Interval 30``, ``Host`` = the router id; InfluxDB 1.x's collectd service
  stores measurement ``<plugin>_<data source>`` = ``router_value``..., tags
  ``host``, ``instance``, ``type``, field ``value`` as a float; only the types
  of ``roles/influxdb/files/types.db`` are kept): every 30 s per router, each
  router's collectd on its own phase. Delivery counters are cumulative and
  count the simulated messages: a request enters (``deliveries-ingress``) at
  its client's router when sent, leaves (``deliveries-egress``) at its server's
  router when handled, and counts as ``deliveries-transit`` at the server's
  router when that is another router; an rpc-call reply likewise from the
  server's router to the client's. Agent ``i`` attaches to router ``i % N``
  (``tasks.py``: ``bus_agents[idx % len(bus_agents)]``). The address names
  follow oslo.messaging's AMQP 1.0 routable addressing; the reply address per
  client is illustrative.
- **Run folder** beside the controller's files: the broker log tarballs
  ``<host>_oo-<agent id>-logs.tar.gz`` (``roles/rabbitmq/tasks/backup.yml``,
  ``roles/qdr/tasks/backup.yml``; also the control bus's) and one ``<host>.out``
  per host, enoslib's ``validate_network`` (BeyondTheClouds/enoslib 1.12-2.2
  ``enoslib/ansible/roles/utils/tasks/tc_validate.yml``: ``fping -C 10 -q -s -e -f
  /tmp/hosts 2>/tmp/result`` over every host's address, the stderr fetched as
  ``<inventory_hostname>.out``) in fping 3.x's format; no agent logs (agents get
  no ``--output``) unless ``agent_logs``.

Everything is drawn from ``default_rng([seed, run, 5, ...])``: the same seed
gives the same points and files; the default layout's draws are untouched.
"""

# ruff: noqa: UP031  (fping's printf formats)
from __future__ import annotations

import itertools
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .influx import RunSeries, _esc, _fields, _rabbitmq, deterministic_tar
from .model import CONTROLLER_HOST, TOPIC, Agent, RunSim, SynthSpec

DATABASE = "ombt-orchestrator"
EMPTY_DATABASE = "telegraf"
TELEGRAF_S = 10.0
SLOW_S = 30.0  # netstat, rabbitmq, collectd
N_CORES = 4
MEM_TOTAL = 8 * 1024**3
BUS_MEM_TOTAL = 16 * 1024**3
BUS_HOST = "enos-bus-0"
DEFAULT_HOST = "enos-control-0"
RABBIT_IMAGE = "rabbitmq:3-management"
QDR_IMAGE = "msimonin/qdrouterd-collectd:1.0.1"  # the orchestrator's conf.yaml example
DOCKER_VERSION = "17.12.1-ce"
#: the types of the orchestrator's types.db that the plugin dispatches (the others,
#: e.g. accepted-deliveries, are dropped by InfluxDB's collectd service)
ROUTER_TYPES = ("link-route-count", "auto-link-count", "link-count", "node-count",
                "addr-count", "connection-count", "deliveries-ingress", "deliveries-egress",
                "deliveries-transit")
LINK_TYPES = ("undelivered-count", "unsettled-count", "delivery-count", "presettled-count",
              "accepted-count", "rejected-count", "released-count", "modified-count")
ADDRESS_TYPES = ("in-process", "subscriber-count", "remote-count", "container-count",
                 "deliveries-ingress", "deliveries-egress", "deliveries-transit",
                 "deliveries-to-container", "deliveries-from-container")
#: enoslib's tc groups of the synthetic runs: the constraint applies between them
TC_GROUPS = ("bus", "ombt-server")
#: seconds of points before the run's agents are deployed: ``prepare`` deploys
#: telegraf, influxdb and the buses before the test case starts the agents
INFRA_LEAD_S = 120.0
#: seconds from the controller's end to influxd's stop: the orchestrator polls
#: ``docker ps`` every 10 s for the controller, then runs every role's backup
#: before stopping influxdb (so a 30 s collector has read once after the test)
BACKUP_TAIL_S = 40.0


# --------------------------------------------------------------------------- params.json


def generate_id(params: dict[str, Any]) -> str:
    """ombt-orchestrator's ``campaign.generate_id``."""
    def rep(s: Any) -> str:
        return str(s).replace("/", "_sl_").replace(":", "_sc_")
    return "-".join(f"{rep(k)}__{rep(v)}" for k, v in sorted(params.items()))


def plan_orchestrator_runs(spec: SynthSpec) -> list[dict[str, Any]]:
    """params.json entries of the orchestrator layout (keys in test_case_1's conf order)."""
    from .campaign import _num

    traffic = spec.delays is not None or spec.losses is not None
    delays: tuple[str | None, ...] = spec.delays if spec.delays is not None else (None,)
    losses: tuple[float, ...] = spec.losses if spec.losses is not None else (0,)
    combos = list(itertools.product(spec.driver_names, spec.call_types, spec.clients,
                                    spec.servers, delays, losses))
    n = spec.runs if spec.runs is not None else len(combos)
    repeated = n > len(combos)
    runs = []
    for i in range(n):
        driver, call_type, clients, servers, delay, loss = combos[i % len(combos)]
        p: dict[str, Any] = {
            "nbr_clients": int(clients), "nbr_servers": int(servers),
            "nbr_calls": int(spec.nbr_calls), "pause": _num(spec.pause),
            "call_type": call_type, "timeout": int(spec.timeout),
            "version": spec.ombt_version, "length": int(spec.length),
            "executor": spec.executor, "driver": driver,
        }
        if traffic:
            p["delay"] = delay
            p["loss"] = _num(loss)
            p["traffic"] = "tc-10"
        if repeated:
            p["iteration"] = i // len(combos)
        p["backup_dir"] = generate_id(p)
        runs.append(p)
    return runs


def params_json(params: list[dict[str, Any]]) -> str:
    """What ``dump_parameters`` leaves: ``json.dump`` of the list, one line, no newline."""
    return json.dumps(params)


# --------------------------------------------------------------------------- names


def agent_container(sim: RunSim, a: Agent) -> str:
    """The agent's id, which names its container and its log (``tasks.py``)."""
    from .campaign import agent_log_name

    return agent_log_name(sim, a)[len(a.host) + 1:-len(".log")]


def controller_container(sim: RunSim) -> str:
    return sim.controller_log_name[len(CONTROLLER_HOST) + 1:-len(".log")]


def split_image(image: str) -> tuple[str, str]:
    """telegraf's docker.ParseImage: ``repo:tag`` -> (repo, tag), no tag -> "unknown"."""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "unknown"


@dataclass
class Container:
    name: str
    image: str
    host: str
    start: float
    stop: float
    cpu: np.ndarray  # usage_percent per Telegraf tick (NaN: not running)
    mem: np.ndarray  # bytes per tick


@dataclass
class QdrTopology:
    routers: list[str]
    client_router: dict[int, int]  # client ordinal -> router index
    server_router: dict[int, int]


@dataclass
class OrchestratorRun:
    """The points of one run and what they were made from (for tests)."""

    series: RunSeries
    bus_type: str
    containers: list[Container] = field(default_factory=list)
    topology: QdrTopology | None = None


# --------------------------------------------------------------------------- points


def _ticks(start: float, stop: float, step: float, phase: float = 0.0) -> np.ndarray:
    first = math.ceil((start - phase) / step) * step + phase
    return np.arange(first, stop + 1e-9, step)


def _cum(events: np.ndarray, times: np.ndarray) -> np.ndarray:
    """How many events happened at or before each time."""
    return np.searchsorted(np.sort(events), times, side="right").astype(np.int64)


def _between(starts: np.ndarray, ends: np.ndarray, times: np.ndarray) -> np.ndarray:
    """How many intervals [start, end) hold each time."""
    return _cum(starts, times) - _cum(ends, times)


def orchestrator_series(sim: RunSim, spec: SynthSpec) -> OrchestratorRun:
    """Every point the orchestrator's collectors would have stored for this run."""
    rng = np.random.default_rng([spec.seed, sim.index, 5])
    bus = spec.bus(str(sim.params["driver"]))
    call_type = str(sim.params["call_type"])
    calls = call_type == "rpc-call"
    msg_bytes = int(sim.params.get("length", 1024)) + 600
    nc, ns = len(sim.clients), len(sim.servers)
    lines: list[str] = []

    def point(measurement: str, tags: dict[str, str], values: dict[str, Any], t: float) -> None:
        tag = ",".join(f"{k}={_esc(v)}" for k, v in sorted(tags.items()))
        fields = ",".join(f'{k}="{v}"' for k, v in values.items() if isinstance(v, str))
        num = _fields({k: v for k, v in values.items() if not isinstance(v, str)})
        lines.append(f"{measurement},{tag} {','.join(x for x in (num, fields) if x)} "
                     f"{int(round(t * 1000))}")

    first = sim.deploy_time - INFRA_LEAD_S  # telegraf and influxdb came first (prepare)
    last = backup_time(sim)
    times = _ticks(first, last, TELEGRAF_S)
    edges = np.concatenate(([times[0] - TELEGRAF_S], times))
    agents_up = (sim.deploy_time + 8.0, sim.test_end + 2.0)
    up = (times >= agents_up[0]) & (times <= agents_up[1])

    def per_bin(stamps: list[np.ndarray]) -> np.ndarray:
        stamps = [s for s in stamps if s is not None and len(s)]
        if not stamps:
            return np.zeros(len(times))
        return np.histogram(np.concatenate(stamps), bins=edges)[0].astype(float)

    hosts: dict[str, str] = {BUS_HOST: "bus", CONTROLLER_HOST: "control-bus",
                             DEFAULT_HOST: "default"}
    for a in sim.servers:
        hosts.setdefault(a.host, "ombt-server")
    for a in sim.clients:
        hosts.setdefault(a.host, "ombt-client")
    image = str(sim.params.get("version", spec.ombt_version))

    # ---- qdr topology and per-router traffic
    topo: QdrTopology | None = None
    if bus.type == "qdr":
        routers = [f"router{k}" for k in range(bus.routers)]
        topo = QdrTopology(routers, {c.ordinal: c.ordinal % bus.routers for c in sim.clients},
                           {s.ordinal: s.ordinal % bus.routers for s in sim.servers})

    # ---- containers and their CPU / memory per tick
    containers: list[Container] = []

    def add(name: str, img: str, host: str, start: float, stop: float, cpu: np.ndarray,
            mem: np.ndarray) -> None:
        running = (times >= start) & (times <= stop)
        containers.append(Container(name, img, host, start, stop,
                                    np.where(running, cpu, np.nan), np.where(running, mem, 0)))

    def noise(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, len(times))

    published = per_bin([c.sent for c in sim.clients])
    delivered = per_bin([s.stamp for s in sim.servers])
    replies = delivered if calls else np.zeros(len(times))
    bus_rate = (published + delivered + 2 * replies) / TELEGRAF_S
    pub_cum = np.cumsum(published + replies)
    del_cum = np.cumsum(delivered + replies)
    queued = np.maximum(0.0, pub_cum - del_cum)
    broker_start = sim.deploy_time + 2.0
    if bus.type == "rabbitmq":
        conns = np.where(up, 2 * (nc + ns), 0)
        add("rabbitmq-bus-0", RABBIT_IMAGE, BUS_HOST, broker_start, last,
            100.0 * bus_rate * 60e-6 + noise(0.5, 2.0),
            110e6 + 30_000 * conns + queued * (msg_bytes + 300) + rng.integers(0, 4e6, len(times)))
    else:
        assert topo is not None
        for k, r in enumerate(topo.routers):
            mine_c = [c for c in sim.clients if topo.client_router[c.ordinal] == k]
            mine_s = [s for s in sim.servers if topo.server_router[s.ordinal] == k]
            rate = (per_bin([c.sent for c in mine_c]) + per_bin([s.stamp for s in mine_s])
                    + (per_bin([s.stamp for s in mine_s]) + per_bin([c.stamp for c in mine_c])
                       if calls else 0.0)) / TELEGRAF_S
            links = np.where(up, 2 * (len(mine_c) + len(mine_s)), 0)
            add(r, QDR_IMAGE, BUS_HOST, broker_start, last,
                100.0 * rate * 35e-6 + noise(0.3, 1.2),
                18e6 + 200_000 * links + rng.integers(0, 2e6, len(times)))
        add("qdrouterd-gui", "msimonin/qdrouterd-gui:1.0.1", BUS_HOST, broker_start,
            last, noise(0.0, 0.2), 9e6 + rng.integers(0, 1e6, len(times)))
        add("websockify", "msimonin/websockify", BUS_HOST, broker_start, last,
            noise(0.0, 0.2), 12e6 + rng.integers(0, 1e6, len(times)))
    add("rabbitmq-control-bus-0", RABBIT_IMAGE, CONTROLLER_HOST, sim.deploy_time + 1.0,
        last, noise(0.5, 2.5), 95e6 + rng.integers(0, 4e6, len(times)))
    add(controller_container(sim), image, CONTROLLER_HOST, sim.test_start - 1.0,
        sim.test_end + 0.5, noise(0.5, 3.0), 70e6 + rng.integers(0, 2e6, len(times)))
    for c in sim.clients:
        rate = per_bin([c.sent]) * (2 if calls else 1) / TELEGRAF_S
        add(agent_container(sim, c), image, c.host, *agents_up,
            100.0 * rate * 150e-6 + noise(0.2, 0.8), 62e6 + rng.integers(0, 4e6, len(times)))
    for s in sim.servers:
        rate = per_bin([s.stamp]) / TELEGRAF_S
        add(agent_container(sim, s), image, s.host, *agents_up,
            100.0 * rate * 300e-6 + noise(0.2, 0.8), 62e6 + rng.integers(0, 4e6, len(times)))
    add("influxdb", "influxdb", DEFAULT_HOST, first - 1.0, last + 60.0,
        noise(1.0, 4.0), 180e6 + rng.integers(0, 20e6, len(times)))
    for host in hosts:
        add("telegraf", "telegraf", host, first - 1.0, last + 60.0,
            noise(0.2, 1.0), 28e6 + rng.integers(0, 2e6, len(times)))

    # ---- per host: cpu (per core and total), mem, system, net, docker
    by_host = {h: [c for c in containers if c.host == h] for h in hosts}
    boot = sim.deploy_time - 3 * 86400
    weights = {h: rng.uniform(0.6, 1.4, N_CORES) for h in hosts}
    for h in weights:
        weights[h] *= N_CORES / weights[h].sum()
    loads = {h: [0.05, 0.05, 0.05] for h in hosts}
    counters = {h: [0.0, 0.0] for h in hosts}
    sent_b = {h: per_bin([c.sent for c in sim.clients if c.host == h]) for h in hosts}
    recv_b = {h: per_bin([s.stamp for s in sim.servers if s.host == h]) for h in hosts}
    cpu_cum = {c.name + "@" + c.host: 0.0 for c in containers}
    mem_max = {c.name + "@" + c.host: 0.0 for c in containers}
    sys_cum = {h: 0.0 for h in hosts}
    for i, t in enumerate(times):
        for host, role in hosts.items():
            tags = {"host": host, "role": role}
            running = [c for c in by_host[host] if not np.isnan(c.cpu[i])]
            busy = min(97.0, sum(float(c.cpu[i]) for c in running) / N_CORES
                       + float(rng.uniform(0.1, 0.8)))
            cores = []
            for k in range(N_CORES):
                b = min(99.0, busy * float(weights[host][k]))
                core = {"usage_guest": 0.0, "usage_guest_nice": 0.0, "usage_idle": 100.0 - b,
                        "usage_iowait": 0.02 * b, "usage_irq": 0.0, "usage_nice": 0.0,
                        "usage_softirq": 0.04 * b, "usage_steal": 0.01 * b,
                        "usage_system": 0.28 * b, "usage_user": 0.65 * b}
                cores.append(core)
                point("cpu", {**tags, "cpu": f"cpu{k}"}, core, t)
            point("cpu", {**tags, "cpu": "cpu-total"},
                  {f: sum(c[f] for c in cores) / N_CORES for f in cores[0]}, t)
            total = BUS_MEM_TOTAL if role == "bus" else MEM_TOTAL
            used = 420 * 1024**2 + int(sum(c.mem[i] for c in running))
            cached, buffered = 1200 * 1024**2, 180 * 1024**2
            point("mem", tags, {
                "active": used + cached // 3, "available": total - used,
                "available_percent": 100.0 * (total - used) / total, "buffered": buffered,
                "cached": cached, "free": total - used - cached - buffered,
                "inactive": cached // 2, "total": total, "used": used,
                "used_percent": 100.0 * used / total}, t)
            instant = N_CORES * busy / 100.0
            for k, tau in enumerate((60.0, 300.0, 900.0)):
                w = math.exp(-TELEGRAF_S / tau)
                loads[host][k] = loads[host][k] * w + instant * (1 - w)
            point("system", tags, {
                "load1": round(loads[host][0], 2), "load15": round(loads[host][2], 2),
                "load5": round(loads[host][1], 2), "n_cpus": N_CORES, "n_users": 0,
                "uptime": int(t - boot)}, t)
            if role == "bus":
                rb = (published[i] + replies[i]) * msg_bytes
                sb = (delivered[i] + replies[i]) * msg_bytes
            else:
                rb = (recv_b[host][i] + (sent_b[host][i] if calls else 0)) * msg_bytes
                sb = (sent_b[host][i] + (recv_b[host][i] if calls else 0)) * msg_bytes
            counters[host][0] += rb + 1800.0 * TELEGRAF_S
            counters[host][1] += sb + 1800.0 * TELEGRAF_S
            r_, s_ = int(counters[host][0]), int(counters[host][1])
            point("net", {**tags, "interface": "eth0"}, {
                "bytes_recv": r_, "bytes_sent": s_, "drop_in": 0, "drop_out": 0, "err_in": 0,
                "err_out": 0, "packets_recv": r_ // 900 + 1, "packets_sent": s_ // 900 + 1}, t)
            sys_cum[host] += TELEGRAF_S * N_CORES * 1e9
            point("docker", {**tags, "engine_host": host, "server_version": DOCKER_VERSION}, {
                "n_containers": len(running), "n_containers_running": len(running),
                "n_containers_stopped": 0, "n_containers_paused": 0, "n_cpus": N_CORES,
                "n_images": 6, "memory_total": total}, t)
            for c in running:
                key = c.name + "@" + c.host
                cpu = float(c.cpu[i])
                cpu_cum[key] += cpu / 100.0 * TELEGRAF_S * 1e9
                usage = int(c.mem[i])
                mem_max[key] = max(mem_max[key], usage)
                repo, version = split_image(c.image)
                ctags = {**tags, "container_name": c.name, "container_image": repo,
                         "container_version": version, "engine_host": host,
                         "server_version": DOCKER_VERSION}
                cid = _cid(key, sim.run_uuid)
                total_ns = int(cpu_cum[key])
                point("docker_container_cpu", {**ctags, "cpu": "cpu-total"}, {
                    "usage_percent": cpu, "usage_total": total_ns,
                    "usage_in_usermode": int(total_ns * 0.7),
                    "usage_in_kernelmode": int(total_ns * 0.3),
                    "usage_system": int(sys_cum[host]), "throttling_periods": 0,
                    "throttling_throttled_periods": 0, "throttling_throttled_time": 0,
                    "container_id": cid}, t)
                for k in range(N_CORES):
                    point("docker_container_cpu", {**ctags, "cpu": f"cpu{k}"}, {
                        "usage_total": int(total_ns * float(weights[host][k]) / N_CORES),
                        "container_id": cid}, t)
                point("docker_container_mem", ctags, {
                    "usage": usage, "limit": total, "max_usage": int(mem_max[key]),
                    "rss": int(usage * 0.8), "cache": int(usage * 0.15),
                    "usage_percent": 100.0 * usage / total, "container_id": cid}, t)

    # ---- netstat (30 s) on the bus and control-bus hosts
    slow = _ticks(first, last, SLOW_S)
    slow_up = (slow >= agents_up[0]) & (slow <= agents_up[1])
    for host, role in hosts.items():
        if role not in ("bus", "control-bus"):
            continue
        for j, t in enumerate(slow):
            if role == "bus":
                if bus.type == "rabbitmq":
                    est = (2 * (nc + ns) if slow_up[j] else 0) + 1
                else:
                    est = ((nc + ns) if slow_up[j] else 0) + bus.routers * (bus.routers - 1) + 1
            else:
                est = ((nc + ns + 1) + 2 if slow_up[j] else 0) + 1
            point("netstat", {"host": host, "role": role}, {
                "tcp_close": 0, "tcp_close_wait": 0, "tcp_closing": 0, "tcp_established": est,
                "tcp_fin_wait1": 0, "tcp_fin_wait2": 0, "tcp_last_ack": 0,
                "tcp_listen": 12 if role == "bus" else 9, "tcp_none": 3,
                "tcp_syn_recv": 0, "tcp_syn_sent": 0,
                "tcp_time_wait": int(rng.integers(0, 6)), "udp_socket": 4}, t)

    # ---- rabbitmq (30 s): the bus's broker, the control bus
    def slow_point(measurement: str, tags: dict[str, str], values: dict[str, Any],
                   j: int) -> None:
        point(measurement, tags, values, float(slow[j]))

    slow_edges = np.concatenate(([slow[0] - SLOW_S], slow))

    def slow_bin(stamps: list[np.ndarray]) -> np.ndarray:
        stamps = [s for s in stamps if s is not None and len(s)]
        if not stamps:
            return np.zeros(len(slow))
        return np.histogram(np.concatenate(stamps), bins=slow_edges)[0].astype(float)

    if bus.type == "rabbitmq":
        s_pub = slow_bin([c.sent for c in sim.clients])
        s_del = slow_bin([s.stamp for s in sim.servers])
        _rabbitmq(sim, slow, SLOW_S, slow_up, s_pub, s_del, s_del if calls else np.zeros(len(slow)),
                  msg_bytes, slow_point, url="http://localhost:15672",
                  node=f"rabbitmq-bus-0@{BUS_HOST}")
    if spec.control_bus_rabbitmq:
        _control_bus_rabbitmq(sim, slow, slow_up, point)

    # ---- collectd's qdr counters (30 s per router, own phase)
    if topo is not None:
        _qdr_points(sim, spec, topo, call_type, rng, point, agents_up)

    series = RunSeries(lines=lines, mtime=int(last), database=DATABASE,
                       empty_databases=(EMPTY_DATABASE,))
    return OrchestratorRun(series=series, bus_type=bus.type, containers=containers,
                           topology=topo)


def backup_time(sim: RunSim) -> float:
    """When influxd was stopped for the backup: the last points are before it."""
    return sim.end_time + BACKUP_TAIL_S


def _cid(key: str, run_uuid: str) -> str:
    import hashlib

    return hashlib.sha256(f"{run_uuid}/{key}".encode()).hexdigest()


def _control_bus_rabbitmq(sim: RunSim, slow: np.ndarray, slow_up: np.ndarray,
                          point: Callable[..., None]) -> None:
    """The control bus's broker (controller <-> agents): small, steady numbers."""
    nc, ns = len(sim.clients), len(sim.servers)
    tags = {"host": CONTROLLER_HOST, "role": "control-bus", "url": "http://localhost:15672"}
    node_tags = {**tags, "node": f"rabbitmq-control-bus-0@{CONTROLLER_HOST}"}
    start = sim.deploy_time + 1.0
    span = max(sim.test_end - sim.test_start, 1e-9)
    for j, t in enumerate(slow):
        if t < start:
            continue
        conns = nc + ns + 1 if slow_up[j] else 0
        frac = min(1.0, max(0.0, (t - sim.test_start) / span))
        msgs = int((nc + ns) * (t >= sim.deploy_time + 8.0) + 2 * nc * (t >= sim.test_end)
                   + 2 * ns * len(sim.polls) * frac)
        point("rabbitmq_overview", tags, {
            "channels": conns, "connections": conns, "consumers": conns,
            "exchanges": 9 if conns else 7, "messages": 0, "messages_acked": msgs,
            "messages_delivered": msgs, "messages_published": msgs, "messages_ready": 0,
            "messages_unacked": 0, "queues": 2 * conns}, float(t))
        point("rabbitmq_node", node_tags, {
            "disk_free": 84_000_000_000, "fd_used": 36 + conns,
            "mem_used": 90_000_000 + 40_000 * conns,
            "proc_used": 400 + 15 * conns, "running": 1, "sockets_used": conns,
            "uptime": int((t - start) * 1000)}, float(t))


# --------------------------------------------------------------------------- qdr / collectd


def request_address(call_type: str) -> str:
    """oslo.messaging's AMQP 1.0 routable address of the test's topic (exchange ombt)."""
    if call_type == "rpc-fanout":
        return f"openstack.org/om/rpc/multicast/ombt/{TOPIC}"
    if call_type == "notify":
        return f"openstack.org/om/notify/anycast/ombt/{TOPIC}.debug"
    return f"openstack.org/om/rpc/anycast/ombt/{TOPIC}"


def reply_address(sim: RunSim, client: Agent) -> str:
    return f"openstack.org/om/rpc/response/{agent_container(sim, client)}"


@dataclass
class QdrEvents:
    """Per router index: delivery times at each address (ingress, egress, transit)."""

    ingress: dict[tuple[int, str], list[np.ndarray]] = field(default_factory=dict)
    egress: dict[tuple[int, str], list[np.ndarray]] = field(default_factory=dict)
    transit: dict[tuple[int, str], list[np.ndarray]] = field(default_factory=dict)
    #: per (from router, to router): deliveries over the inter-router link
    inter: dict[tuple[int, int], list[np.ndarray]] = field(default_factory=dict)

    def add(self, kind: dict[Any, list[np.ndarray]], key: Any, t: np.ndarray) -> None:
        if len(t):
            kind.setdefault(key, []).append(np.asarray(t, dtype=float))


def qdr_events(sim: RunSim, topo: QdrTopology) -> QdrEvents:
    """Where and when every simulated delivery entered, left and crossed the routers.

    A request enters at its client's router when sent (failed ones too), leaves
    at its server's router when handled, and is in transit at the server's router
    when it came from another router; an rpc-call's reply enters at the server's
    router when handled and leaves at the client's router when the client got it
    (the client's ``done`` stamp), in transit there when from another router.
    """
    call_type = str(sim.params["call_type"])
    req = request_address(call_type)
    ev = QdrEvents()
    by_ordinal = {c.ordinal: c for c in sim.clients}
    for c in sim.clients:
        assert c.sent is not None
        ev.add(ev.ingress, (topo.client_router[c.ordinal], req), c.sent)
    for s in sim.servers:
        assert s.stamp is not None and s.src is not None and s.seq is not None
        rs = topo.server_router[s.ordinal]
        ev.add(ev.egress, (rs, req), s.stamp)
        rc = np.array([topo.client_router[int(o)] for o in s.src.tolist()], dtype=np.int64)
        for k in sorted(set(rc.tolist()) - {rs}):
            ev.add(ev.transit, (rs, req), s.stamp[rc == k])
            ev.add(ev.inter, (k, rs), s.stamp[rc == k])
        if call_type != "rpc-call":
            continue
        for o in sorted(set(s.src.tolist())):
            cl = by_ordinal[int(o)]
            assert cl.stamp is not None
            mine = s.src == o
            addr = reply_address(sim, cl)
            back = cl.stamp[s.seq[mine]]  # when the client got each reply
            rc_ = topo.client_router[int(o)]
            ev.add(ev.ingress, (rs, addr), s.stamp[mine])
            ev.add(ev.egress, (rc_, addr), back)
            if rc_ != rs:
                ev.add(ev.inter, (rs, rc_), s.stamp[mine])
                ev.add(ev.transit, (rc_, addr), back)
    return ev


def _qdr_points(sim: RunSim, spec: SynthSpec, topo: QdrTopology, call_type: str,
                rng: np.random.Generator, point: Callable[..., None],
                agents_up: tuple[float, float]) -> None:
    ev = qdr_events(sim, topo)
    n_routers = len(topo.routers)
    req = request_address(call_type)
    addresses = [req] + ([reply_address(sim, c) for c in sorted(sim.clients,
                                                                key=lambda c: c.ordinal)]
                         if call_type == "rpc-call" else [])
    calls = call_type == "rpc-call"

    def cum(d: dict[Any, list[np.ndarray]], key: Any, t: np.ndarray) -> np.ndarray:
        arrs = d.get(key)
        if not arrs:
            return np.zeros(len(t), dtype=np.int64)
        return _cum(np.concatenate(arrs), t)

    # settle time of each client message: when a server handled it (failed: at timeout)
    settle: dict[int, np.ndarray] = {}
    for c in sim.clients:
        assert c.sent is not None and c.stamp is not None and c.failed is not None
        st = np.where(c.failed, c.stamp, np.inf)
        settle[c.ordinal] = st
    for s in sim.servers:
        assert s.src is not None and s.seq is not None and s.stamp is not None
        for o, q, h in zip(s.src.tolist(), s.seq.tolist(), s.stamp.tolist(), strict=True):
            settle[o][q] = min(settle[o][q], h)
    for c in sim.clients:  # never handled (should not happen): settled when done
        st = settle[c.ordinal]
        st[np.isinf(st)] = c.stamp[np.isinf(st)]  # type: ignore[index]

    for k, router in enumerate(topo.routers):
        phase = round(float(rng.uniform(0.0, SLOW_S)), 3)
        t = _ticks(sim.deploy_time + 3.0, backup_time(sim), SLOW_S, phase)
        t = np.round(t, 3)
        up = (t >= agents_up[0]) & (t <= agents_up[1])
        mine_c = sorted((c for c in sim.clients if topo.client_router[c.ordinal] == k),
                        key=lambda c: c.ordinal)
        mine_s = sorted((s for s in sim.servers if topo.server_router[s.ordinal] == k),
                        key=lambda s: s.ordinal)
        conns = np.where(up, len(mine_c) + len(mine_s), 0) + (n_routers - 1) + 1
        agent_links = len(mine_c) * (2 if calls else 1) + len(mine_s) * (2 if calls else 1)
        links = np.where(up, agent_links, 0) + 2 * (n_routers - 1) + 2
        addr_count = len(addresses) + 6
        ing = sum((cum(ev.ingress, (k, a), t) for a in addresses), np.zeros(len(t), np.int64))
        egr = sum((cum(ev.egress, (k, a), t) for a in addresses), np.zeros(len(t), np.int64))
        tra = sum((cum(ev.transit, (k, a), t) for a in addresses), np.zeros(len(t), np.int64))
        router_values = {
            "link-route-count": np.zeros(len(t)), "auto-link-count": np.zeros(len(t)),
            "link-count": links, "node-count": np.full(len(t), n_routers - 1),
            "addr-count": np.full(len(t), addr_count), "connection-count": conns,
            "deliveries-ingress": ing, "deliveries-egress": egr, "deliveries-transit": tra}

        def collectd(plugin: str, instance: str, type_: str, values: np.ndarray,
                     t: np.ndarray = t, router: str = router) -> None:
            for j, tj in enumerate(t):
                point(f"{plugin}_value", {"host": router, "instance": instance, "type": type_},
                      {"value": float(values[j])}, float(tj))

        for type_ in ROUTER_TYPES:
            collectd("router", router, type_, router_values[type_])
        # links: agents' links attached to this router, inter-router links out of it
        zeros = np.zeros(len(t))
        for c in mine_c:
            name = agent_container(sim, c)
            sent = _cum(c.sent, t)  # type: ignore[arg-type]
            st = settle[c.ordinal]
            unsettled = _between(c.sent, st, t) * up  # type: ignore[arg-type]
            failed_at = c.stamp[c.failed]  # type: ignore[index]
            released = _cum(failed_at, t)
            link = {"undelivered-count": zeros, "unsettled-count": unsettled,
                    "delivery-count": sent, "presettled-count": zeros,
                    "accepted-count": sent - released - unsettled, "rejected-count": zeros,
                    "released-count": released, "modified-count": zeros}
            for type_ in LINK_TYPES:
                collectd("link", f"{name}-sender", type_, link[type_])
            if calls:
                got = _cum(c.stamp[~c.failed], t)  # type: ignore[index]
                rlink = {**{x: zeros for x in LINK_TYPES}, "delivery-count": got,
                         "accepted-count": got}
                for type_ in LINK_TYPES:
                    collectd("link", f"{name}-reply-receiver", type_, rlink[type_])
        for s in mine_s:
            name = agent_container(sim, s)
            handled = _cum(s.stamp, t)  # type: ignore[arg-type]
            waiting = _between(s.sent, s.stamp, t) * up  # type: ignore[arg-type]
            link = {**{x: zeros for x in LINK_TYPES}, "undelivered-count": waiting,
                    "delivery-count": handled, "accepted-count": handled}
            for type_ in LINK_TYPES:
                collectd("link", f"{name}-receiver", type_, link[type_])
            if calls:
                rlink = {**{x: zeros for x in LINK_TYPES}, "delivery-count": handled,
                         "accepted-count": handled}
                for type_ in LINK_TYPES:
                    collectd("link", f"{name}-reply-sender", type_, rlink[type_])
        for m in range(n_routers):
            if m == k:
                continue
            crossed = cum(ev.inter, (k, m), t)
            link = {**{x: zeros for x in LINK_TYPES}, "delivery-count": crossed,
                    "accepted-count": crossed}
            for type_ in LINK_TYPES:
                collectd("link", f"inter-router-{router}-{topo.routers[m]}", type_, link[type_])
        # addresses: every address is known to every router
        for a in addresses:
            if a == req:
                subs = np.where(up, len(mine_s), 0)
                remote = np.where(up, sum(1 for m in range(n_routers) if m != k and any(
                    topo.server_router[s.ordinal] == m for s in sim.servers)), 0)
            else:
                owner = next(c for c in sim.clients if reply_address(sim, c) == a)
                local = topo.client_router[owner.ordinal] == k
                subs = np.where(up, 1 if local else 0, 0)
                remote = np.where(up, 0 if local else 1, 0)
            values = {"in-process": zeros, "subscriber-count": subs, "remote-count": remote,
                      "container-count": zeros, "deliveries-ingress": cum(ev.ingress, (k, a), t),
                      "deliveries-egress": cum(ev.egress, (k, a), t),
                      "deliveries-transit": cum(ev.transit, (k, a), t),
                      "deliveries-to-container": zeros, "deliveries-from-container": zeros}
            for type_ in ADDRESS_TYPES:
                collectd("address", a, type_, values[type_])


# --------------------------------------------------------------------------- run folder files


def _sprint_tm(t: int) -> str:
    """fping 3.x ``sprint_tm``: t in tens of microseconds."""
    if t < 0:
        return "%.2g" % (t / 100)
    if t < 100:
        return "0.%02d" % t
    if t < 1000:
        return "%d.%02d" % (t // 100, t % 100)
    if t < 10000:
        return "%d.%d" % (t // 100, (t % 100) // 10)
    if t < 100000000:
        return "%d" % (t // 100)
    return "%.2e" % float(t // 100)


def host_ips(sim: RunSim) -> dict[str, str]:
    """Every host of the run and its address (the inventory's order)."""
    hosts = [DEFAULT_HOST, CONTROLLER_HOST, BUS_HOST]
    for a in [*sim.servers, *sim.clients]:
        if a.host not in hosts:
            hosts.append(a.host)
    return {h: f"10.158.0.{i + 2}" for i, h in enumerate(hosts)}


def _groups(sim: RunSim) -> dict[str, str]:
    """host -> its tc group (bus / ombt-server) or "" when unconstrained."""
    out = dict.fromkeys(host_ips(sim), "")
    out[BUS_HOST] = "bus"
    for s in sim.servers:
        out[s.host] = "ombt-server"
    return out


def parse_delay_ms(delay: Any) -> float:
    if delay is None:
        return 0.0
    text = str(delay).strip()
    for unit, scale in (("ms", 1.0), ("us", 1e-3), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


@dataclass
class FpingRun:
    """One host's fping: per target address, 10 round trips (ms) or None when lost."""

    host: str
    rtts: dict[str, list[float | None]]
    elapsed_s: float


def fping_results(sim: RunSim, spec: SynthSpec) -> list[FpingRun]:
    """What each host's ``fping -C 10`` measured: a base round trip, plus twice the
    ``delay`` between hosts of two different tc groups (enoslib applies it on the
    egress of each constrained host towards the other groups), each way lost with
    probability ``loss`` % there."""
    rng = np.random.default_rng([spec.seed, sim.index, 6])
    ips = host_ips(sim)
    groups = _groups(sim)
    delay = parse_delay_ms(sim.params.get("delay"))
    loss = float(sim.params.get("loss") or 0.0) / 100.0
    out = []
    for src in ips:
        rtts: dict[str, list[float | None]] = {}
        for dst, ip in ips.items():
            constrained = (groups[src] and groups[dst] and groups[src] != groups[dst])
            base = 0.02 if dst == src else 0.12
            vals: list[float | None] = []
            for _ in range(10):
                rtt = base + float(rng.lognormal(math.log(0.08 if dst != src else 0.01), 0.3))
                lost = False
                if constrained:
                    rtt += 2 * delay
                    lost = bool((rng.random(2) < loss).any()) if loss else False
                vals.append(None if lost else rtt)
            rtts[ip] = vals
        out.append(FpingRun(src, rtts, 9.0 + float(rng.uniform(0.0, 0.2))))
    return out


def fping_text(run: FpingRun) -> str:
    """fping 3.x's stderr for ``-C 10 -q -s``: per target its round trips, then -s's stats."""
    width = max(len(ip) for ip in run.rtts)
    lines = []
    sent = recv = 0
    replies: list[int] = []
    alive = 0
    for ip, vals in run.rtts.items():
        ticks = [None if v is None else int(v * 100) for v in vals]  # tens of us, truncated
        cells = " ".join("-" if t is None else "%d.%02d" % (t // 100, t % 100) for t in ticks)
        lines.append("%s%s : %s" % (ip, " " * (width - len(ip)), cells))
        sent += len(ticks)
        got = [t for t in ticks if t is not None]
        recv += len(got)
        replies += got
        alive += bool(got)
    n = len(run.rtts)
    mn, mx = (min(replies), max(replies)) if replies else (0, 0)
    avg = int(sum(replies) / len(replies)) if replies else 0
    lines += ["", " %7d targets" % n, " %7d alive" % alive, " %7d unreachable" % (n - alive),
              " %7d unknown addresses" % 0, "", " %7d timeouts (waiting for response)"
              % (sent - recv), " %7d ICMP Echos sent" % sent,
              " %7d ICMP Echo Replies received" % recv, " %7d other ICMP received" % 0, "",
              " %s ms (min round trip time)" % _sprint_tm(mn),
              " %s ms (avg round trip time)" % _sprint_tm(avg),
              " %s ms (max round trip time)" % _sprint_tm(mx),
              " %12.3f sec (elapsed real time)" % run.elapsed_s, ""]
    return "\n".join(lines) + "\n"


def broker_logs(sim: RunSim, spec: SynthSpec) -> dict[str, tuple[str, str]]:
    """Tarball name -> (member path, log text) of the brokers' log volumes."""
    bus = spec.bus(str(sim.params["driver"]))
    stamp = _iso(sim.deploy_time + 2.0)
    out: dict[str, tuple[str, str]] = {}

    def rabbit(agent_id: str, host: str) -> None:
        node = f"{agent_id}@{host}"
        text = "".join(f"{_iso(sim.deploy_time + 2.0 + k * 0.05)} [info] <0.{200 + k}.0> {m}\n"
                       for k, m in enumerate((
                           "Starting RabbitMQ 3.7.5 on Erlang 20.3.8",
                           f"node           : {node}",
                           "Server startup complete; 3 plugins started.",
                           f"accepting AMQP connection <0.612.0> ({host}:40112 -> {host}:5672)")))
        out[f"{host}_oo-{agent_id}-logs.tar.gz"] = (f"oo-{agent_id}-logs/_data/rabbitmq.log",
                                                    text)

    rabbit("rabbitmq-control-bus-0", CONTROLLER_HOST)
    if bus.type == "rabbitmq":
        rabbit("rabbitmq-bus-0", BUS_HOST)
    else:
        for k in range(bus.routers):
            r = f"router{k}"
            text = (f"{stamp} SERVER (info) Container Name: {r}\n"
                    f"{stamp} ROUTER (info) Router started in Interior mode, area=0 id={r}\n"
                    f"{stamp} SERVER (info) Operational, 4 Threads Running\n")
            # roles/qdr/tasks/backup.yml copies the volume oo-qdr-<id>-logs to oo-<id>-logs
            out[f"{BUS_HOST}_oo-{r}-logs.tar.gz"] = (f"oo-{r}-logs/_data/qdrouterd.log", text)
    return out


def _iso(t: float) -> str:
    import datetime as dt

    d = dt.datetime.fromtimestamp(t, tz=dt.UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}"


def write_orchestrator_files(folder: Path, sim: RunSim, spec: SynthSpec) -> list[Path]:
    """The run folder's files besides the controller's: broker log tarballs, fping outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (member, text) in broker_logs(sim, spec).items():
        with tempfile.TemporaryDirectory(prefix="ombt-synth-logs-") as tmp:
            root = Path(tmp) / "root"
            f = root / member
            f.parent.mkdir(parents=True)
            f.write_text(text, encoding="utf-8")
            top = member.split("/")[0]
            deterministic_tar(root / top, folder / name, mtime=int(backup_time(sim)), arcname=top,
                              compresslevel=6)
        written.append(folder / name)
    for run in fping_results(sim, spec):
        p = folder / f"{run.host}.out"
        p.write_text(fping_text(run), encoding="utf-8")
        written.append(p)
    return written
