"""Rewrite a copy of a campaign recorded by our own collector into ombt-orchestrator's layout.

:func:`rewrite_to_orchestrator` (tests call it on ``resources/example-campaign``)
copies the campaign and, in every run folder params.json lists:

- restores ``influxdb-data.tar.gz`` in a private ``influxd``, copies every
  measurement from database ``telegraf`` to ``ombt-orchestrator`` (``SELECT * INTO
  "ombt-orchestrator"."autogen".:MEASUREMENT FROM "telegraf"."autogen"./.*/ GROUP BY *``:
  same points, tags and field types), drops ``telegraf`` and creates it again
  empty (ombt-orchestrator's ``roles/influxdb/tasks/deploy.yml`` creates it, its
  Telegraf writes elsewhere);
- adds per-core ``cpu`` series (``cpu=cpu0``..``cpu3``) beside each ``cpu-total``
  point, with the same tags and time and values that differ from core to core
  and are all busier than the total (busy part ``100 - usage_idle`` and every
  other field times ``1 + a``, ``a`` in :data:`CORE_SPREAD`): their mean is not
  the total, so a query that averages (or takes the extreme of) every ``cpu``
  series of a host gives another number than one reading ``cpu-total`` only;
- stops influxd (a clean stop: the WAL is on disk) and tars
  ``influxdb-data/{meta,data,wal}`` again (deterministic headers, the original
  members' mtime);
- removes the agents' per-message logs (upstream's agents get no ``--output``);
- adds the broker log tarballs (``<host>_oo-rabbitmq-bus-0-logs.tar.gz``, and the
  control bus's) and one fping output ``<host>.out`` per host of the run's
  Telegraf data (:mod:`ombt_postmortem.synth.orchestrator`'s formats).

params.json, the controller's files and every original point are unchanged.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..influx.backends.native import native_server
from ..influx.backends.server import Limits
from .influx import CREATE_DB, DATABASE, _esc, _post, deterministic_tar, quote_ident

TARGET = "ombt-orchestrator"
N_CORES = 4
#: per core: how much busier than the total (deliberately not centred on it)
CORE_SPREAD = (0.45, 0.15, 0.30, 0.60)


@dataclass
class RewriteReport:
    dest: Path
    runs: list[str] = field(default_factory=list)
    moved_points: dict[str, int] = field(default_factory=dict)  # run -> points copied
    core_points: dict[str, int] = field(default_factory=dict)  # run -> cpu points added
    removed_logs: dict[str, list[str]] = field(default_factory=dict)
    added_files: dict[str, list[str]] = field(default_factory=dict)


def _query(url: str, q: str, db: str | None = None) -> dict[str, Any]:
    params = {"q": q, "epoch": "ns"}
    if db:
        params["db"] = db
    req = urllib.request.Request(f"{url}/query", data=urllib.parse.urlencode(params).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=300) as resp:
        payload = json.loads(resp.read())
    result = payload["results"][0]
    if "error" in result:
        raise RuntimeError(f"influxd: {q}: {result['error']}")
    return result


def _rows(result: dict[str, Any]) -> list[tuple[dict[str, str], dict[str, Any]]]:
    out = []
    for s in result.get("series", []):
        tags = s.get("tags", {})
        for row in s["values"]:
            out.append((tags, dict(zip(s["columns"], row, strict=True))))
    return out


def core_values(total: dict[str, Any]) -> list[dict[str, float]]:
    """Per-core fields, each core busier than ``total`` (non-numeric fields dropped)."""
    cores: list[dict[str, float]] = [{} for _ in range(N_CORES)]
    for name, v in total.items():
        if not isinstance(v, int | float) or isinstance(v, bool):
            continue
        v = float(v)
        if name == "usage_idle":
            busy = 100.0 - v
            limit = min(1.0, (100.0 - busy) / busy) if busy > 0 else 0.0
            for k, a in enumerate(CORE_SPREAD):
                cores[k][name] = 100.0 - busy * (1.0 + a * limit)
        else:
            for k, a in enumerate(CORE_SPREAD):
                cores[k][name] = v * (1.0 + a)
    return cores


def _line(measurement: str, tags: dict[str, str], values: dict[str, float], t_ns: int) -> str:
    tag = ",".join(f"{k}={_esc(v)}" for k, v in sorted(tags.items()) if v != "")
    fields = ",".join(f"{k}={float(v)!r}" for k, v in values.items())
    return f"{measurement},{tag} {fields} {t_ns}"


@dataclass
class InfluxRewrite:
    moved: int  # points copied to ombt-orchestrator
    cores: int  # per-core cpu points added
    hosts: list[str]  # the host tags of cpu


def rewrite_influx(tar: Path, dest_tar: Path, *, influxd: str | None = None) -> InfluxRewrite:
    """Move the points of ``tar`` to ``ombt-orchestrator``, add per-core cpu, empty
    ``telegraf``; write ``dest_tar`` (may be ``tar``)."""
    with tarfile.open(tar) as tf:
        mtime = max(m.mtime for m in tf.getmembers())
    with tempfile.TemporaryDirectory(prefix="ombt-rewrite-") as tmp:
        with tarfile.open(tar) as tf:
            tf.extractall(tmp, filter="data")
        data = Path(tmp) / "influxdb-data"
        for sub in ("meta", "data", "wal"):
            (data / sub).mkdir(exist_ok=True)
        with native_server(data, Limits(threads=1, mem_mb=512),
                           log_path=Path(tmp) / "influxd.log", influxd=influxd) as server:
            url = server.url
            dbs = {r[0] for s in _query(url, "SHOW DATABASES").get("series", [])
                   for r in s["values"]}
            if DATABASE not in dbs:
                raise RuntimeError(f"{tar}: no database {DATABASE!r} (found {sorted(dbs)})")
            if TARGET in dbs:
                raise RuntimeError(f"{tar}: already has a database {TARGET!r}")
            _query(url, CREATE_DB.replace(f"DATABASE {DATABASE} ",
                                          f"DATABASE {quote_ident(TARGET)} ", 1))
            moved = _query(url, f'SELECT * INTO {quote_ident(TARGET)}."autogen".:MEASUREMENT '
                           f'FROM {quote_ident(DATABASE)}."autogen"./.*/ GROUP BY *')
            n_moved = int(sum(r[1] for s in moved.get("series", []) for r in s["values"]))
            totals = _rows(_query(url, "SELECT * FROM \"cpu\" WHERE \"cpu\" = 'cpu-total' "
                                  "GROUP BY *", TARGET))
            lines = []
            for tags, row in totals:
                t_ns = int(row.pop("time"))
                for k, core in enumerate(core_values(row)):
                    lines.append(_line("cpu", {**tags, "cpu": f"cpu{k}"}, core, t_ns))
            for i in range(0, len(lines), 5000):
                _post(url, "/write", {"db": TARGET, "precision": "ns"},
                      "\n".join(lines[i:i + 5000]).encode())
            res = _query(url, 'SHOW TAG VALUES FROM "cpu" WITH KEY = "host"', TARGET)
            hosts = sorted({r[1] for s in res.get("series", []) for r in s["values"]})
            _query(url, f"DROP DATABASE {quote_ident(DATABASE)}")
            _query(url, CREATE_DB)
        keep = Path(tmp) / "out" / "influxdb-data"
        keep.parent.mkdir()
        shutil.copytree(data, keep, ignore=shutil.ignore_patterns("*.log"))
        deterministic_tar(keep, dest_tar, mtime=mtime)
    return InfluxRewrite(n_moved, len(lines), hosts)


def _is_agent_log(p: Path) -> bool:
    n = p.name
    return (n.endswith(".log") and "_controller-" not in n and not n.endswith("_docker.log"))


def rewrite_to_orchestrator(src_campaign: Path | str, dest: Path | str, *, seed: int = 0,
                            influxd: str | None = None) -> RewriteReport:
    """Copy ``src_campaign`` to ``dest`` (must not exist) and rewrite the copy into
    ombt-orchestrator 1.1.x's layout (see the module's doc)."""
    from .orchestrator import FpingRun, fping_text

    src, dest = Path(src_campaign), Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} exists")
    shutil.copytree(src, dest)
    report = RewriteReport(dest=dest)
    params = json.loads((dest / "params.json").read_text(encoding="utf-8"))
    for index, p in enumerate(params):
        run = str(p["backup_dir"])
        folder = dest / run
        tar = folder / "influxdb-data.tar.gz"
        if not tar.is_file():
            continue
        report.runs.append(run)
        done = rewrite_influx(tar, tar, influxd=influxd)
        report.moved_points[run] = done.moved
        report.core_points[run] = done.cores
        removed = sorted(f.name for f in folder.iterdir() if f.is_file() and _is_agent_log(f))
        for name in removed:
            (folder / name).unlink()
        report.removed_logs[run] = removed
        with tarfile.open(tar) as tf:
            mtime = max(m.mtime for m in tf.getmembers())
        added = []
        for host, agent_id in (("enos-bus-0", "rabbitmq-bus-0"),
                               ("enos-control-bus-0", "rabbitmq-control-bus-0")):
            name = f"{host}_oo-{agent_id}-logs.tar.gz"
            with tempfile.TemporaryDirectory(prefix="ombt-rewrite-logs-") as tmp:
                top = Path(tmp) / f"oo-{agent_id}-logs"
                (top / "_data").mkdir(parents=True)
                (top / "_data" / "rabbitmq.log").write_text(
                    f"[info] <0.200.0> Starting RabbitMQ on node {agent_id}@{host}\n",
                    encoding="utf-8")
                deterministic_tar(top, folder / name, mtime=mtime, arcname=top.name,
                                  compresslevel=6)
            added.append(name)
        hosts = done.hosts
        ips = {h: f"10.158.0.{i + 2}" for i, h in enumerate(hosts)}
        rng = np.random.default_rng([seed, index, 7])
        for host in hosts:
            rtts: dict[str, list[float | None]] = {
                ip: [float(0.02 if h == host else 0.12) + float(rng.lognormal(-2.5, 0.3))
                     for _ in range(10)] for h, ip in ips.items()}
            out = folder / f"{host}.out"
            out.write_text(fping_text(FpingRun(host, rtts, 9.0 + float(rng.uniform(0, 0.2)))),
                           encoding="utf-8")
            added.append(out.name)
        report.added_files[run] = added
    return report
