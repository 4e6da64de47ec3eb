#!/usr/bin/env python3
"""Stages end to end, planning, no-op, one added run, parsing, the campaign table, in one
command: measures, writes bench/results.json, prints tables.

    .venv/bin/python bench/run_all.py                       # everything, median of 3
    .venv/bin/python bench/run_all.py --quick               # 1 repetition, 100 and 1000 runs
    .venv/bin/python bench/run_all.py --variant before=/tmp/base  # also time another checkout
    .venv/bin/python bench/run_all.py --sections parse --merge  # measure one section again
    .venv/bin/python bench/render.py                        # then: the tables of the docs

This script only measures. The raw samples go to ``--json`` (bench/results.json: one
record per run with its date, commit, command, machine and load, and per section the
samples and the run that measured them); ``bench/render.py`` turns them into the tables
between the markers of docs/benchmarks.md, whose text is written by hand.

Sections (``--sections``, default all):

- ``e2e``: a 48-run synthetic campaign (``ombt-postmortem synth``, real InfluxDB
  backups) from nothing to the campaign table, through ``snakemake --cores 1``
  and ``--cores 2``, against ``bench/sequential.py`` (same library calls, one
  run after the other, no Snakemake) as the reference;
- ``plan``: ``snakemake -n`` on campaigns of 100, 1000 and 10 000 runs that
  nothing was computed for yet (``--no-influx`` campaigns; the InfluxDB stage
  enabled, so 2 jobs per run are planned);
- ``noop``: the re-run of a fully processed campaign of 100, 1000, 10 000 runs
  (ombt stage only: ``influx.enabled: false``). Up to ``--real-build-max`` runs
  the state is made by a real ``snakemake --cores 2`` run; beyond, the outputs
  are written by the library (``bench/sequential.py --no-influx``) and recorded
  in Snakemake's metadata by ``snakemake --touch --forceall`` (what a real run
  records; 100 runs are measured both ways to show they agree);
- ``add``: adding one run (params.json entry + its folder) to a processed
  200-run campaign with real InfluxDB backups, then ``snakemake --cores 2``;
- ``parse``: parse one controller log of 10 000 agents (5 000 clients, 5 000
  servers, 500 calls each), in a fresh interpreter: time and peak RSS;
- ``table``: ``bench/sequential.py --no-influx`` (the library alone) on 2000 runs,
  per checkout: the ombt stage and the campaign table;
- ``startup`` (always, unless ``--no-hide-slurm``): ``snakemake --version`` with
  and without SLURM's ``scontrol``, and the figure modules' imports.

Every measurement is repeated ``--repeat`` times (the tables show median [min-max]);
wall time, and CPU time (user+sys of the command and all its children) which the other users
of a shared machine disturb less. ``--variant NAME=DIR`` (a checkout of the
workflow before a change, e.g. ``git worktree add /tmp/base <commit>``) times
``plan`` and ``noop`` for it too, interleaved with the current tree.
``table`` times ``bench/sequential.py --no-influx`` of each ``--e2e-variant`` too.
Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import render  # bench/render.py, next to this script
import yaml
from common import PY, REPO, TOUCH, git_commit

from ombt_postmortem import layout

SNAKEMAKE = [PY, "-m", "snakemake"]
CAMPAIGN = "syn"
SECTIONS = ("e2e", "plan", "noop", "add", "parse", "table")
TABLE_RUNS = 2000
#: what workflow/rules/figures.smk imported when the Snakefile was read, before and now
FIGURE_IMPORTS = ("ombt_postmortem.figures", "ombt_postmortem.figspec")
E2E_SWEEP = ["--call-types", "rpc-call,rpc-cast,rpc-fanout,notify", "--clients", "1,2,4",
             "--servers", "1,2,3,4"]  # 4 x 3 x 4 = 48 runs
PLAN_SWEEP = ["--call-types", "rpc-call,rpc-cast,rpc-fanout,notify", "--clients", "1,2,4,8",
              "--servers", "1,2,4", "--calls", "20"]
# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    wall: float
    cpu: float
    maxrss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run(cmd: list[str], *, cwd: Path | None = None, log: Path | None = None,
        env: dict[str, str] | None = None, check: bool = True) -> tuple[Sample, str]:
    """Run ``cmd``; wall time, CPU of the whole process tree, output (also to ``log``)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = proc.stdout + proc.stderr
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(map(str, cmd))}\n{out}")
    if check and proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                           f"{out[-3000:]}")
    return Sample(wall, cpu), out


def hide_slurm(bin_dir: Path) -> None:
    """Put an ``scontrol`` that fails at once first on PATH, for this process and its children.

    snakemake-executor-plugin-slurm runs ``scontrol show config`` whenever snakemake
    starts (it is imported with the executor registry, even for local runs); with
    SLURM's client tools installed but no slurmctld answering, that call blocks ~9 s.
    On a real cluster it answers at once; here it would add 9 s of waiting to every
    number. The first section of the report measures it.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    fake = bin_dir / "scontrol"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def startup_cost(repeat: int) -> dict[str, list[Sample]]:
    """``snakemake --version`` with the real PATH and with scontrol hidden."""
    out: dict[str, list[Sample]] = {"real PATH": [], "scontrol hidden": []}
    real = os.environ.get("_BENCH_REAL_PATH", os.environ["PATH"])
    for mod in FIGURE_IMPORTS:
        out[f"import {mod}"] = []
    for _ in range(repeat):
        out["real PATH"].append(run([*SNAKEMAKE, "--version"], env={"PATH": real})[0])
        out["scontrol hidden"].append(run([*SNAKEMAKE, "--version"])[0])
        for mod in FIGURE_IMPORTS:
            out[f"import {mod}"].append(run([PY, "-c", f"import {mod}"])[0])
    return out


# --------------------------------------------------------------------------- set-ups


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.work.mkdir(parents=True, exist_ok=True)
        self.variants: dict[str, Path] = {}
        for spec in args.variant:
            name, _, path = spec.partition("=")
            if not path or not (Path(path) / "Snakefile").is_file():
                raise SystemExit(f"--variant {spec!r}: expected NAME=DIR, DIR holding a Snakefile")
            self.variants[name] = Path(path).resolve()
        self.variants["current"] = REPO
        self.e2e_variants: dict[str, Path] = {}
        for spec in args.e2e_variant:
            name, _, path = spec.partition("=")
            if not path or not (Path(path) / "Snakefile").is_file():
                raise SystemExit(f"--e2e-variant {spec!r}: expected NAME=DIR, DIR holding a "
                                 "Snakefile")
            self.e2e_variants[name] = Path(path).resolve()
        self.results: dict[str, Any] = {}
        self.touch_py = self.work / "touch.py"
        self.touch_py.write_text(TOUCH)
        if args.hide_slurm:
            hide_slurm(self.work / "bin")

    def log(self, msg: str) -> None:
        print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

    def synth(self, out: Path, *args: str) -> Path:
        """A synthetic campaign, generated once per spec (the stamp records the arguments)."""
        stamp = out / ".bench-synth-args"
        if stamp.is_file() and stamp.read_text() == json.dumps(args):
            return out
        if out.exists():
            shutil.rmtree(out)
        self.log(f"synth {out.name}: {' '.join(args)}")
        run([PY, "-m", "ombt_postmortem.cli", "synth", str(out), *args])
        stamp.write_text(json.dumps(args))
        return out

    def config(self, workdir: Path, campaign: Path, *, influx: bool = True) -> Path:
        cfg: dict[str, Any] = {"campaigns": {"example": None, CAMPAIGN: str(campaign)},
                               "results_dir": "results"}
        if not influx:
            cfg["influx"] = {"enabled": False}
        path = workdir / ("config.yaml" if influx else "config-ombt-only.yaml")
        workdir.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(cfg))
        return path

    def snakemake(self, workflow: Path, workdir: Path, config: Path, *args: str, cores: int = 2,
                  log: Path | None = None, touch: bool = False) -> tuple[Sample, str]:
        # layout.json aside: older checkouts (--e2e-variant) do not write it
        targets = [f"results/{CAMPAIGN}/{n}" for n in
                   (layout.CAMPAIGN_PARQUET, layout.CAMPAIGN_CSV, layout.PARAMS_CALCULATED,
                    layout.ALL_STATS, layout.PROBLEMS)]
        cmd = [PY, str(self.touch_py)] if touch else list(SNAKEMAKE)
        cmd += [*targets, "--snakefile", str(workflow / "Snakefile"), "--directory",
                str(workdir), "--configfile", str(config), "--cores", str(cores), *args]
        return run(cmd, cwd=workdir, log=log)

    @staticmethod
    def clean(workdir: Path) -> None:
        for sub in ("results", ".snakemake"):
            if (workdir / sub).exists():
                shutil.rmtree(workdir / sub)

    # ----------------------------------------------------------------------- sections

    def e2e(self) -> None:
        camp = self.synth(self.work / "e2e" / "campaign", *E2E_SWEEP, "--seed", "1")
        wd = self.work / "e2e"
        cfg = self.config(wd, camp)
        seq_out = wd / "sequential"
        res: dict[str, list[Sample]] = {"cores1": [], "cores2": [], "sequential": []}
        others: dict[str, dict[str, list[Sample]]] = {
            name: {"cores1": [], "cores2": []} for name in self.e2e_variants}
        tables: dict[str, str] = {}
        for rep in range(self.args.repeat):
            for name, wf in self.e2e_variants.items():
                for how, smp in others[name].items():
                    self.clean(wd)
                    self.log(f"e2e 48 runs: {name} {how} ({rep + 1}/{self.args.repeat})")
                    s, _ = self.snakemake(wf, wd, cfg, cores=int(how[-1]),
                                          log=wd / "logs" / f"{name}-{how}-{rep}.log")
                    smp.append(s)
                    tables[name] = (wd / "results" / CAMPAIGN / layout.CAMPAIGN_CSV).read_text()
            for how in res:
                self.clean(wd)
                if seq_out.exists():
                    shutil.rmtree(seq_out)
                self.log(f"e2e 48 runs: {how} ({rep + 1}/{self.args.repeat})")
                if how == "sequential":
                    s, out = run([PY, str(REPO / "bench" / "sequential.py"), str(camp),
                                  str(seq_out)], log=wd / "logs" / f"{how}-{rep}.log")
                    line = next(ln for ln in out.splitlines() if ln.startswith("ombt="))
                    s.extra = {k: float(v) for k, v in (x.split("=") for x in line.split())}
                    tables[how] = (seq_out / layout.CAMPAIGN_CSV).read_text()
                else:
                    s, out = self.snakemake(REPO, wd, cfg, cores=int(how[-1]),
                                            log=wd / "logs" / f"{how}-{rep}.log")
                    tables[how] = (wd / "results" / CAMPAIGN / layout.CAMPAIGN_CSV).read_text()
                res[how].append(s)
        rows = list(csv.DictReader(tables["cores2"].splitlines()))
        self.results["e2e"] = {
            "samples": res, "runs": len(rows), "jobs": 2 * len(rows) + 1,
            "all_ok": all(r["status"] == "ok" for r in rows),
            "same_table": _same_table(tables["cores2"], tables["sequential"]),
            "variants": others,
            "variant_dirs": {k: str(v) for k, v in self.e2e_variants.items()},
            "variant_same_table": {k: _same_table(tables["cores2"], tables[k])
                                   for k in self.e2e_variants},
        }

    def plan(self) -> None:
        out: dict[int, dict[str, list[Sample]]] = {}
        for n in self.args.sizes:
            camp = self.synth(self.work / "plan" / f"c{n}", "--runs", str(n), *PLAN_SWEEP,
                              "--seed", "3", "--no-influx")
            out[n] = {v: [] for v in self.variants}
            wd = self.work / "plan" / f"w{n}"
            cfg = self.config(wd, camp)
            self.clean(wd)
            for rep in range(self.args.repeat):
                for name, wf in self.variants.items():
                    self.log(f"plan -n {n} runs: {name} ({rep + 1}/{self.args.repeat})")
                    s, text = self.snakemake(wf, wd, cfg, "-n", log=wd / f"{name}-{rep}.log")
                    s.extra["jobs"] = _total_jobs(text)
                    out[n][name].append(s)
        self.results["plan"] = out

    def noop(self) -> None:
        out: dict[int, dict[str, Any]] = {}
        for n in self.args.sizes:
            camp = self.synth(self.work / "plan" / f"c{n}", "--runs", str(n), *PLAN_SWEEP,
                              "--seed", "3", "--no-influx")
            wd = self.work / "noop" / f"w{n}"
            cfg = self.config(wd, camp, influx=False)
            entry: dict[str, Any] = {}
            builds = ["real"] if n <= self.args.real_build_max else []
            if n > self.args.real_build_max or n == min(self.args.sizes):
                builds.append("touch")
            for build in builds:
                self.clean(wd)
                self.log(f"noop {n} runs: building the processed state ({build})")
                if build == "real":
                    s, _ = self.snakemake(REPO, wd, cfg, log=wd / "build-real.log")
                    entry["build_real"] = s
                else:
                    s1, text = run([PY, str(REPO / "bench" / "sequential.py"), str(camp),
                                    str(wd / "results" / CAMPAIGN), "--no-influx"],
                                   log=wd / "build-library.log")
                    line = next(ln for ln in text.splitlines() if ln.startswith("ombt="))
                    s2, _ = self.snakemake(REPO, wd, cfg, "--touch", "--forceall", touch=True,
                                           log=wd / "build-touch.log")
                    entry["build_library"] = Sample(s1.wall, s1.cpu, extra=dict(
                        (k, float(v)) for k, v in (x.split("=") for x in line.split())))
                    entry["build_touch"] = s2
                samples: dict[str, list[Sample]] = {v: [] for v in self.variants}
                for rep in range(self.args.repeat):
                    for name, wf in self.variants.items():
                        self.log(f"noop {n} runs ({build} state): {name} "
                                 f"({rep + 1}/{self.args.repeat})")
                        s, text = self.snakemake(wf, wd, cfg, log=wd / f"{name}-{build}-{rep}.log")
                        s.extra["nothing_to_do"] = "Nothing to be done" in text
                        samples[name].append(s)
                entry[build] = samples
            out[n] = entry
        self.results["noop"] = out

    def add(self) -> None:
        camp = self.synth(self.work / "add" / "campaign", "--runs", "201", *E2E_SWEEP,
                          "--seed", "2")
        params = camp / "params.json"
        full = json.loads(params.read_text())
        full_text = json.dumps(full, indent=4) + "\n"
        first = json.dumps(full[:200], indent=4) + "\n"
        last_key = full[-1]["backup_dir"]
        wd = self.work / "add"
        cfg = self.config(wd, camp)
        self.clean(wd)
        params.write_text(first)
        self.log("add: processing the 200-run campaign (snakemake --cores 2)")
        build, _ = self.snakemake(REPO, wd, cfg, log=wd / "build.log")
        # the current tree only: influx_metrics has the workflow's folder among its params,
        # so another checkout would redo every run of this state
        samples: dict[str, list[Sample]] = {"current": []}
        try:
            for rep in range(self.args.repeat):
                if rep:  # back to 200 processed runs: the run's outputs gone, the table redone
                    params.write_text(first)
                    shutil.rmtree(wd / "results" / CAMPAIGN / "runs" / last_key)
                    self.snakemake(REPO, wd, cfg, log=wd / f"revert-{rep}.log")
                params.write_text(full_text)  # the 201st run appears
                self.log(f"add one run ({rep + 1}/{self.args.repeat})")
                s, text = self.snakemake(REPO, wd, cfg, log=wd / f"current-{rep}.log")
                s.extra["jobs"] = _job_counts(text)
                samples["current"].append(s)
        finally:
            params.write_text(full_text)
        self.results["add"] = {"build_200": build, "samples": samples}

    def table(self) -> None:
        """The library's per-run work and campaign table, without Snakemake, per checkout."""
        camp = self.synth(self.work / "table" / f"c{TABLE_RUNS}", "--runs", str(TABLE_RUNS),
                          *PLAN_SWEEP, "--seed", "3", "--no-influx")
        checkouts = {**self.e2e_variants, "current": REPO}
        samples: dict[str, list[Sample]] = {name: [] for name in checkouts}
        for rep in range(self.args.repeat):
            for name, wf in checkouts.items():
                out = self.work / "table" / f"out-{name}"
                if out.exists():
                    shutil.rmtree(out)
                self.log(f"table {TABLE_RUNS} runs: {name} ({rep + 1}/{self.args.repeat})")
                s, text = run([PY, str(wf / "bench" / "sequential.py"), str(camp), str(out),
                               "--no-influx"], log=self.work / "table" / f"{name}-{rep}.log")
                line = next(ln for ln in text.splitlines() if ln.startswith("ombt="))
                s.extra = {k: float(v) for k, v in (x.split("=") for x in line.split())}
                samples[name].append(s)
        csvs = {n: (self.work / "table" / f"out-{n}" / layout.CAMPAIGN_CSV).read_text()
                for n in checkouts}
        self.results["table"] = {
            "runs": TABLE_RUNS, "samples": samples,
            "same_table": {n: _same_table(csvs["current"], csvs[n]) for n in self.e2e_variants},
        }

    def parse(self) -> None:
        camp = self.synth(self.work / "parse" / "campaign", "--runs", "1", "--clients", "5000",
                          "--servers", "5000", "--call-types", "rpc-call", "--calls", "500",
                          "--seed", "4", "--no-influx")
        (folder,) = [p for p in camp.iterdir() if p.is_dir()]
        code = PARSE_CODE.format(src=str(REPO / "src"), folder=str(folder))
        samples = []
        for rep in range(self.args.repeat):
            self.log(f"parse 10 000 agents ({rep + 1}/{self.args.repeat})")
            s, out = run([PY, "-c", code])
            s.extra = json.loads(out.strip().splitlines()[-1])
            samples.append(s)
        log_file = next(p for p in folder.iterdir() if p.name.endswith("-0.log"))
        self.results["parse"] = {"samples": samples, "size_mb": log_file.stat().st_size / 1e6}


PARSE_CODE = """\
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {src!r})


def peak_mb():  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

from ombt_postmortem.workflow_support.jobs import keep_unneeded_out
keep_unneeded_out("ombt_stats")  # as the ombt_stats job does, before pyarrow is imported
from ombt_postmortem.ombt.parse import find_controller_logs, parse_controller_log
from ombt_postmortem.ombt.run import analyse_run, write_run_stats
folder = Path({folder!r})
(log,) = find_controller_logs(folder)
rss0 = peak_mb()
t = time.perf_counter()
agents, problems = parse_controller_log(log, folder.name)
parse_s = time.perf_counter() - t
rss1 = peak_mb()
assert len(agents) == 10000 and not problems, (len(agents), problems)
del agents
t = time.perf_counter()
stats = analyse_run(folder, folder.name)
with tempfile.TemporaryDirectory() as d:
    write_run_stats(stats, Path(d, "s.parquet"), Path(d, "a.parquet"), Path(d, "h.parquet"))
job_s = time.perf_counter() - t
rss2 = peak_mb()
print(json.dumps({{"parse_s": parse_s, "rss_imports_mb": rss0, "rss_parse_mb": rss1,
                  "job_s": job_s, "rss_job_mb": rss2}}))
"""


def _total_jobs(text: str) -> int | None:
    counts = _job_counts(text)
    return sum(counts.values()) if counts else None


def _job_counts(text: str) -> dict[str, int]:
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Job stats:")
    except StopIteration:
        return {}
    counts = {}
    for ln in lines[start + 3:]:
        parts = ln.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def _same_table(a: str, b: str) -> bool | str:
    ra, rb = list(csv.DictReader(a.splitlines())), list(csv.DictReader(b.splitlines()))
    if len(ra) != len(rb):
        return f"{len(ra)} vs {len(rb)} rows"
    diff = sorted({k for x, y in zip(ra, rb, strict=True) for k in x if x.get(k) != y.get(k)})
    return True if not diff else "differ in " + ", ".join(diff)


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    """bench/common.py's machine, with the load average as one text (results.json format 2)."""
    return {**common.machine(), "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with the sections of ``new`` replaced; runs nothing shown comes from dropped."""
    if old.get("format") != render.FORMAT:
        raise SystemExit(f"--merge: the results file is not of format {render.FORMAT}")
    (run_rec,) = new["runs"]
    ids = {r["id"] for r in old["runs"]}
    base, n = run_rec["id"], 1
    while run_rec["id"] in ids:  # two runs started in the same second
        n += 1
        run_rec["id"] = f"{base} ({n})"
    for sec in new["sections"].values():
        sec["run"] = run_rec["id"]
    sections = {**old["sections"], **new["sections"]}
    shown = {sec["run"] for sec in sections.values()}
    runs = [r for r in [*old["runs"], run_rec] if r["id"] in shown]
    return {"format": render.FORMAT, "runs": runs, "sections": sections}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated among {', '.join(SECTIONS)} (startup is always "
                    "measured, unless --no-hide-slurm)")
    ap.add_argument("--sizes", default=None,
                    help="runs for plan and noop (default 100,1000,10000; --quick 100,1000)")
    ap.add_argument("--real-build-max", type=int, default=1000,
                    help="largest campaign processed by a real snakemake run for noop")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="another checkout of the workflow to time too (plan, noop), "
                    "e.g. before=/tmp/base; repeatable")
    ap.add_argument("--e2e-variant", action="append", default=[], metavar="NAME=DIR",
                    help="another checkout to time in the end-to-end section (--cores 1 "
                    "and 2) and the table section, e.g. before=/tmp/base; repeatable")
    ap.add_argument("--quick", action="store_true",
                    help="--repeat 1, and --sizes 100,1000 unless given")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "ombt-postmortem-bench")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results.json",
                    help="where the measurements go (bench/render.py turns them into the "
                    "tables of docs/benchmarks.md)")
    ap.add_argument("--no-hide-slurm", dest="hide_slurm", action="store_false",
                    help="keep SLURM's scontrol on PATH (see hide_slurm)")
    ap.add_argument("--note", action="append", default=[],
                    help="a line recorded with this run, e.g. how a --variant was made "
                    "(listed under the runs table); repeatable")
    ap.add_argument("--merge", action="store_true",
                    help="replace only the measured sections in --json and keep the others")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.repeat = 1
        args.sizes = args.sizes or "100,1000"
    args.sizes = args.sizes or "100,1000,10000"
    args.sizes = [int(x) for x in args.sizes.split(",")]
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}")
    if shutil.which("influxd") is None and {"e2e", "add"} & set(sections):
        ap.error("influxd is not on PATH (apt-get install influxdb)")
    if args.merge and args.json.is_file():
        render.load(args.json)  # fail now, not after an hour of measuring
    info = machine()
    load_start = info.pop("load")
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    os.environ["_BENCH_REAL_PATH"] = os.environ.get("PATH", "")
    b = Bench(args)
    if args.hide_slurm:
        b.results["startup"] = startup_cost(args.repeat)
    for name in SECTIONS:
        if name in sections:
            getattr(b, name)()
    run_rec = {"id": started, "started": started, "commit": git_commit(), "argv": args.argv,
               "repeat": args.repeat, "machine": info, "load_start": load_start,
               "load_end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
               "variants": {k: str(v) for k, v in b.variants.items()},
               "e2e_variants": {k: str(v) for k, v in b.e2e_variants.items()},
               "notes": args.note}
    data = {"format": render.FORMAT, "runs": [run_rec],
            "sections": {s: {"run": started, "data": v} for s, v in _plain(b.results).items()}}
    if args.merge and args.json.is_file():
        data = merge_results(json.loads(args.json.read_text()), data)
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    shown = dict.fromkeys(t for s in b.results for t in render.SECTION_TABLES[s])
    for table_id in shown:
        print(f"<!-- table: {table_id} -->\n{render.render_table(table_id, data)}\n")
    print(f"measurements written to {args.json}; bench/render.py puts them into "
          "docs/benchmarks.md", file=sys.stderr)
    return 0


def _plain(x: Any) -> Any:
    if isinstance(x, Sample):
        return {"wall": x.wall, "cpu": x.cpu, "maxrss_mb": x.maxrss_mb, **x.extra}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


if __name__ == "__main__":
    sys.exit(main())
