#!/usr/bin/env python3
"""What a per-run job costs above the same work in one process (goal: <= 0.2 CPU s).

    .venv/bin/python bench/bench_jobs.py [--runs 6] [--rounds 3] [--campaign DIR]

A realistic synthetic campaign (``synth --preset realistic``, unless ``--campaign``)
is processed once by ``snakemake --cores 2``; the commands Snakemake ran for the
per-run jobs (run_logs, influx_metrics) are read back from its records and, in
interleaved rounds, run:

- **as jobs**: each command as its own process, as Snakemake runs it; CPU of the
  process tree (the job and the influxd it starts);
- **in one process** (the floor): every command's
  ``ombt_postmortem.workflow_support.jobs.main`` called in turn in one warm worker
  process, after a first pass that loads the imports;
  CPU of the worker and its children around each call.

Printed per stage: median [min-max] over runs and rounds of both, and of their
difference (the job's own cost: interpreter start, imports, spec), plus the CPU of
importing what each stage imports, against ``python -c pass``. The record goes to
bench/results/jobs.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import common

from ombt_postmortem import layout

WORKER = r"""
import json, resource, shlex, sys
from ombt_postmortem.workflow_support.jobs import main

def cpu():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

cmds = json.loads(sys.stdin.read())
out = []
for rep in range(2):  # the first pass loads the imports
    for cmd in cmds:
        before = cpu()
        rc = main(shlex.split(cmd)[2:])
        if rc != 0:
            raise SystemExit(f"job failed in process: {cmd[:200]}")
        if rep:
            out.append(cpu() - before)
print(json.dumps(out))
"""
#: what each stage's process imports before its work (as the job's main does)
IMPORTS = {
    "run_logs": "from ombt_postmortem.workflow_support.jobs import keep_unneeded_out; "
                "keep_unneeded_out('run_logs'); import ombt_postmortem.ombt.run, "
                "ombt_postmortem.messages, ombt_postmortem.netcheck",
    "influx_metrics": "from ombt_postmortem.workflow_support.jobs import keep_unneeded_out; "
                      "keep_unneeded_out('influx_metrics'); "
                      "from ombt_postmortem import config; config.trust_validated(); "
                      "import ombt_postmortem.influx.stage, ombt_postmortem.influx.backends.native",
}
STAGES = tuple(IMPORTS)


def recorded_commands(workdir: Path) -> dict[str, list[str]]:
    """rule -> the shell commands Snakemake recorded for it (.snakemake/metadata)."""
    found: dict[str, set[str]] = {}
    for path in (workdir / ".snakemake" / "metadata").rglob("*"):
        if path.is_file():
            record = json.loads(path.read_text())
            if record.get("rule") in STAGES and record.get("shellcmd"):
                found.setdefault(record["rule"], set()).add(record["shellcmd"])
    return {rule: sorted(cmds) for rule, cmds in found.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--campaign", type=Path, help="an existing campaign (default: synth one)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temp folder, deleted)")
    args = ap.parse_args(argv)
    rec = common.Record("jobs")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        camp = args.campaign
        if camp is None:
            camp = work / "campaign"
            secs = common.synth(camp, "--preset", "realistic", "--runs", str(args.runs))
            print(f"synth: {args.runs} realistic runs in {secs:.0f} s", flush=True)
        (work / "tmp").mkdir(exist_ok=True)
        cfg = work / "config.yaml"
        cfg.write_text(json.dumps({"campaigns": {"example": None, "bench": str(camp)},
                                   "influx": {"tmpdir": str(work / "tmp")}}))
        wd = work / "wd"
        wd.mkdir(exist_ok=True)
        targets = [f"results/bench/{n}" for n in layout.CAMPAIGN_FILES.values()]
        common.timed([common.PY, "-m", "snakemake", *targets, "--snakefile",
                      str(common.REPO / "Snakefile"), "--directory", str(wd),
                      "--configfile", str(cfg), "--cores", "2"], log=work / "snakemake.log")
        cmds = recorded_commands(wd)
        flat = [(stage, c) for stage in STAGES for c in cmds.get(stage, [])]
        print(f"{len(flat)} per-run jobs: "
              + ", ".join(f"{len(cmds.get(s, []))} {s}" for s in STAGES), flush=True)
        as_job: dict[str, list[float]] = {s: [] for s in STAGES}
        in_process: dict[str, list[float]] = {s: [] for s in STAGES}
        over: dict[str, list[float]] = {s: [] for s in STAGES}
        for rnd in range(args.rounds):
            jobs = [common.timed(shlex.split(c), cwd=wd).cpu for _, c in flat]
            proc = subprocess.run([common.PY, "-c", WORKER], input=json.dumps([c for _, c in flat]),
                                  cwd=wd, capture_output=True, text=True, check=True)
            warm = json.loads(proc.stdout.strip().splitlines()[-1])
            for (stage, _), j, w in zip(flat, jobs, warm, strict=True):
                as_job[stage].append(j)
                in_process[stage].append(w)
                over[stage].append(j - w)
                rec.add(round=rnd + 1, stage=stage, job_cpu=j, in_process_cpu=w)
            print(f"round {rnd + 1}: " + ", ".join(
                f"{s} {common.fmt(over[s][-len(cmds.get(s, [])):], 3)} s over" for s in STAGES),
                flush=True)
        imports: dict[str, list[float]] = {"python -c pass": []}
        imports.update({s: [] for s in STAGES})
        for _ in range(5):
            imports["python -c pass"].append(common.timed([common.PY, "-c", "pass"]).cpu)
            for s in STAGES:
                imports[s].append(common.timed([common.PY, "-c", IMPORTS[s]]).cpu)
        for name, vals in imports.items():
            rec.add(imports=name, cpu=vals)
        path = rec.write()
        print(f"\n{args.runs} realistic runs, {args.rounds} interleaved rounds, median "
              f"[min-max] over runs x rounds; {rec.header()}\n")
        print(common.table(
            ["job", "CPU as a job (s)", "CPU in one process (s)", "job's own cost (s)"],
            [[s, common.fmt(as_job[s], 3), common.fmt(in_process[s], 3),
              common.fmt(over[s], 3)] for s in STAGES]))
        print()
        print(common.table(["imports of", "CPU (s), 5 processes"],
                           [[n, common.fmt(v, 3)] for n, v in imports.items()]))
        print(f"\nrecord: {path.relative_to(common.REPO)}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
