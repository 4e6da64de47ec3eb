#!/usr/bin/env python3
"""Benchmark of the influx stage's time-series export, next to its floor.

On the InfluxDB backup of a realistic synthetic run (``synth --preset realistic``,
generated in a temp folder unless ``--campaign`` is given), one influxd serves the
restored data and, round after round (``--repeat``, interleaved), it times:

- ``export``: the whole export step of the stage,
  :func:`ombt_postmortem.influx.export.export_timeseries` (influxdb client, msgpack,
  columnar table, ``EXPORT_IN_FLIGHT`` queries at a time, one client each), the
  clients' creation included;
- ``export 1 by 1``: the same with one query at a time (one client);
- ``client fetch``: the same queries through the client only, one at a time (HTTP +
  msgpack decode);
- ``former export``: the export before it went columnar (urllib, JSON, one dict per
  value, one sort), the reference kept in tests/support/reference_export.py;
- ``floor msgpack``: the same queries from a bare ``http.client`` connection that only
  reads the msgpack bodies (no decoding), one at a time: the floor;
- ``floor msgpack N``: the same on ``EXPORT_IN_FLIGHT`` bare connections, as many
  queries in flight as the export (the floor of the very same exchange);
- ``floor JSON``, ``floor CSV``: bare, one at a time, JSON or CSV bodies only read
  (the other formats influxd offers; CSV would be parsed in C by pyarrow, but
  influxd takes longer to write it).

The steps run in turn, their order rotated every round.

Each line: wall time, median [min-max] over the rounds, the ratio of medians to the
msgpack floor and to the floor with as many queries in flight as the export, and
the same ratio to the msgpack floor taken round by round (median [min-max]), and
the CPU time of the benchmark's own process (the client side:
the server's share of the work is the same for all). Usage::

    .venv/bin/python bench/bench_export.py [--campaign DIR] [--repeat 5] [--runs 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ombt_postmortem.influx.backends.native import native_server
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.client import influx_client
from ombt_postmortem.influx.export import EXPORT_IN_FLIGHT, export_timeseries
from ombt_postmortem.influx.queries import QuerySet, epoch_ns

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
from reference_export import reference_export  # noqa: E402  (the former export)

QS = QuerySet.load(REPO / "src/ombt_postmortem/data/queries/telegraf.yaml")
DB = "telegraf"


def run_window(run_dir: Path) -> tuple[float, float]:
    (log,) = [p for p in run_dir.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    agents = [a for line in log.read_text().splitlines()[:2] for a in json.loads(line).values()]
    return min(a["start_time"] for a in agents), max(a["stop_time"] for a in agents)


def bare_fetch(url: str, queries: list[str], accept: str, connections: int = 1) -> int:
    """GET every query, read the bodies; return their bytes. One keep-alive connection,
    or ``connections`` of them each taking the next query (as many in flight)."""
    if connections > 1:
        with ThreadPoolExecutor(connections) as pool:
            return sum(pool.map(lambda i: bare_fetch(url, queries[i::connections], accept),
                                range(connections)))
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


def bench_run(run_dir: Path, repeat: int, work: Path, skip: frozenset[str] = frozenset()
              ) -> dict[str, object]:
    start, stop = run_window(run_dir)
    lo, hi = epoch_ns(start), epoch_ns(stop, up=True)
    queries = [s.render(lo, hi) for s in QS.timeseries]
    data = work / run_dir.name
    data.mkdir()
    with tarfile.open(run_dir / "influxdb-data.tar.gz") as tf:
        tf.extractall(data, filter="data")
    names = ("export", "export 1 by 1", "client fetch", "former export", "floor msgpack",
             f"floor msgpack {EXPORT_IN_FLIGHT}", "floor JSON", "floor CSV")
    out: dict[str, list[float]] = {k: [] for k in names if k not in skip}
    cpu: dict[str, list[float]] = {k: [] for k in names if k not in skip}
    rows = 0
    sizes: dict[str, int] = {}
    with native_server(data / "influxdb-data", Limits(threads=1, mem_mb=1024),
                       log_path=work / f"{run_dir.name}.log") as server:
        url = server.url

        def export(in_flight: int = EXPORT_IN_FLIGHT) -> None:
            nonlocal rows
            rows = export_timeseries(run_dir.name, run_dir, url, DB, QS, lo, hi, [],
                                     in_flight=in_flight).num_rows

        def client_fetch() -> None:
            client = influx_client(url)
            try:
                for q in queries:
                    client.query(q, database=DB, epoch="ns")
            finally:
                client.close()

        steps: dict[str, Callable[[], object]] = {
            "export": export,
            "export 1 by 1": lambda: export(1),
            "client fetch": client_fetch,
            "former export": lambda: reference_export(url, DB, QS, lo, hi, []),
            "floor msgpack": lambda: sizes.__setitem__(
                "msgpack", bare_fetch(url, queries, "application/x-msgpack")),
            f"floor msgpack {EXPORT_IN_FLIGHT}": lambda: bare_fetch(
                url, queries, "application/x-msgpack", EXPORT_IN_FLIGHT),
            "floor JSON": lambda: sizes.__setitem__(
                "json", bare_fetch(url, queries, "application/json")),
            "floor CSV": lambda: sizes.__setitem__(
                "csv", bare_fetch(url, queries, "application/csv")),
        }
        steps = {k: f for k, f in steps.items() if k not in skip}
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
    "metrics module": "import ombt_postmortem.influx.collect",
    "+ influxdb client": ("import ombt_postmortem.influx.collect; "
                          "from ombt_postmortem.influx.client import _client_class; "
                          "_client_class()"),
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
    ap.add_argument("--skip", action="append", default=[], metavar="STEP",
                    help="leave a step out (e.g. 'former export', 12 s a round); repeatable")
    args = ap.parse_args()
    if args.repeat < 3:
        ap.error("--repeat must be >= 3")
    skip = frozenset(args.skip)
    for needed in ("floor msgpack", f"floor msgpack {EXPORT_IN_FLIGHT}"):
        if needed in skip:
            ap.error(f"{needed!r} is a floor: it cannot be skipped")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        camp = args.campaign or make_campaign(Path(tmp) / "campaign", args.runs)
        runs = sorted(p for p in camp.iterdir() if (p / "influxdb-data.tar.gz").is_file())
        for run_dir in runs[:args.runs]:
            work = Path(tmp) / "work"
            work.mkdir(exist_ok=True)
            r = bench_run(run_dir, args.repeat, work, skip)
            times: dict[str, list[float]] = r["times"]  # type: ignore[assignment]
            sizes: dict[str, int] = r["sizes"]  # type: ignore[assignment]
            cpu: dict[str, list[float]] = r["cpu"]  # type: ignore[assignment]
            floor = statistics.median(times["floor msgpack"])
            floor_n = statistics.median(times[f"floor msgpack {EXPORT_IN_FLIGHT}"])
            bodies = ", ".join(f"{sizes[k] / 1e6:.1f} MB {k}" for k in ("msgpack", "json", "csv")
                               if k in sizes)
            print(f"\nrun {r['run'][:60]}...: {r['rows']} values exported, "
                  f"{len(QS.timeseries)} queries, bodies {bodies}; {args.repeat} rounds; "
                  f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print(f"{'step':<17} {'wall: median [min-max] s':>26} {'/ floor':>8} "
                  f"{f'/ floor {EXPORT_IN_FLIGHT}':>10} {'/ floor, each round':>26} "
                  f"{'CPU of this process, s':>26}")
            for name, vals in times.items():
                med = statistics.median(vals)
                # the same ratio taken round by round (the step and the floor a few
                # seconds apart): its median and range show how often it holds
                paired = [v / f for v, f in zip(vals, times["floor msgpack"], strict=True)]
                print(f"{name:<17} {fmt(vals):>26} {med / floor:7.2f}x {med / floor_n:9.2f}x "
                      f"{fmt(paired):>26} {fmt(cpu[name]):>26}")
    print(f"\nimport in a fresh interpreter, {args.repeat} rounds")
    for name, vals in import_costs(args.repeat).items():
        print(f"{name:<18} {fmt(vals):>26}")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
