#!/usr/bin/env python3
"""Parallel efficiency on realistic runs (issue 11, item 5): the workflow end to end at
``--cores 1`` and ``--cores 2`` against the plain sequential script, same campaign.

    .venv/bin/python bench/bench_parallel.py [--runs 16] [--repeat 3] [--campaign DIR]

The campaign (``synth --preset realistic --runs N``, unless ``--campaign`` names one)
is processed from scratch each time, the variants interleaved round by round: the
sequential script (``bench/sequential.py``: every stage of every run in one process),
then snakemake at ``--cores 1`` and ``--cores 2`` (stats, messages, InfluxDB, table;
figures left out: the script has none). Each variant runs as a child process; wall
time and the CPU of the whole process tree (``RUSAGE_CHILDREN``) are taken. Printed:
median [min-max] of each, the ratio of each round's sequential wall to the variant's
wall (the speed-up), and the overhead per job = (CPU at --cores 1 - sequential CPU) /
jobs. The campaign tables of the three variants are compared too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import common
from common import PY, REPO, fmt, timed

from ombt_postmortem import layout

CAMPAIGN = "real"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--campaign", type=Path, help="an existing campaign (default: synth one)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temp folder, deleted)")
    args = ap.parse_args(argv)
    rec = common.Record("parallel")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        camp = args.campaign
        if camp is None:
            camp = work / "campaign"
            if not (camp / "params.json").is_file():
                secs = common.synth(camp, "--preset", "realistic", "--runs", str(args.runs))
                print(f"synth: {args.runs} realistic runs in {secs:.0f} s", flush=True)
        runs = json.loads((camp / "params.json").read_text())
        size = sum(p.stat().st_size for p in camp.rglob("*") if p.is_file())
        cfg = work / "config.yaml"
        cfg.write_text(json.dumps({"campaigns": {"example": None, CAMPAIGN: str(camp)},
                                   "influx": {"tmpdir": str(work / "tmp")}}))
        (work / "tmp").mkdir(exist_ok=True)
        targets = [f"results/{CAMPAIGN}/{n}" for n in layout.CAMPAIGN_FILES.values()]
        variants = {
            "sequential": lambda wd: [PY, str(REPO / "bench" / "sequential.py"), str(camp),
                                      str(wd / "results" / CAMPAIGN)],
            **{f"snakemake --cores {n}": (lambda wd, n=n: [
                PY, "-m", "snakemake", *targets, "--snakefile", str(REPO / "Snakefile"),
                "--directory", str(wd), "--configfile", str(cfg), "--cores", str(n)])
               for n in (1, 2)},
        }
        walls: dict[str, list[float]] = {v: [] for v in variants}
        cpus: dict[str, list[float]] = {v: [] for v in variants}
        tables: dict[str, str] = {}
        for rep in range(args.repeat):
            for name, cmd in variants.items():
                wd = work / name.replace(" ", "_")
                shutil.rmtree(wd, ignore_errors=True)
                wd.mkdir()
                t = timed(cmd(wd), log=wd / "out.log")
                wall, cpu = t.wall, t.cpu
                rec.add(round=rep + 1, variant=name, wall=wall, cpu=cpu)
                walls[name].append(wall)
                cpus[name].append(cpu)
                tables[name] = (wd / "results" / CAMPAIGN / layout.CAMPAIGN_CSV).read_text()
                print(f"round {rep + 1}: {name}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
        jobs = 2 * len(runs)  # run_logs, influx_metrics per run (issue 21)
        seq = walls["sequential"]
        print(f"\n{len(runs)} runs, {size / 2**20:.0f} MiB of backups; {jobs} per-run jobs; "
              f"{args.repeat} interleaved rounds, median [min-max]; machine: "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n")
        print("| variant | wall (s) | CPU (s) | speed-up: sequential wall / wall |")
        print("|---|---|---|---|")
        for name in variants:
            ratio = [s / w for s, w in zip(seq, walls[name], strict=True)]
            print(f"| {name} | {fmt(walls[name])} | {fmt(cpus[name])} | {fmt(ratio)} |")
        over = [(c1 - c0) / jobs for c1, c0 in zip(cpus["snakemake --cores 1"],
                                                    cpus["sequential"], strict=True)]
        print(f"\noverhead per job: (CPU at --cores 1 - sequential CPU) / {jobs} jobs = "
              f"{fmt(over, 3)} s")
        same = len({t for t in tables.values()}) == 1
        print(f"campaign.csv of the three variants identical: {same}")
        rec.data.update(runs=len(runs), backup_mib=round(size / 2**20), jobs=jobs, same=same)
        print(f"{rec.header()}; record: {rec.write().relative_to(REPO)}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
