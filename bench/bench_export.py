#!/usr/bin/env python3
"""Benchmark of the influx stage's time-series export, next to its floor.

On the InfluxDB backup of a realistic synthetic run (``synth --preset realistic``,
generated in a temp folder unless ``--campaign`` is given), one influxd serves the
restored data and, round after round (``--repeat``, interleaved), it times:

- ``export``: the whole export step of the stage,
  :func:`ombt_postmortem.influx.metrics.export_timeseries` (influxdb client, msgpack,
  columnar table), a new client included;
- ``client fetch``: the same queries through the client only (HTTP + msgpack decode);
- ``former export``: the export before it went columnar (urllib, JSON, one dict per
  value, one sort), the reference kept in tests/test_influx_export.py;
- ``floor msgpack``: the same queries from a bare ``http.client`` connection that only
  reads the msgpack bodies (no decoding);
- ``floor JSON``: the same with JSON bodies, only read.

The steps run in turn, their order rotated every round.

Each line: wall time, median [min-max] over the rounds, the ratio of medians to the
msgpack floor, and the CPU time of the benchmark's own process (the client side:
the server's share of the work is the same for all). Usage::

    .venv/bin/python bench/bench_export.py [--campaign DIR] [--repeat 5] [--runs 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from ombt_postmortem.influx.metrics import export_timeseries, influx_client
from ombt_postmortem.influx.native import native_server
from ombt_postmortem.influx.queries import QuerySet, epoch_ns
from ombt_postmortem.influx.server import Limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_influx_export import reference_export  # noqa: E402  (the former export)

QS = QuerySet.load(REPO / "config" / "queries" / "telegraf.yaml")
DB = "telegraf"


def run_window(run_dir: Path) -> tuple[float, float]:
    (log,) = [p for p in run_dir.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    agents = [a for line in log.read_text().splitlines()[:2] for a in json.loads(line).values()]
    return min(a["start_time"] for a in agents), max(a["stop_time"] for a in agents)


def bare_fetch(url: str, queries: list[str], accept: str) -> int:
    """GET every query on one keep-alive connection, read the bodies; return their bytes."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    total = 0
    try:
        for q in queries:
            path = "/query?" + urllib.parse.urlencode({"q": q, "db": DB, "epoch": "ns"})
            conn.request("GET", path, headers={"Accept": accept})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body[:300]
            total += len(body)
    finally:
        conn.close()
    return total


def timed(f: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s of this process) of f()."""
    t, c = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - t, time.process_time() - c


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f} [{min(values):.3f}-{max(values):.3f}]"


def bench_run(run_dir: Path, repeat: int, work: Path) -> dict[str, object]:
    start, stop = run_window(run_dir)
    lo, hi = epoch_ns(start), epoch_ns(stop, up=True)
    queries = [s.render(lo, hi) for s in QS.timeseries]
    data = work / run_dir.name
    data.mkdir()
    with tarfile.open(run_dir / "influxdb-data.tar.gz") as tf:
        tf.extractall(data, filter="data")
    names = ("export", "client fetch", "former export", "floor msgpack", "floor JSON")
    out: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    rows = 0
    sizes: dict[str, int] = {}
    with native_server(data / "influxdb-data", Limits(threads=1, mem_mb=1024),
                       log_path=work / f"{run_dir.name}.log") as server:
        url = server.url

        def export() -> None:
            nonlocal rows
            client = influx_client(url)
            try:
                rows = export_timeseries(run_dir.name, run_dir, client, DB, QS, lo, hi,
                                         []).num_rows
            finally:
                client.close()

        def client_fetch() -> None:
            client = influx_client(url)
            try:
                for q in queries:
                    client.query(q, database=DB, epoch="ns")
            finally:
                client.close()

        steps: dict[str, Callable[[], object]] = {
            "export": export,
            "client fetch": client_fetch,
            "former export": lambda: reference_export(url, DB, QS, lo, hi, []),
            "floor msgpack": lambda: sizes.__setitem__(
                "msgpack", bare_fetch(url, queries, "application/x-msgpack")),
            "floor JSON": lambda: sizes.__setitem__(
                "json", bare_fetch(url, queries, "application/json")),
        }
        for f in steps.values():  # warm-up: caches of influxd and of the OS
            f()
        items = list(steps.items())
        for r in range(repeat):
            # the order turns every round: no step always follows the same one (influxd
            # may still be cleaning up after the previous, bigger, answers)
            for name, f in items[r % len(items):] + items[:r % len(items)]:
                wall, proc = timed(f)
                out[name].append(wall)
                cpu[name].append(proc)
    return {"run": run_dir.name, "rows": rows, "sizes": sizes, "times": out, "cpu": cpu}


IMPORTS = {
    "metrics module": "import ombt_postmortem.influx.metrics",
    "+ influxdb client": "import ombt_postmortem.influx.metrics as m; m._client_class()",
}


def import_costs(repeat: int) -> dict[str, list[float]]:
    """Wall time of a fresh interpreter importing the stage, with and without the client
    (a per-job cost: every influx_metrics job is one process)."""
    out: dict[str, list[float]] = {k: [] for k in IMPORTS}
    for _ in range(repeat):
        for name, code in IMPORTS.items():
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            out[name].append(time.perf_counter() - t)
    return out


def make_campaign(dest: Path, runs: int) -> Path:
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(dest),
                    "--preset", "realistic", "--runs", str(runs)], check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", type=Path, help="campaign folder (default: a fresh "
                    "`synth --preset realistic` campaign in a temp folder)")
    ap.add_argument("--runs", type=int, default=1, help="runs to generate/measure (1)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (>= 3; default 5)")
    args = ap.parse_args()
    if args.repeat < 3:
        ap.error("--repeat must be >= 3")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        camp = args.campaign or make_campaign(Path(tmp) / "campaign", args.runs)
        runs = sorted(p for p in camp.iterdir() if (p / "influxdb-data.tar.gz").is_file())
        for run_dir in runs[:args.runs]:
            work = Path(tmp) / "work"
            work.mkdir(exist_ok=True)
            r = bench_run(run_dir, args.repeat, work)
            times: dict[str, list[float]] = r["times"]  # type: ignore[assignment]
            sizes: dict[str, int] = r["sizes"]  # type: ignore[assignment]
            cpu: dict[str, list[float]] = r["cpu"]  # type: ignore[assignment]
            floor = statistics.median(times["floor msgpack"])
            print(f"\nrun {r['run'][:60]}...: {r['rows']} values exported, "
                  f"{len(QS.timeseries)} queries, bodies {sizes['msgpack'] / 1e6:.1f} MB "
                  f"msgpack / {sizes['json'] / 1e6:.1f} MB JSON; {args.repeat} rounds")
            print(f"{'step':<15} {'wall: median [min-max] s':>26} {'/ floor':>8} "
                  f"{'CPU of this process, s':>26}")
            for name, vals in times.items():
                print(f"{name:<15} {fmt(vals):>26} {statistics.median(vals) / floor:7.2f}x "
                      f"{fmt(cpu[name]):>26}")
    print(f"\nimport in a fresh interpreter, {args.repeat} rounds")
    for name, vals in import_costs(args.repeat).items():
        print(f"{name:<18} {fmt(vals):>26}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
