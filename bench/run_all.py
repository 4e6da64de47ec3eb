#!/usr/bin/env python3
"""The benchmarks of issue 5, in one command; prints a table and writes docs/benchmarks.md.

    .venv/bin/python bench/run_all.py                       # everything, median of 3
    .venv/bin/python bench/run_all.py --quick               # 1 repetition, 100 and 1000 runs
    .venv/bin/python bench/run_all.py --variant before=/tmp/base  # also time another checkout

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
  servers, 500 calls each), in a fresh interpreter: time and peak RSS.

Every number is the median of ``--repeat`` runs (min-max shown); wall time, and
CPU time (user+sys of the command and all its children) which the other users
of a shared machine disturb less. ``--variant NAME=DIR`` (a checkout of the
workflow before a change, e.g. ``git worktree add /tmp/base <commit>``) times
``plan`` and ``noop`` for it too, interleaved with the current tree.
Raw samples go to ``bench/results.json``. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
SNAKEMAKE = [PY, "-m", "snakemake"]
CAMPAIGN = "syn"
SECTIONS = ("e2e", "plan", "noop", "add", "parse", "table")
TABLE_RUNS = 2000
#: what workflow/rules/figures.smk imported when the Snakefile was read, before and now
FIGURE_IMPORTS = ("ombt_postmortem.figures", "ombt_postmortem.figspec")
FIGURE_IMPORT_NOTES = {
    "import ombt_postmortem.figures": " (what `figures.smk` imported at every snakemake "
    "start until commit c90f815: matplotlib and pandas)",
    "import ombt_postmortem.figspec": " (what it imports since: the figure options and "
    "paths, no matplotlib)",
}
E2E_SWEEP = ["--call-types", "rpc-call,rpc-cast,rpc-fanout,notify", "--clients", "1,2,4",
             "--servers", "1,2,3,4"]  # 4 x 3 x 4 = 48 runs
PLAN_SWEEP = ["--call-types", "rpc-call,rpc-cast,rpc-fanout,notify", "--clients", "1,2,4,8",
              "--servers", "1,2,4", "--calls", "20"]
TOUCH = """\
import sys
import snakemake.executors.touch as touch
touch.Executor.SLEEPING_TIME = 0  # the bench touches 10 000 jobs: no 0.1 s sleep each
from snakemake.cli import main
sys.argv[0] = "snakemake"
main()
"""


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


def med(samples: list[Sample], attr: str = "wall") -> tuple[float, float, float]:
    values = [getattr(s, attr) for s in samples]
    return statistics.median(values), min(values), max(values)


def fmt(samples: list[Sample] | None, attr: str = "wall") -> str:
    if not samples:
        return "-"
    m, lo, hi = med(samples, attr)
    return f"{m:.2f}" if len(samples) == 1 else f"{m:.2f} [{lo:.2f}-{hi:.2f}]"


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
        targets = [f"results/{CAMPAIGN}/{n}" for n in
                   ("campaign.parquet", "campaign.csv", "params_calculated.json",
                    "all_stats.json", "problems.csv")]
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
                    tables[name] = (wd / "results" / CAMPAIGN / "campaign.csv").read_text()
            for how in res:
                self.clean(wd)
                if seq_out.exists():
                    shutil.rmtree(seq_out)
                self.log(f"e2e 48 runs: {how} ({rep + 1}/{self.args.repeat})")
                if how == "sequential":
                    s, out = run([PY, str(REPO / "bench" / "sequential.py"), str(camp),
                                  str(seq_out)], log=wd / "logs" / f"{how}-{rep}.log")
                    line = next(ln for ln in out.splitlines() if ln.startswith("ombt="))
                    s.extra = dict(x.split("=") for x in line.split())
                    tables[how] = (seq_out / "campaign.csv").read_text()
                else:
                    s, out = self.snakemake(REPO, wd, cfg, cores=int(how[-1]),
                                            log=wd / "logs" / f"{how}-{rep}.log")
                    tables[how] = (wd / "results" / CAMPAIGN / "campaign.csv").read_text()
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
        csvs = {n: (self.work / "table" / f"out-{n}" / "campaign.csv").read_text()
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

from ombt_postmortem.arrow_io import keep_pandas_out
from ombt_postmortem.ombt.parse import find_controller_logs, parse_controller_log
from ombt_postmortem.ombt.run import analyse_run, write_run_stats
keep_pandas_out()  # as the ombt_stats job does
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
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout \
                .strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    return {"cores": str(os.cpu_count()), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "snakemake": version([*SNAKEMAKE, "--version"]),
            "influxd": version(["influxd", "version"]),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def report(b: Bench, info: dict[str, str], started: str, load_end: str) -> str:
    r, a = b.results, b.args
    out = [
        "# Benchmarks",
        "",
        f"Measured {started} on this machine: **{info['cores']} cores** ({info['cpu']}), "
        f"{info['memory']} RAM, Linux {info['kernel']}, Python {info['python']}, "
        f"Snakemake {info['snakemake']}, influxd {info['influxd']}. "
        f"The machine is shared with other test runs: load average {info['load']} at the "
        f"start, {load_end} at the end. Each number is the median of {a.repeat} runs "
        "[min-max]; *wall* is elapsed seconds, *CPU* the user+sys seconds of the command "
        "and all its children (less disturbed by the other users of the machine).",
        "",
        "Produced by (the whole file, tables and text):",
        "",
        "```sh",
        f".venv/bin/python bench/run_all.py {' '.join(a.argv)}".rstrip(),
        *[f".venv/bin/python bench/run_all.py {' '.join(x['argv'])}   "
          f"# {x['started']}: {', '.join(x['sections'])} measured again"
          for x in getattr(a, "also", [])],
        "```",
        *(["", *[f"- {n}" for n in a.note]] if a.note else []),
        "",
        "The synthetic campaigns come from `ombt-postmortem synth` (real file formats, real "
        "InfluxDB backups written by influxd; see `src/ombt_postmortem/synth.py`).",
        "",
    ]
    if "startup" in r:
        st = r["startup"]
        out += [
            "## 0. Starting snakemake",
            "",
            "`snakemake --version`. snakemake-executor-plugin-slurm (installed for the SLURM "
            "profile) runs `scontrol show config` whenever snakemake starts, local runs "
            "included; with SLURM's client tools installed and no slurmctld answering, that "
            "blocks for seconds. Every other number here is measured with an `scontrol` that "
            "fails at once first on PATH (`--no-hide-slurm` to keep the real one); on a "
            "cluster whose slurmctld answers, the call is quick.",
            "",
            "| command | wall (s) | CPU (s) |",
            "|---|---|---|",
            *[f"| `snakemake --version`, {k} | {fmt(v)} | {fmt(v, 'cpu')} |"
              for k, v in st.items() if not k.startswith("import ")],
            *[f"| `python -c '{k}'`{FIGURE_IMPORT_NOTES.get(k, '')} | {fmt(v)} | "
              f"{fmt(v, 'cpu')} |" for k, v in st.items() if k.startswith("import ")],
            "",
        ]
    if "e2e" in r:
        e = r["e2e"]
        s = e["samples"]
        seq = med(s["sequential"])[0]
        c1, c2 = med(s["cores1"])[0], med(s["cores2"])[0]
        def per_job_of(smp: list[Sample]) -> float:
            return (med(smp, "cpu")[0] - med(s["sequential"], "cpu")[0]) / e["jobs"]

        per_job = per_job_of(s["cores1"])
        stages = ", ".join(f"{k} {float(v):.1f} s" for k, v in s["sequential"][-1].extra.items())
        out += [
            f"## 1. A {e['runs']}-run campaign, end to end",
            "",
            f"`ombt-postmortem synth CAMP {' '.join(E2E_SWEEP)} --seed 1` (48 runs, 1 to 4 "
            "clients and servers, 500 calls each, real `influxdb-data.tar.gz`), then from "
            "nothing to the campaign table (`results/syn/campaign.parquet` and the other "
            f"campaign files: {e['jobs']} jobs; the figures, one campaign-level job, are "
            "left out). Reference: `bench/sequential.py CAMP OUT`, the same library calls "
            "one run after the other in one process (private influxd per run, readiness "
            "polled on /ping).",
            "",
            "| workflow | how | wall (s) | CPU (s) | vs reference (wall) |",
            "|---|---|---|---|---|",
            *[f"| {name} | `snakemake --cores {how[-1]}` | {fmt(smp)} | {fmt(smp, 'cpu')} | "
              f"{med(smp)[0] / seq:.1f}x |"
              for name, v in e.get("variants", {}).items() for how, smp in v.items()],
            f"| current | `snakemake --cores 1` | {fmt(s['cores1'])} | "
            f"{fmt(s['cores1'], 'cpu')} | {c1 / seq:.1f}x |",
            f"| current | `snakemake --cores 2` | {fmt(s['cores2'])} | "
            f"{fmt(s['cores2'], 'cpu')} | {c2 / seq:.1f}x |",
            f"| - | sequential script (reference) | {fmt(s['sequential'])} | "
            f"{fmt(s['sequential'], 'cpu')} | 1.0x |",
            "",
            *[f"- `{name}`: {d}" for name, d in e.get("variant_dirs", {}).items()],
            "",
            f"All {e['runs']} runs `ok`: {e['all_ok']}; campaign table of snakemake --cores 2 "
            f"identical to the reference's: {e['same_table']}"
            + "".join(f"; to {k}'s: {v}" for k, v in e.get("variant_same_table", {}).items())
            + f". Reference time by stage (last run): {stages}.",
            "",
            f"Snakemake costs about **{per_job:.2f} CPU s per job** more than the reference "
            "(CPU of --cores 1 minus the reference's, over the jobs)"
            + "".join(f"; {name}: {per_job_of(v['cores1']):.2f} s"
                      for name, v in e.get("variants", {}).items() if v.get("cores1"))
            + ". Each job is a new Python process: it starts an interpreter, imports "
            "pyarrow (about 0.15 s; pandas, 0.3 s more, no longer) and snakemake's script "
            "preamble (about 0.05 CPU s: one ombt_stats job takes 0.27 CPU s as a plain "
            "program, 0.32 s through `script:`) before doing 20-300 ms of work, and the "
            "main process spends about 0.1 s of bookkeeping per job, which 2 cores do not "
            "overlap.",
            "",
        ]
    if "plan" in r or "noop" in r:
        names = list(b.variants)
        head = "| runs | jobs planned |"
        sep = "|---|---|"
        for what in ("`-n`, nothing done yet", "no-op re-run, all done"):
            for v in names:
                head += f" {what}: {v} wall (CPU) |"
                sep += "---|"
        out += [
            "## 2. Planning and no-op re-runs",
            "",
            f"Campaigns of `synth --runs N {' '.join(PLAN_SWEEP)} --no-influx`. "
            "`-n`: nothing computed yet, InfluxDB stage enabled (2 jobs per run + the table "
            "are planned; the backups are absent, which does not change the planning). "
            "No-op: the ombt stage only (`influx.enabled: false`), every output present and "
            "recorded, `snakemake` answers \"Nothing to be done\".",
            "",
            head,
            sep,
        ]
        for n in a.sizes:
            row = f"| {n} |"
            plan = r.get("plan", {}).get(n, {})
            jobs = next((s.extra.get("jobs") for v in plan.values() for s in v), None)
            row += f" {jobs if jobs is not None else '-'} |"
            for v in names:
                smp = plan.get(v)
                row += f" {fmt(smp)} ({fmt(smp, 'cpu')}) |" if smp else " - |"
            noop = r.get("noop", {}).get(n, {})
            state = noop.get("real") or noop.get("touch") or {}
            for v in names:
                smp = state.get(v)
                row += f" {fmt(smp)} ({fmt(smp, 'cpu')}) |" if smp else " - |"
            out.append(row)
        out.append("")
        for n, noop in r.get("noop", {}).items():
            bits = []
            if "build_real" in noop:
                bits.append(f"made by a real `snakemake --cores 2` run in "
                            f"{noop['build_real'].wall:.0f} s wall ({noop['build_real'].cpu:.0f} "
                            "s CPU)")
            if "build_touch" in noop:
                lib, tch = noop["build_library"], noop["build_touch"]
                bits.append(f"made by the library in {lib.wall:.0f} s (ombt stage "
                            f"{lib.extra['ombt']:.0f} s, campaign table "
                            f"{lib.extra['table']:.0f} s) + `snakemake --touch --forceall` in "
                            f"{tch.wall:.0f} s ({tch.cpu:.0f} s CPU)")
            ok = all(s.extra.get("nothing_to_do") for k in ("real", "touch")
                     for v in noop.get(k, {}).values() for s in v)
            line = f"- {n} runs: processed state {'; '.join(bits)}; every re-run did nothing: {ok}."
            if "real" in noop and "touch" in noop:
                cur = names[-1]
                line += (f" No-op on the real state {fmt(noop['real'][cur])} s, on the touched "
                         f"state {fmt(noop['touch'][cur])} s: the two states cost the same.")
            out.append(line)
        out.append("")
    if "add" in r:
        ad = r["add"]
        out += [
            "## 3. Adding one run to a processed 200-run campaign",
            "",
            "`synth --runs 201` (same sweep as section 1, real InfluxDB backups); params.json "
            "cut to 200 entries and the campaign processed (`snakemake --cores 2`: "
            f"{ad['build_200'].wall:.0f} s wall, {ad['build_200'].cpu:.0f} s CPU); then the "
            "201st entry is put back and `snakemake --cores 2` timed (between repetitions the "
            "run's outputs are removed, params.json cut again and the 200-run table redone).",
            "",
            "| workflow | wall (s) | CPU (s) | jobs run |",
            "|---|---|---|---|",
        ]
        for v, smp in ad["samples"].items():
            jobs = smp[0].extra.get("jobs", {})
            if any(x.extra.get("jobs") != jobs for x in smp):
                jobs = {"differ between repetitions": 0}
            out.append(f"| {v} | {fmt(smp)} | {fmt(smp, 'cpu')} | "
                       f"{', '.join(f'{k} {n}' for k, n in jobs.items())} |")
        out.append("")
    if "parse" in r:
        p = r["parse"]
        s = p["samples"]

        def ex(key: str) -> str:
            vals = [x.extra[key] for x in s]
            m = statistics.median(vals)
            return f"{m:.2f}" if len(vals) == 1 else f"{m:.2f} [{min(vals):.2f}-{max(vals):.2f}]"

        out += [
            "## 4. One controller log of 10 000 agents",
            "",
            "`synth --runs 1 --clients 5000 --servers 5000 --calls 500 --call-types rpc-call "
            f"--no-influx`: a {p['size_mb']:.1f} MB controller log. In a fresh interpreter "
            "set up as the ombt_stats job is (pyarrow, pandas kept out; peak RSS = the "
            "process's VmHWM, in MiB, interpreter included):",
            "",
            "| step | time (s) | peak RSS after (MiB) |",
            "|---|---|---|",
            f"| imports (ombt_postmortem, pyarrow) | - | {ex('rss_imports_mb')} |",
            f"| `parse_controller_log` | {ex('parse_s')} | {ex('rss_parse_mb')} |",
            f"| the ombt_stats job's work: `analyse_run` + `write_run_stats` | {ex('job_s')} | "
            f"{ex('rss_job_mb')} |",
            "",
        ]
    if "table" in r:
        t = r["table"]

        def part(smp: list[Sample], key: str) -> str:
            vals = [x.extra[key] for x in smp]
            m = statistics.median(vals)
            return f"{m:.2f}" if len(vals) == 1 else \
                f"{m:.2f} [{min(vals):.2f}-{max(vals):.2f}]"

        out += [
            f"## 5. The library alone on {t['runs']} runs: per-run files and campaign table",
            "",
            f"`bench/sequential.py CAMP OUT --no-influx` of each checkout on `synth --runs "
            f"{t['runs']} {' '.join(PLAN_SWEEP)} --no-influx`: the ombt stage of every run "
            "(parse, write the 3 parquet files) then the campaign table (read them all back, "
            "write the table and the notebook's JSON), in one process, no Snakemake.",
            "",
            "| checkout | ombt stage (s) | campaign table (s) | whole script wall (s) | CPU (s) |",
            "|---|---|---|---|---|",
            *[f"| {name} | {part(smp, 'ombt')} | {part(smp, 'table')} | {fmt(smp)} | "
              f"{fmt(smp, 'cpu')} |" for name, smp in t["samples"].items()],
            "",
            "Campaign tables (CSV) of the other checkouts equal to the current one's: "
            + (", ".join(f"{k} {v}" for k, v in t["same_table"].items()) or "-") + ".",
            "",
        ]
    out += findings(b)
    out += USAGE
    return "\n".join(out) + "\n"


USAGE = [
    "",
    "## The tools",
    "",
    "- `ombt-postmortem synth OUT --runs N --clients 1,2,4 --servers 1,2 [--call-types "
    "rpc-call,rpc-cast,rpc-fanout,notify] [--calls 500] [--seed S] [--no-influx] "
    "[--agent-logs] [--jobs J]` writes a campaign in the real format: params.json, per run "
    "the controller's output file (per-agent TestResults accumulated exactly like ombt's "
    "`Stats.update`, histogram keys as unsorted strings), its `_docker.log`, optionally the "
    "agents' logs, and a real `influxdb-data.tar.gz` (a private influxd per run fed "
    "Telegraf-schema points through /write, stopped, its meta/data/wal tarred). Same seed, "
    "same JSON and log bytes, and run i does not depend on the runs after it; only the "
    "files influxd writes inside the tars differ between two generations.",
    "- `bench/sequential.py CAMPAIGN OUT [--no-influx]`: the reference, the workflow's "
    "work without Snakemake.",
    "- `bench/run_all.py`: this file. `--quick` for a short run, `--sections`, `--sizes`, "
    "`--variant NAME=DIR` to time another checkout in sections 2 and 3, `--e2e-variant "
    "NAME=DIR` in sections 1 and 5, `--merge` to measure some sections again and keep the "
    "others, `--render results.json` to re-write the report from saved samples.",
    "- Cluster runs: `cluster.runs_per_job` in the config (default 20) is the number of runs "
    "whose `ombt_stats` and `influx_metrics` jobs one cluster job processes (Snakemake group "
    "`per_run`, `--group-components per_run=N`; `--group-components` on the command line or "
    "in a profile wins). A group job asks for the resources of the jobs it runs at once, "
    "bounded by `--cores`/`--resources`: give the profile a `cores:` value (e.g. 8) so that "
    "a 20-run group does not ask for 20 CPUs. Local runs ignore groups.",
]


def findings(b: Bench) -> list[str]:
    """What the numbers say, what this change did about it, what is left."""
    r = b.results
    cur = "current"

    def plan_cpu(name: str, n: int) -> str:
        smp = r.get("plan", {}).get(n, {}).get(name)
        return f"{med(smp, 'cpu')[0]:.1f}" if smp else "?"

    big = max(b.args.sizes)
    out = ["## 6. Findings, changes, what is left", "", "Changed by this work:", ""]
    line = ("- **Per-run file lookups, once per run** (`workflow/rules/common.smk`): the input "
            "functions and params of the two per-run rules resolved the run folder three "
            "times per run (two `Path.resolve` each), listed it with a `stat` per entry "
            "(agent logs included) and `stat`ed the backup; now one `os.scandir` per run, "
            "cached for the DAG's lifetime (same files, same order).")
    if "before" in b.variants and "plan" in r:
        line += (f" Planning {big} runs (`-n`, CPU s): before {plan_cpu('before', big)}, "
                 f"now {plan_cpu(cur, big)}")
        if "no-groups" in b.variants:
            line += (f"; the lookups alone (no groups): {plan_cpu('no-groups', big)}. They "
                     "save a few percent of the planning; computing the groups in a dry run "
                     "costs about as much (below)")
        line += "."
    out.append(line)
    out.append(
        "- **Job grouping for clusters**: `ombt_stats` and `influx_metrics` are in group "
        "`per_run`; `cluster.runs_per_job` (config, default 20) becomes "
        "`--group-components per_run=N` unless the command line or a profile sets it, so "
        f"{big} runs go to the cluster as {-(-big // 20)} jobs instead of {2 * big}. Local "
        "runs are not grouped (Snakemake ignores groups there); dry runs do compute them"
        + (f" (`-n` on {big} runs: {plan_cpu('no-groups', big)} CPU s without groups, "
           f"{plan_cpu(cur, big)} with)." if "no-groups" in b.variants else ".")
    )
    if "e2e" in r:
        e = r["e2e"]
        cur1 = med(e["samples"]["cores1"], "cpu")[0]
        cur2 = med(e["samples"]["cores2"])[0]
        vs = "".join(
            f" {name}: --cores 1 {med(v['cores1'], 'cpu')[0]:.1f} CPU s, --cores 2 "
            f"{med(v['cores2'])[0]:.1f} s wall;" for name, v in e.get("variants", {}).items()
            if v.get("cores1") and v.get("cores2"))
        out.append(
            "- **Per-run jobs without pandas** (`src/ombt_postmortem/arrow_io.py`): the two "
            "per-run jobs build their tables in Arrow and write them with pyarrow; the "
            "scripts call `keep_pandas_out()`, because pyarrow imports pandas at its first "
            "conversion when pandas is installed. The files hold the same values (the "
            "string columns read back as pandas' default `str` instead of `string`). 48 runs"
            f" end to end:{vs} now --cores 1 {cur1:.1f} CPU s, --cores 2 {cur2:.1f} s wall.")
    if "table" in r:
        t = r["table"]["samples"]
        vs = "; ".join(f"{n}: ombt stage {statistics.median(x.extra['ombt'] for x in smp):.1f} s,"
                       f" table {statistics.median(x.extra['table'] for x in smp):.1f} s"
                       for n, smp in t.items())
        out.append(
            "- **Campaign table without pandas per file**: it read each run's three files "
            "with `pd.read_parquet` and grouped each histogram with pandas; it now reads "
            "them with `pq.ParquetFile` (half the time of `pq.read_table` on such small "
            "files) into plain Python values. Same outputs, byte for byte. "
            f"{r['table']['runs']} runs, library alone (section 5): {vs}.")
    if all(f"import {m}" in r.get("startup", {}) for m in FIGURE_IMPORTS):
        st = r["startup"]
        old_imp, new_imp = (med(st[f"import {m}"])[0] for m in FIGURE_IMPORTS)
        out.append(
            "- **No matplotlib when the Snakefile is read**: `figures.smk` imported "
            f"`ombt_postmortem.figures` ({old_imp:.2f} s) to get the figure options and "
            "paths; they now live in `ombt_postmortem.figspec` "
            f"({new_imp:.2f} s), so every snakemake start and every cluster job saves the "
            "difference.")
    out += ["", "Measured and left to the owners of the code concerned:", ""]
    if "e2e" in r:
        s = r["e2e"]["samples"]
        ratio = med(s["cores2"])[0] / med(s["sequential"])[0]
        out.append(
            f"- **Per-job overhead.** At 48 runs `snakemake --cores 2` still takes "
            f"{ratio:.1f}x the time of the sequential script: a fresh Python process per job "
            "(interpreter, snakemake's script preamble, pyarrow) and the main process's "
            "bookkeeping. Running the job scripts through `shell:` as plain programs would "
            "save only the preamble's 0.05 s, at the price of passing every parameter "
            "through argv. Doing both stages of a run in one job would halve the jobs but "
            "merge two stages the design keeps apart (different resources: the InfluxDB "
            "stage's memory and `influx` slots). On a cluster, grouping removes the "
            "per-job submission cost, not this one.")
    if "startup" in r:
        st = r["startup"]
        stall = med(st["real PATH"])[0] - med(st["scontrol hidden"])[0]
        out.append(
            f"- **The SLURM plugin's start-up**: {stall:.1f} s of waiting per snakemake start "
            "while SLURM's `scontrol` cannot reach a slurmctld: snakemake-executor-plugin-slurm "
            "runs `scontrol show config` when it is imported (to word a help text), and "
            "snakemake imports every installed executor plugin, local runs included. Only "
            "machines with SLURM's client tools and no reachable controller pay it (this "
            "one between test runs); a user who never submits to SLURM can leave the `slurm` "
            "extra out. To report upstream.")
    touched = {n: e["build_touch"] for n, e in r.get("noop", {}).items() if "build_touch" in e}
    if touched:
        per = ", ".join(f"{n} runs {1000 * t.cpu / (n + 1):.0f} ms" for n, t in
                        sorted(touched.items()))
        out.append(
            "- **Snakemake's scheduler grows quadratically with the ready jobs**: at every "
            "scheduling round (about jobs / cores rounds) it `stat`s the inputs of every "
            "ready job, through one asyncio task each. Recording a processed campaign with "
            f"`--touch` (no job work at all) costs per job: {per} of CPU. A local "
            "`--cores 2` run of 10 000 runs pays the same on top of its jobs. On a cluster, "
            "`--jobs` and grouping divide the rounds and the ready jobs (20 runs per group job "
            "= 20x fewer).")
    libs = {n: e["build_library"] for n, e in r.get("noop", {}).items() if "build_library" in e}
    if libs:
        n, lib = max(libs.items())
        out.append(
            f"- **The campaign table** of {n} runs took {lib.extra['table']:.0f} s in the "
            f"library alone when section 2 was measured (reading {2 * n} parquet files and "
            f"building the notebook's JSON, against {lib.extra['ombt']:.0f} s for parsing the "
            f"{n} runs); section 5 shows what the pyarrow reading changed since. Adding one "
            "run to a campaign redoes the whole table, on top of the planning above.")
    out.append(
        "- **Snakemake's own planning cost** is ~1-2 ms per job (job objects, params, "
        "checking each job's script source, the conda environment spec of the `conda:` "
        "directive, which is evaluated even without `--use-conda`). No-op re-runs and "
        "adding one run are dominated by it and by start-up at these sizes.")
    out.append(
        "- **InfluxDB restore**: each backup holds influxd 1.6's preallocated series files "
        "(8 x 4 MiB of zeros per database), extracted and written for every run; the "
        "extraction is a large part of an `influx_metrics` job.")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated among {', '.join(SECTIONS)}")
    ap.add_argument("--sizes", default="100,1000,10000", help="runs for plan and noop")
    ap.add_argument("--real-build-max", type=int, default=1000,
                    help="largest campaign processed by a real snakemake run for noop")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="another checkout of the workflow to time too (plan, noop), "
                    "e.g. before=/tmp/base; repeatable")
    ap.add_argument("--e2e-variant", action="append", default=[], metavar="NAME=DIR",
                    help="another checkout to time in the end-to-end section (--cores 1 "
                    "and 2), e.g. before=/tmp/base; repeatable")
    ap.add_argument("--quick", action="store_true", help="--repeat 1 --sizes 100,1000")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "ombt-postmortem-bench")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    ap.add_argument("--no-hide-slurm", dest="hide_slurm", action="store_false",
                    help="keep SLURM's scontrol on PATH (see hide_slurm)")
    ap.add_argument("--render", type=Path, default=None, metavar="JSON",
                    help="only re-write the report from a results JSON of an earlier run")
    ap.add_argument("--note", action="append", default=[],
                    help="a line for the report, e.g. how a --variant was made; repeatable")
    ap.add_argument("--merge", action="store_true",
                    help="replace only the measured sections in --json (kept from an earlier "
                    "run) and write the report from the merged results")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.render is not None:
        return render(args)
    if args.quick:
        args.repeat, args.sizes = 1, "100,1000"
    args.sizes = [int(x) for x in args.sizes.split(",")]
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}")
    if shutil.which("influxd") is None and {"e2e", "add"} & set(sections):
        ap.error("influxd is not on PATH (apt-get install influxdb)")
    info = machine()
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    os.environ["_BENCH_REAL_PATH"] = os.environ.get("PATH", "")
    b = Bench(args)
    if args.hide_slurm:
        b.results["startup"] = startup_cost(args.repeat)
    for name in SECTIONS:
        if name in sections:
            getattr(b, name)()
    load_end = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = report(b, info, started, load_end)
    print(text)
    args.out.write_text(text)
    meta = {"info": info, "started": started, "load_end": load_end, "argv": args.argv,
            "notes": args.note,
            "repeat": args.repeat, "sizes": args.sizes,
            "variants": {k: str(v) for k, v in b.variants.items()}}
    data = {"meta": meta, "results": _plain(b.results)}
    if args.merge and args.json.is_file():
        old = json.loads(args.json.read_text())
        measured = [s for s in (*sections, "startup") if s in data["results"]]
        old["results"].update({s: data["results"][s] for s in measured})
        old["meta"].setdefault("also", []).append(
            {"argv": args.argv, "started": started, "sections": measured})
        notes = old["meta"].setdefault("notes", [])
        notes += [n for n in args.note if n not in notes]
        data = old
    args.json.write_text(json.dumps(data, indent=1))
    if args.merge:
        args.render = args.json
        return render(args)
    return 0


def render(args: argparse.Namespace) -> int:
    """Re-write the report from the JSON of an earlier run (no measurement)."""
    data = json.loads(args.render.read_text())
    meta = data["meta"]
    args.repeat, args.sizes, args.argv = meta["repeat"], meta["sizes"], meta["argv"]
    args.also = meta.get("also", [])
    args.note = meta.get("notes", []) + [n for n in args.note if n not in meta.get("notes", [])]
    args.variant, args.e2e_variant, args.hide_slurm = [], [], False
    b = Bench.__new__(Bench)
    b.args = args
    b.variants = {k: Path(v) for k, v in meta["variants"].items()}
    b.e2e_variants = {k: Path(v) for k, v in
                      data["results"].get("e2e", {}).get("variant_dirs", {}).items()}
    b.results = _samples(data["results"])
    for section in ("plan", "noop"):
        if section in b.results:
            b.results[section] = {int(k): v for k, v in b.results[section].items()}
    text = report(b, meta["info"], meta["started"], meta["load_end"])
    print(text)
    args.out.write_text(text)
    return 0


def _samples(x: Any) -> Any:
    if isinstance(x, dict) and "wall" in x and "cpu" in x:
        extra = {k: v for k, v in x.items() if k not in ("wall", "cpu", "maxrss_mb")}
        return Sample(x["wall"], x["cpu"], x.get("maxrss_mb", 0.0), extra)
    if isinstance(x, dict):
        return {k: _samples(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_samples(v) for v in x]
    return x


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
