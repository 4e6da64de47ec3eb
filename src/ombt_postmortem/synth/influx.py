"""The ``influxdb-data.tar.gz`` of a synthetic run, made by a real ``influxd``.

:func:`run_series` turns a simulated run into Telegraf points (line protocol):
``cpu`` (tag ``cpu=cpu-total``), ``mem``, ``system``, ``net`` for every host,
and with the RabbitMQ driver ``rabbitmq_overview``, ``rabbitmq_node`` and
``rabbitmq_queue``, every measurement tagged with ``host`` and ``role`` (bus,
control-bus, default, ombt-client, ombt-server) as in the real fixture. One
point per host every ``telegraf_interval_s`` from the run's deployment to its
backup; during the test the CPU, network and RabbitMQ counters follow the
messages the simulation sent and handled in each interval.

:func:`write_influx_tar` starts a private ``influxd`` on an empty folder
(:func:`ombt_postmortem.influx.backends.native.native_server`: free ports of 127.0.0.1,
parent-death signal), creates database ``telegraf`` (retention policy
``autogen``), writes the points through ``/write``, stops the server (the
points stay in the WAL, as in real short runs) and tars
``influxdb-data/{meta,data,wal}`` with deterministic headers (sorted members,
fixed mtime, root owner, gzip mtime 0). What influxd writes inside differs
from one generation to the next (ids, WAL framing), so the tar bytes are not
reproducible; the points are.

A fresh server per run costs ~0.1 s to start and ~0.05 s to stop on this
kind of machine, small next to the rest, and keeps each backup holding its
own run only; :class:`InfluxWriter` runs several of them in parallel threads.
"""

from __future__ import annotations

import gzip
import math
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..influx.backends.native import native_server
from ..influx.backends.server import Limits
from .model import RunSim, SynthSpec

DATABASE = "telegraf"
CREATE_DB = (f"CREATE DATABASE {DATABASE} WITH DURATION INF REPLICATION 1 "
             "SHARD DURATION 168h NAME autogen")
N_CPUS = 2
MEM_TOTAL = 8 * 1024**3
BUS_MEM_TOTAL = 16 * 1024**3
LINES_PER_WRITE = 5000


@dataclass
class RunSeries:
    """A run's Telegraf points, ready to be written."""

    lines: list[str]  # line protocol, millisecond timestamps
    mtime: int  # for the tar headers: the run's backup time
    database: str = DATABASE  # where the lines go
    #: databases created and left empty (the orchestrator's ``telegraf``)
    empty_databases: tuple[str, ...] = ()


def _esc(tag: str) -> str:
    return tag.replace("\\", "\\\\").replace(",", r"\,").replace(" ", r"\ ").replace("=", r"\=")


def _fields(values: dict[str, int | float]) -> str:
    return ",".join(f"{k}={v}i" if isinstance(v, int | np.integer) else f"{k}={float(v)!r}"
                    for k, v in values.items())


def run_series(sim: RunSim, spec: SynthSpec) -> RunSeries:
    """Telegraf points of one run, from its deployment to its backup."""
    step = float(spec.telegraf_interval_s)
    first = math.ceil(sim.deploy_time / step) * step
    times = np.arange(first, sim.end_time + 1e-9, step)
    edges = np.concatenate(([times[0] - step], times))  # point t covers (t - step, t]
    rng = np.random.default_rng([spec.seed, sim.index, 2])
    call_type = str(sim.params["call_type"])
    length = int(sim.params.get("length", 1024))
    msg_bytes = length + 600

    def per_bin(stamps: list[np.ndarray]) -> np.ndarray:
        if not stamps:
            return np.zeros(len(times))
        allv = np.concatenate(stamps)
        return np.histogram(allv, bins=edges)[0].astype(float)

    hosts: dict[str, str] = {"enos-bus-0": "bus", "enos-control-bus-0": "control-bus",
                             "enos-control-0": "default"}
    sent: dict[str, np.ndarray] = {}
    handled: dict[str, np.ndarray] = {}
    for a in sim.clients:
        hosts.setdefault(a.host, "ombt-client")
    for a in sim.servers:
        hosts.setdefault(a.host, "ombt-server")
    for host in hosts:
        sent[host] = per_bin([a.sent for a in sim.clients if a.host == host and a.sent is not None])
        handled[host] = per_bin([a.stamp for a in sim.servers
                                 if a.host == host and a.stamp is not None])
    published = sum(sent.values())
    delivered = sum(handled.values())
    replies = delivered if call_type == "rpc-call" else np.zeros(len(times))
    up = (times >= sim.deploy_time + 8.0) & (times <= sim.test_end + 2.0)  # agents connected

    lines: list[str] = []

    def point(measurement: str, tags: dict[str, str], values: dict[str, int | float],
              i: int) -> None:
        tag = ",".join(f"{k}={_esc(v)}" for k, v in sorted(tags.items()))
        lines.append(f"{measurement},{tag} {_fields(values)} {int(round(times[i] * 1000))}")

    boot = sim.deploy_time - 3 * 86400
    n_agents_on = {h: sum(1 for a in [*sim.clients, *sim.servers] if a.host == h) for h in hosts}
    loads = {h: [0.05, 0.05, 0.05] for h in hosts}
    counters = {h: [0.0, 0.0] for h in hosts}  # bytes recv, sent
    cpu_cost = {"bus": 60e-6, "ombt-client": 150e-6, "ombt-server": 300e-6}
    for i, t in enumerate(times):
        for host, role in hosts.items():
            if role == "bus":
                rate = (published[i] + delivered[i] + 2 * replies[i]) / step
                recv_b = (published[i] + replies[i]) * msg_bytes
                sent_b = (delivered[i] + replies[i]) * msg_bytes
            elif role == "ombt-client":
                calls = call_type == "rpc-call"
                rate = sent[host][i] * (2 if calls else 1) / step
                recv_b = sent[host][i] * (msg_bytes if calls else 150)
                sent_b = sent[host][i] * msg_bytes
            elif role == "ombt-server":
                rate = handled[host][i] / step
                recv_b = handled[host][i] * msg_bytes
                sent_b = handled[host][i] * (msg_bytes if call_type == "rpc-call" else 150)
            else:
                rate, recv_b, sent_b = 0.0, 0.0, 0.0
            busy = min(97.0, 100.0 * rate * cpu_cost.get(role, 0.0) / N_CPUS)
            busy += float(rng.uniform(0.1, 1.5))
            idle = 100.0 - busy
            point("cpu", {"cpu": "cpu-total", "host": host, "role": role}, {
                "usage_guest": 0.0, "usage_guest_nice": 0.0, "usage_idle": idle,
                "usage_iowait": 0.02 * busy, "usage_irq": 0.0, "usage_nice": 0.0,
                "usage_softirq": 0.04 * busy, "usage_steal": 0.01 * busy,
                "usage_system": 0.28 * busy, "usage_user": 0.65 * busy}, i)
            total = BUS_MEM_TOTAL if role == "bus" else MEM_TOTAL
            used = 420 * 1024**2 + int(rng.integers(0, 8 * 1024**2))
            if up[i]:
                used += n_agents_on[host] * 62 * 1024**2
            cached, buffered = 1200 * 1024**2, 180 * 1024**2
            free = total - used - cached - buffered
            point("mem", {"host": host, "role": role}, {
                "active": used + cached // 3, "available": total - used,
                "available_percent": 100.0 * (total - used) / total, "buffered": buffered,
                "cached": cached, "free": free, "inactive": cached // 2, "shared": 38 * 1024**2,
                "slab": 140 * 1024**2, "swap_free": 0, "swap_total": 0, "total": total,
                "used": used, "used_percent": 100.0 * used / total}, i)
            instant = N_CPUS * busy / 100.0
            for k, tau in enumerate((60.0, 300.0, 900.0)):
                w = math.exp(-step / tau)
                loads[host][k] = loads[host][k] * w + instant * (1 - w)
            point("system", {"host": host, "role": role}, {
                "load1": round(loads[host][0], 2), "load15": round(loads[host][2], 2),
                "load5": round(loads[host][1], 2), "n_cpus": N_CPUS,
                "uptime": int(t - boot)}, i)
            base = 1800.0 * step  # telegraf, ssh ... on an idle host
            counters[host][0] += recv_b + base
            counters[host][1] += sent_b + base
            rb, sb = int(counters[host][0]), int(counters[host][1])
            point("net", {"host": host, "interface": "eth0", "role": role}, {
                "bytes_recv": rb, "bytes_sent": sb, "drop_in": 0, "drop_out": 0, "err_in": 0,
                "err_out": 0, "packets_recv": rb // 900 + 1, "packets_sent": sb // 900 + 1}, i)
    if (spec.bus(str(sim.params["driver"])).type == "rabbitmq" if spec.drivers
            else spec.driver == "broker"):
        _rabbitmq(sim, times, step, up, published, delivered, replies, msg_bytes, point)
    return RunSeries(lines=lines, mtime=int(sim.end_time))


def _rabbitmq(sim: RunSim, times: np.ndarray, step: float, up: np.ndarray,
              published: np.ndarray, delivered: np.ndarray, replies: np.ndarray,
              msg_bytes: int, point,  # type: ignore[no-untyped-def]
              url: str = "http://enos-bus-0:15672", node: str = "rabbit@enos-bus-0") -> None:
    nc, ns = len(sim.clients), len(sim.servers)
    call_type = str(sim.params["call_type"])
    broker_start = sim.deploy_time + 2.0
    tags = {"host": "enos-bus-0", "role": "bus", "url": url}
    node_tags = {**tags, "node": node}
    pub_cum = np.cumsum(published + replies)
    del_cum = np.cumsum(delivered + replies)
    main_queue = "notify-topic-0.debug" if call_type == "notify" else "rpc-topic-0"
    ckind = sim.clients[0].kind if sim.clients else "RPCClient"
    skind = sim.servers[0].kind if sim.servers else "RPCServer"
    queues = [main_queue, "controller-topic-0", f"client-{ckind}-topic-0",
              f"client-{skind}-topic-0"]
    queues += [f"{main_queue}.{s.agent_id}" for s in sim.servers[:8]]
    n_queues = 4 + 2 * (nc + ns) + (ns if call_type == "rpc-fanout" else 0)
    for i, t in enumerate(times):
        if t < broker_start:
            continue
        connected = bool(up[i])
        conns = 2 * (nc + ns) + 2 if connected else 0
        queued = int(max(0.0, pub_cum[i] - del_cum[i]))
        point("rabbitmq_overview", tags, {
            "amqp_listeners": 1, "channels": conns, "clustering_listeners": 1,
            "connections": conns, "consumers": (nc + ns) * 2 + 1 if connected else 0,
            "exchanges": 10 if connected else 7, "messages": queued,
            "messages_acked": int(del_cum[i]), "messages_delivered": int(del_cum[i]),
            "messages_delivered_get": int(del_cum[i]), "messages_published": int(pub_cum[i]),
            "messages_ready": queued, "messages_unacked": 0,
            "queues": n_queues if connected else 0, "return_unroutable": 0,
            "return_unroutable_rate": 0.0}, i)
        point("rabbitmq_node", node_tags, {
            "disk_free": 84_874_768_384 - int(del_cum[i]) * 16, "disk_free_alarm": 0,
            "disk_free_limit": 50_000_000, "fd_total": 1_048_576, "fd_used": 36 + conns,
            "mem_alarm": 0, "mem_limit": int(0.4 * BUS_MEM_TOTAL),
            "mem_used": 110_000_000 + 30_000 * conns + queued * (msg_bytes + 300),
            "proc_total": 1_048_576, "proc_used": 400 + 15 * conns + 4 * n_queues * connected,
            "run_queue": int(min(8, (published[i] + delivered[i]) / step / 2000)),
            "running": 1, "sockets_total": 943_629, "sockets_used": conns,
            "uptime": int((t - broker_start) * 1000)}, i)
        if not connected:
            continue
        for q in queues:
            main = q == main_queue
            pub = int(pub_cum[i]) if main else 0
            deliv = int(del_cum[i]) if main else 0
            rate_p = float(published[i] / step) if main else 0.0
            rate_d = float(delivered[i] / step) if main else 0.0
            depth = queued if main else 0
            point("rabbitmq_queue", {**node_tags, "auto_delete": "false", "durable": "false",
                                     "queue": q, "vhost": "/"}, {
                "consumer_utilisation": 1.0, "consumers": ns if main else 1,
                "memory": 14_000 + depth * (msg_bytes + 300), "message_bytes": depth * msg_bytes,
                "messages": depth, "messages_ack": deliv, "messages_ack_rate": rate_d,
                "messages_deliver": deliv, "messages_deliver_get": deliv,
                "messages_deliver_get_rate": rate_d, "messages_publish": pub,
                "messages_publish_rate": rate_p, "messages_ready": depth,
                "messages_unack": 0}, i)


# --------------------------------------------------------------------------- influxd + tar


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes (``"ombt-orchestrator"``)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _post(url: str, path: str, params: dict[str, str], body: bytes) -> None:
    req = urllib.request.Request(f"{url}{path}?{urllib.parse.urlencode(params)}", data=body,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"influxd {path} failed: {e.code} {e.read()[:500]!r}") from None


def write_influx_tar(tar_path: Path, series: RunSeries, *, influxd: str | None = None) -> Path:
    """Start a private influxd on an empty folder, write the points, stop it, tar the folder."""
    tar_path = Path(tar_path)
    with tempfile.TemporaryDirectory(prefix="ombt-synth-influx-") as tmp:
        data = Path(tmp) / "influxdb-data"
        for sub in ("meta", "data", "wal"):
            (data / sub).mkdir(parents=True)
        with native_server(data, Limits(threads=1, mem_mb=256),
                           log_path=Path(tmp) / "influxd.log", influxd=influxd) as server:
            for db in (*series.empty_databases, series.database):
                q = CREATE_DB.replace(f"DATABASE {DATABASE} ", f"DATABASE {quote_ident(db)} ",
                                      1) if db != DATABASE else CREATE_DB
                _post(server.url, "/query", {}, urllib.parse.urlencode({"q": q}).encode())
            for k in range(0, len(series.lines), LINES_PER_WRITE):
                chunk = "\n".join(series.lines[k:k + LINES_PER_WRITE]).encode()
                _post(server.url, "/write", {"db": series.database, "precision": "ms"}, chunk)
        deterministic_tar(data, tar_path, mtime=series.mtime)
    return tar_path


def deterministic_tar(folder: Path, dest: Path, *, mtime: int, arcname: str = "influxdb-data",
                      compresslevel: int = 1) -> None:
    """gzip tar of ``folder`` as ``arcname/``: sorted, fixed mtime/owner/modes, gzip mtime 0."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")

    def add(tf: tarfile.TarFile, path: Path, name: str) -> None:
        info = tf.gettarinfo(str(path), arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = mtime
        if info.isdir():
            info.mode = 0o755
            tf.addfile(info)
        else:
            info.mode = 0o644
            with open(path, "rb") as f:
                tf.addfile(info, f)

    with open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                          compresslevel=compresslevel) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tf:
        add(tf, folder, arcname)
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            rel = Path(root).relative_to(folder)
            for d in dirs:
                add(tf, Path(root) / d, str(Path(arcname) / rel / d))
            for f in sorted(files):
                add(tf, Path(root) / f, str(Path(arcname) / rel / f))
    os.replace(tmp, dest)


class InfluxWriter:
    """Write tars in ``jobs`` worker threads (each starts and stops its own influxd).

    The threads live until :meth:`close`, so the parent-death signal of every
    influxd stays armed for as long as it runs.
    """

    def __init__(self, jobs: int = 1, influxd: str | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, jobs),
                                        thread_name_prefix="synth-influx")
        self._futures: list[Future[Path]] = []
        self._influxd = influxd
        self._max_pending = 4 * max(1, jobs)  # bounds the points held in memory
        self.done = 0

    def submit(self, tar_path: Path, series: RunSeries) -> None:
        while len(self._futures) >= self._max_pending:
            self._futures.pop(0).result()
            self.done += 1
        self._futures.append(self._pool.submit(write_influx_tar, tar_path, series,
                                               influxd=self._influxd))

    def wait(self) -> int:
        """Wait for every tar; raise the first failure; return how many were written."""
        while self._futures:
            self._futures.pop(0).result()
            self.done += 1
        return self.done

    def close(self) -> None:
        for f in self._futures:
            f.cancel()
        self._pool.shutdown(wait=True)
