#!/usr/bin/env python3
"""Benchmark of the influx stage, per run, next to its floor.

For each run of a campaign (default: the bundled 8-run example) it times the
steps of :func:`ombt_postmortem.influx.collect.collect_run_metrics` - extract,
start to ready, queries, export, stop (+ cleanup of the temp folder) - and
the floors they cannot beat: a plain ``tar xzf`` of the same archive, and a
plain ``influxd`` started by hand with a minimal config, polled on /ping.
Each number is the median of ``--repeat`` rounds. Usage::

    .venv/bin/python bench/bench_influx.py [--campaign DIR] [--repeat 3] [--margin 0]

The whole stage's wall time through snakemake at --cores 1 and 2 is
:func:`snakemake_stage_wall_times` (``--snakemake``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ombt_postmortem import layout
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.collect import collect_run_metrics
from ombt_postmortem.influx.config import InfluxConfig

REPO = Path(__file__).resolve().parents[1]
STEPS = ("extract", "start_to_ready", "queries", "export", "stop", "cleanup")


def run_window(run_dir: Path) -> tuple[float, float]:
    (log,) = [p for p in run_dir.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    agents = [a for line in log.read_text().splitlines()[:2] for a in json.loads(line).values()]
    return min(a["start_time"] for a in agents), max(a["stop_time"] for a in agents)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def floor_untar(tar: Path, work: Path) -> float:
    dest = work / "untar"
    dest.mkdir()
    t = time.monotonic()
    subprocess.run(["tar", "xzf", str(tar), "-C", str(dest)], check=True)
    elapsed = time.monotonic() - t
    shutil.rmtree(dest)
    return elapsed


def floor_influxd_ready(tar: Path, work: Path, influxd: str) -> float:
    """Start-to-ready of influxd with a minimal hand-written config (data already extracted)."""
    dest = work / "plain"
    dest.mkdir()
    subprocess.run(["tar", "xzf", str(tar), "-C", str(dest)], check=True)
    d = dest / "influxdb-data"
    http, rpc = _free_port(), _free_port()
    conf = dest / "influxd.conf"
    conf.write_text(
        f'reporting-enabled = false\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{d}/meta"\n[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
        f'[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:{http}"\n')
    t = time.monotonic()
    proc = subprocess.Popen([influxd, "run", "-config", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/ping", timeout=1) as r:
                    if r.status == 204:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() - t > 60:
                raise RuntimeError(f"plain influxd did not start on {tar}")
            time.sleep(0.01)
        return time.monotonic() - t
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(dest)


def bench_run(run_dir: Path, cfg: InfluxConfig, limits: Limits, repeat: int,
              influxd: str) -> dict[str, float]:
    tar = run_dir / "influxdb-data.tar.gz"
    window = run_window(run_dir)
    rounds: dict[str, list[float]] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-influx-") as w:
            work = Path(w)
            t = time.monotonic()
            m = collect_run_metrics(run_dir.name, tar, window, cfg, work / "influx.log", limits)
            total = time.monotonic() - t
            for k in STEPS:
                rounds.setdefault(k, []).append(m.timings.get(k, float("nan")))
            rounds.setdefault("total", []).append(total)
            rounds.setdefault("floor_untar", []).append(floor_untar(tar, work))
            rounds.setdefault("floor_ready", []).append(floor_influxd_ready(tar, work, influxd))
            rounds.setdefault("rows", []).append(float(len(m.timeseries)))
    return {k: statistics.median(v) for k, v in rounds.items()}


def snakemake_stage_wall_times(campaign: Path, cores: tuple[int, ...] = (1, 2),
                               repeat: int = 3) -> dict[int, float]:
    """The whole influx stage's wall time through snakemake, median of ``repeat``, per --cores.

    In a temp folder: one full run (ombt stats + everything), then for each n
    and round, delete the stage's outputs and time
    ``snakemake --cores n <every run's metrics.parquet>`` (the stage's jobs only).
    """
    out: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-influx-wf-") as w:
        work = Path(w)
        shutil.copytree(campaign, work / "campaign")
        (work / "tmp").mkdir()
        cfg = work / "config.yaml"
        cfg.write_text(json.dumps({"campaigns": {"bench": str(work / "campaign")},
                                   "influx": {"backend": "native", "tmpdir": str(work / "tmp")}}))
        base = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                "--directory", str(work), "--configfile", str(cfg), "--quiet", "all"]
        subprocess.run([*base, "--cores", "2"], check=True, capture_output=True)
        runs = layout.CampaignDir.of(work / "results", "bench").runs
        targets = [str((p / layout.METRICS).relative_to(work)) for p in sorted(runs.iterdir())]
        for n in cores:
            walls = []
            for _ in range(repeat):
                for d in runs.iterdir():
                    for name in (layout.METRICS, layout.TIMESERIES):
                        (d / name).unlink(missing_ok=True)
                t = time.monotonic()
                subprocess.run([*base[:-1], "--cores", str(n), *targets], check=True,
                               capture_output=True)
                walls.append(time.monotonic() - t)
            out[n] = statistics.median(walls)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--campaign", type=Path, default=REPO / "resources" / "example-campaign")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--margin", type=float, default=0.0, help="influx.window_margin_s")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mem-mb", type=int, default=1024)
    ap.add_argument("--snakemake", action="store_true",
                    help="also time the whole stage through snakemake (--cores 1 and 2)")
    args = ap.parse_args(argv)
    influxd = shutil.which("influxd")
    if influxd is None:
        print("influxd is not on PATH (apt-get install influxdb)", file=sys.stderr)
        return 2
    cfg = InfluxConfig.from_dict({"backend": "native", "window_margin_s": args.margin},
                                 base_dir=REPO)
    limits = Limits(threads=args.threads, mem_mb=args.mem_mb)
    runs = sorted(p for p in args.campaign.iterdir() if p.is_dir())
    print(f"influx stage per run, median of {args.repeat}, seconds "
          f"(GOMAXPROCS={limits.threads}, GOMEMLIMIT={limits.mem_mb}MiB, "
          f"margin {args.margin:g} s); floors: plain `tar xzf`, plain influxd start-to-ready")
    head = (f"{'run':<4} {'extract':>8} {'(tar)':>7} {'ready':>7} {'(plain)':>8} "
            f"{'queries':>8} {'export':>7} {'stop':>6} {'cleanup':>8} {'total':>7} {'rows':>6}")
    print(head)
    print("-" * len(head))
    sums: dict[str, float] = {}
    for i, run in enumerate(runs):
        r = bench_run(run, cfg, limits, args.repeat, influxd)
        for k, v in r.items():
            sums[k] = sums.get(k, 0.0) + v
        print(_row(f"r{i}", r))
    print("-" * len(head))
    print(_row("sum", sums))
    for i, run in enumerate(runs):
        print(f"  r{i} = {run.name}")
    if args.snakemake:
        print(f"whole stage through snakemake ({len(runs)} runs, influx_metrics jobs only, "
              f"median of {args.repeat}):")
        for n, wall in snakemake_stage_wall_times(args.campaign, repeat=args.repeat).items():
            print(f"  snakemake --cores {n}: {wall:.2f} s")
    return 0


def _row(name: str, r: dict[str, float]) -> str:
    return (f"{name:<4} {r['extract']:8.3f} {r['floor_untar']:7.3f} {r['start_to_ready']:7.3f} "
            f"{r['floor_ready']:8.3f} {r['queries']:8.3f} {r['export']:7.3f} {r['stop']:6.3f} "
            f"{r['cleanup']:8.3f} {r['total']:7.3f} {int(r['rows']):6d}")


if __name__ == "__main__":
    sys.exit(main())
