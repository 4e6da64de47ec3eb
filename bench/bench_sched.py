#!/usr/bin/env python3
"""What the main Snakemake process costs per job, at 1000 and 10 000 runs (issue 11, item 3).

For each campaign size (``synth --runs N --no-influx``, InfluxDB stage off) and each
variant of Snakemake's options, measured in the same bench run, variants interleaved:

- ``plan``: ``snakemake -n`` in an empty working directory (nothing done yet);
- ``touch``: ``snakemake --touch --forceall`` on the processed state, i.e. the
  scheduler alone (every job selected, none does any work). The touch executor's
  0.1 s sleep per job is patched out, as in ``bench/run_all.py``;
- ``noop``: ``snakemake`` on the processed state (must say "Nothing to be done");
- ``e2e``: a real ``snakemake --cores 2`` run of the per-run stages from an empty
  working directory, stopped (killed, see :func:`run_snakemake`) after
  ``--e2e-jobs`` finished jobs or ``--e2e-seconds`` seconds after the first;
  ``--e2e-jobs 0`` runs to the end (campaign table included).

The processed state is made once per size without doing the jobs' work: the
output and log files listed by the ``-n`` run are created empty, then a first
``--touch --forceall`` records them in Snakemake's metadata (what a real run
records; a plain ``--touch`` finds nothing to do and records nothing).
Nothing reads them: ``noop`` only compares dates and metadata.

How the main process's CPU is measured: snakemake is started directly as a child
of this script (``python -m snakemake``), so its pid is the main process. Its own
CPU (utime + stime of ``/proc/<pid>/stat``, the jobs and the ILP solver excluded:
they are its child processes) is read each time it logs ``Finished jobid``, and,
for a run not stopped, once more after it exited, from the zombie
(``waitid(WNOWAIT)`` before reaping).
"startup" is the main process's CPU when the first job finished (reading the
workflow, building the DAG, the first round); "per job" is the slope from the
first finished job to the last: (CPU at last - CPU at first) / (jobs - 1), so
that a bounded run of the first K jobs of 10 000 runs and one of 1000 runs are
measured alike. "children" is the CPU of the processes it waited for (the jobs'
processes, and the ILP solver's under the default scheduler), per finished job.

Usage (from the repository root)::

    .venv/bin/python bench/bench_sched.py                        # 1000 and 10 000 runs
    .venv/bin/python bench/bench_sched.py --sizes 1000 --reps 3 --e2e-jobs 0
    .venv/bin/python bench/bench_sched.py --synth-args=--agent-logs \\
        --config '{"messages": {"enabled": true}}'              # once that stage exists

Default variants: ``before`` = no workflow profile (``--workflow-profile none``)
plus the old profile's only key, ``--rerun-incomplete``: Snakemake's defaults
(ILP scheduler, no subsampling, a job rate limiter: see ``VARIANTS``);
``after`` = this checkout's ``profiles/default`` (and the workflow dropping the
rate limiter of local runs). ``--variant NAME='FLAGS'`` adds or replaces one.

``--floor`` adds the variant ``floor``, first (so the ratio column is the last
variant over it): Snakemake's own floor for a DAG of that shape, a trivial
Snakefile (:data:`FLOOR`) with the same jobs and files and nothing of ours: per
run, one job of 5 outputs (as run_logs, issue 21; before it, a job of 3 outputs and one
of 2, as ombt_stats and messages were), with one input (the run's folder) and one log,
plain wildcard rules without params, input functions or groups, and one campaign
job over the per-run outputs. It is measured in ``plan`` and ``noop`` (and
``touch``), not in ``e2e``. Each variant has its own processed state (its own
metadata), recorded with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from common import PY, REPO, TOUCH, fmt, median

from ombt_postmortem import layout

CAMPAIGN = "syn"
SWEEP = ["--call-types", "rpc-call,rpc-cast,rpc-fanout,notify", "--clients", "1,2,4,8",
         "--servers", "1,2,4", "--calls", "20", "--no-influx"]
VARIANTS = {
    # Snakemake's defaults (ILP, no subsample, a job rate limiter); 1000/1s because
    # the workflow drops the default 100/1s limiter of local runs (common.smk),
    # and neither limit is ever reached by a few cores
    "before": "--workflow-profile none --rerun-incomplete --max-jobs-per-timespan 1000/1s",
    "after": "",
}
FLOOR = """\
# bench/bench_sched.py --floor: the workflow's DAG shape, nothing of the workflow's own
import os

CAMPAIGN = config["campaigns"]["{campaign}"]
RUNS = sorted(e.name for e in os.scandir(CAMPAIGN) if e.is_dir())
RUN_DIR = "results/{campaign}/runs/{{run}}/"


rule campaign:
    input:
        expand(RUN_DIR + "{{name}}", run=RUNS, name={per_run_names!r}),
    output:
        {campaign_files!r},
    shell:
        "touch {{output}}"


rule logs:
    input:
        CAMPAIGN + "/{{run}}",
    output:
        {logs_names!r},
    log:
        "results/{campaign}/logs/logs/{{run}}.log",
    shell:
        "touch {{output}} {{log}}"
"""
TICK = os.sysconf("SC_CLK_TCK")
FINISHED = re.compile(r"Finished jobid: \d+")


def proc_cpu(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of the waited-for children) of ``pid``, seconds, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after "pid (comm)": state is fields[0]; utime, stime, cutime, cstime = 14..17 (1-based)
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) / TICK, (cut + cst) / TICK


@dataclass
class Sample:
    wall: float
    main_cpu: float  # main process, own CPU
    child_cpu: float  # processes it waited for (jobs, ILP solver)
    jobs: int = 0  # "Finished jobid" lines
    first: tuple[float, float] | None = None  # (wall, main CPU) at the first finished job
    last: tuple[float, float] | None = None  # ... at the last one
    warm: tuple[int, float, float] | None = None  # (jobs, wall, main CPU) at the warm-up job
    returncode: int = 0
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_job_ms(self) -> float | None:
        if self.first is None or self.last is None or self.jobs < 2:
            return None
        return 1000 * (self.last[1] - self.first[1]) / (self.jobs - 1)

    @property
    def wall_per_job_ms(self) -> float | None:
        if self.first is None or self.last is None or self.jobs < 2:
            return None
        return 1000 * (self.last[0] - self.first[0]) / (self.jobs - 1)

    @property
    def steady_ms(self) -> float | None:
        """Main CPU per job from the warm-up job to the last one."""
        if self.warm is None or self.last is None or self.jobs <= self.warm[0]:
            return None
        return 1000 * (self.last[1] - self.warm[2]) / (self.jobs - self.warm[0])

    @property
    def startup(self) -> float | None:
        return None if self.first is None else self.first[1]


def run_snakemake(cmd: list[str], cwd: Path, log: Path, *, max_jobs: int = 0,
                  max_seconds: float = 0.0, warmup: int = 0) -> Sample:
    """Run snakemake and follow its log; stop it after ``max_jobs`` finished jobs or
    ``max_seconds`` after its first finished job; return the main process's CPU.

    Stopping kills the whole process group (SIGKILL) right after reading the CPU
    at the last finished job: Snakemake 9.27's SIGTERM handler takes the
    scheduler's lock, which deadlocks when the signal arrives while the main
    thread holds it (seen here), and a stopped run's state is thrown away anyway.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)
    sample = Sample(0.0, 0.0, 0.0)
    deadline = float("inf")
    assert proc.stdout is not None
    with log.open("w") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        for line in proc.stdout:
            out.write(line)
            if FINISHED.search(line):
                sample.jobs += 1
                now = time.monotonic() - t0
                main, children = proc_cpu(proc.pid)
                sample.last = (now, main)
                sample.child_cpu = children
                if warmup and sample.jobs == warmup:
                    sample.warm = (sample.jobs, now, main)
                if sample.first is None:
                    sample.first = sample.last
                    if max_seconds:
                        deadline = now + max_seconds
                if (max_jobs and sample.jobs >= max_jobs) or now >= deadline:
                    sample.stopped = True
                    sample.main_cpu = main
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
    if not sample.stopped:
        # the main process has closed its output: read its CPU as a zombie, then reap it
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        sample.main_cpu, sample.child_cpu = proc_cpu(proc.pid)
    sample.wall = time.monotonic() - t0
    sample.returncode = proc.wait()
    if sample.stopped:
        proc.stdout.close()
        # the jobs' processes are in the group too; wait until none is left
        for _ in range(100):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    elif sample.returncode != 0:
        raise RuntimeError(f"snakemake failed ({sample.returncode}), see {log}")
    return sample


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work.resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.variants = dict(VARIANTS)
        for spec in args.variant:
            name, sep, flags = spec.partition("=")
            if not sep:
                raise SystemExit(f"--variant {spec!r}: expected NAME='FLAGS'")
            self.variants[name] = flags
        if args.variants:  # which ones, in this order (the ratio: last / first)
            unknown = [n for n in args.variants if n not in self.variants]
            if unknown:
                raise SystemExit(f"--variants: unknown {unknown}; known: {list(self.variants)}")
            self.variants = {n: self.variants[n] for n in args.variants}
        if args.floor:  # first: the ratio column is the last variant over it
            # with this checkout's profile (the floor's own folder has none)
            self.variants = {"floor": f"--snakefile {self.write_floor()} --workflow-profile "
                                      f"{REPO / 'profiles' / 'default'}", **self.variants}
        self.touch_py = self.work / "touch.py"
        self.touch_py.write_text(TOUCH)
        # snakemake-executor-plugin-slurm runs `scontrol show config` at every start;
        # with SLURM's client tools but no controller it waits ~9 s (see run_all.py)
        bin_dir = self.work / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "scontrol").write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / "scontrol").chmod(0o755)
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
        self.samples: dict[str, Any] = {}
        # -n -q: the job counts without the per-job listing (which the processed state of
        # noop and touch is made from)
        self.plan_flags = ["-n", "-q"] if args.quiet_plan else ["-n"]
        if args.quiet_plan and {"noop", "touch"} & set(args.sections):
            raise SystemExit("--quiet-plan: with --sections plan (and e2e) only; the "
                             "processed state of noop and touch is made from -n's listing")

    def write_floor(self) -> Path:
        """The trivial Snakefile of ``--floor`` (:data:`FLOOR`), same file names."""
        stats = [layout.OMBT, layout.AGENTS, layout.HIST]
        messages = [layout.MESSAGES, layout.TIMELINE]
        run_dir = f"results/{CAMPAIGN}/runs/{{run}}/"
        path = self.work / "floor" / "Snakefile"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FLOOR.format(
            campaign=CAMPAIGN, per_run_names=stats + messages,
            campaign_files=[str(p) for p in
                            layout.CampaignDir.of("results", CAMPAIGN).campaign_files().values()],
            logs_names=[run_dir + n for n in stats + messages]))
        return path

    def log(self, msg: str) -> None:
        print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

    # ----------------------------------------------------------------------- set-ups

    def campaign(self, runs: int) -> Path:
        out = self.work / f"campaign-{runs}"
        args = ["--runs", str(runs), *SWEEP, *self.args.synth_args]
        stamp = out / ".bench-synth-args"
        if stamp.is_file() and stamp.read_text() == json.dumps(args):
            return out
        if out.exists():
            shutil.rmtree(out)
        self.log(f"synth {runs} runs: {' '.join(args)}")
        subprocess.run([PY, "-m", "ombt_postmortem.cli", "synth", str(out), *args], check=True,
                       stdout=subprocess.DEVNULL)
        stamp.write_text(json.dumps(args))
        return out

    def workdir(self, runs: int, name: str, campaign: Path) -> Path:
        wd = self.work / f"w{runs}" / name
        wd.mkdir(parents=True, exist_ok=True)
        cfg: dict[str, Any] = {"campaigns": {"example": None, CAMPAIGN: str(campaign)},
                               "results_dir": "results", "influx": {"enabled": False}}
        for extra in self.args.config:
            cfg.update(yaml.safe_load(extra))
        (wd / "bench-config.yaml").write_text(yaml.safe_dump(cfg))
        return wd

    @staticmethod
    def clean(wd: Path) -> None:
        for sub in ("results", ".snakemake"):
            if (wd / sub).exists():
                shutil.rmtree(wd / sub)

    def cmd(self, wd: Path, variant: str, *args: str, touch: bool = False) -> list[str]:
        # touch: the onsuccess hook would read the empty campaign table
        head = [PY, str(self.touch_py), "--no-hooks"] if touch else [PY, "-m", "snakemake"]
        return [*head, *self.args.targets, "--snakefile", str(REPO / "Snakefile"),
                "--directory", str(wd), "--configfile", str(wd / "bench-config.yaml"),
                "--cores", str(self.args.cores), *shlex.split(self.variants[variant]), *args]

    def make_state(self, wd: Path, plan_log: Path) -> int:
        """Create every output and log file that the -n run listed, empty."""
        made = 0
        for line in plan_log.read_text().splitlines():
            key, sep, files = line.strip().partition(": ")
            if sep and key in ("output", "log"):
                for name in files.split(", "):
                    path = wd / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                    made += 1
        return made

    def restore(self, wd: Path, variant: str) -> None:
        """After a killed run: unlock, then record every output again."""
        subprocess.run([*self.cmd(wd, variant, "--unlock")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_snakemake(self.cmd(wd, variant, "--touch", "--rerun-incomplete", touch=True), wd,
                      wd / "record-again.log")

    # ----------------------------------------------------------------------- sections

    def size(self, runs: int) -> None:
        a = self.args
        camp = self.campaign(runs)
        res: dict[str, Any] = self.samples.setdefault(str(runs), {})
        names = list(self.variants)
        plan_wd = self.workdir(runs, "plan", camp)
        e2e_wd = self.workdir(runs, "e2e", camp)
        if "plan" in a.sections or "noop" in a.sections or "touch" in a.sections:
            self.clean(plan_wd)
            for rep in range(a.reps):
                for v in names:
                    s = run_snakemake(self.cmd(plan_wd, v, *self.plan_flags), plan_wd,
                                      plan_wd / f"plan-{v}-{rep}.log")
                    text = (plan_wd / f"plan-{v}-{rep}.log").read_text()
                    m = re.search(r"^total\s+(\d+)", text, re.M)
                    s.extra["jobs planned"] = int(m.group(1)) if m else None
                    res.setdefault("plan", {}).setdefault(v, []).append(s)
                    self.log(f"{runs} runs, {' '.join(self.plan_flags)}, {v}: wall "
                             f"{s.wall:.1f} s, main CPU {s.main_cpu:.1f} s, "
                             f"{s.extra['jobs planned']} jobs")
        if "noop" in a.sections or "touch" in a.sections:
            # one processed state per variant, recorded with it: its params, its files
            state = {v: self.workdir(runs, f"state-{v}", camp) for v in names}
            for v in names:
                self.clean(state[v])
                made = self.make_state(state[v], plan_wd / f"plan-{v}-0.log")
                self.log(f"{runs} runs, {v}: {made} empty outputs and logs; recording them "
                         "(--touch --forceall)")
                # --forceall: a plain --touch finds every output present and newer than its
                # inputs, "Nothing to be done", and records no metadata; a real run records
                # one metadata record per output, which every later run reads
                s = run_snakemake(self.cmd(state[v], v, "--touch", "--forceall", touch=True),
                                  state[v], state[v] / "record.log")
                res.setdefault("record", {})[v] = [s]
            for rep in range(a.touch_reps if "touch" in a.sections else 0):
                for v in names:
                    s = run_snakemake(self.cmd(state[v], v, "--touch", "--forceall",
                                               touch=True),
                                      state[v], state[v] / f"touch-{v}-{rep}.log",
                                      max_seconds=a.touch_seconds)
                    res.setdefault("touch", {}).setdefault(v, []).append(s)
                    self.log(f"{runs} runs, --touch --forceall, {v}: {s.jobs} jobs, main CPU "
                             f"{s.main_cpu:.1f} s, per job {s.per_job_ms or 0:.1f} ms"
                             + (" (stopped)" if s.stopped else ""))
                    if s.stopped:  # put the state back in order for the next ones
                        self.restore(state[v], v)
            for rep in range(a.reps):
                for v in names:
                    log = state[v] / f"noop-{v}-{rep}.log"
                    s = run_snakemake(self.cmd(state[v], v), state[v], log)
                    s.extra["nothing to be done"] = "Nothing to be done" in log.read_text()
                    res.setdefault("noop", {}).setdefault(v, []).append(s)
                    self.log(f"{runs} runs, no-op, {v}: wall {s.wall:.1f} s, main CPU "
                             f"{s.main_cpu:.1f} s, nothing to be done: "
                             f"{s.extra['nothing to be done']}")
        if "e2e" in a.sections:
            reps = a.e2e_reps if runs <= a.e2e_full_reps_upto else 1
            for rep in range(reps):
                for v in (n for n in names if n != "floor"):
                    self.clean(e2e_wd)
                    s = run_snakemake(self.cmd(e2e_wd, v), e2e_wd, e2e_wd / f"e2e-{v}-{rep}.log",
                                      max_jobs=a.e2e_jobs, max_seconds=a.e2e_seconds,
                                      warmup=a.e2e_warmup)
                    res.setdefault("e2e", {}).setdefault(v, []).append(s)
                    self.log(f"{runs} runs, --cores {a.cores}, {v}: {s.jobs} jobs, startup "
                             f"{s.startup or 0:.1f} s, main CPU per job {s.per_job_ms or 0:.1f} ms,"
                             f" after job {a.e2e_warmup}: {s.steady_ms or 0:.1f} ms,"
                             f" children per job "
                             f"{1000 * s.child_cpu / max(s.jobs, 1):.0f} ms")
            self.clean(e2e_wd)

    # ----------------------------------------------------------------------- report

    def table(self) -> str:
        sizes = [str(n) for n in self.args.sizes]
        names = list(self.variants)
        rows = ["| runs | measure | " + " | ".join(names) + " | ratio "
                + f"{names[-1]}/{names[0]} |",
                "|---|---|" + "---|" * (len(names) + 1)]

        def row(size: str, label: str, values: dict[str, list[float | None]]) -> None:
            meds = {v: median(values.get(v, [])) for v in names}
            a, b = meds[names[0]], meds[names[-1]]
            ratio = f"{b / a:.2f}" if a and b is not None else "-"
            rows.append(f"| {size} | {label} | "
                        + " | ".join(fmt(values.get(v, [])) for v in names) + f" | {ratio} |")

        for size in sizes:
            res = self.samples.get(size, {})
            if "plan" in res:
                p = res["plan"]
                jobs = p[names[0]][0].extra["jobs planned"]
                plan = f"`{' '.join(self.plan_flags)}`"
                plan += f" ({jobs} jobs)" if jobs else ""  # -q does not print the count
                row(size, f"{plan}: wall s", {v: [s.wall for s in p[v]] for v in p})
                row(size, f"{plan.split(' (')[0]}: main CPU s",
                    {v: [s.main_cpu for s in p[v]] for v in p})
            if "touch" in res:
                t = res["touch"]
                jobs = {v: [s.jobs for s in t[v]] for v in t}
                label = "`--touch --forceall`: main CPU per job ms (jobs done: " + ", ".join(
                    f"{v} {'/'.join(map(str, jobs[v]))}" for v in t) + ")"
                row(size, label, {v: [s.per_job_ms for s in t[v]] for v in t})
            if "noop" in res:
                n = res["noop"]
                ok = all(s.extra["nothing to be done"] for v in n for s in n[v])
                row(size, f"no-op re-run (nothing to be done: {ok}): wall s",
                    {v: [s.wall for s in n[v]] for v in n})
                row(size, "no-op re-run: main CPU s", {v: [s.main_cpu for s in n[v]] for v in n})
            if "e2e" in res:
                e = res["e2e"]
                jobs = {v: [s.jobs for s in e[v]] for v in e}
                bound = ("to the end" if not self.args.e2e_jobs else
                         f"stopped after {self.args.e2e_jobs} jobs")
                if self.args.e2e_seconds:
                    bound += f" or {self.args.e2e_seconds:.0f} s"
                row(size, f"`--cores {self.args.cores}` ({bound}; jobs done: "
                    + ", ".join(f"{v} {'/'.join(map(str, jobs[v]))}" for v in e)
                    + "): main CPU per job ms, from the first job", {v: [s.per_job_ms for s in e[v]]
                                                                      for v in e})
                row(size, f"... main CPU per job ms, from job {self.args.e2e_warmup} on (every "
                    "ready job has been looked at once)",
                    {v: [s.steady_ms for s in e[v]] for v in e})
                row(size, "... main CPU until the first job finished (start-up, DAG) s",
                    {v: [s.startup for s in e[v]] for v in e})
                row(size, "... CPU of its child processes (jobs, ILP solver) per job ms",
                    {v: [1000 * s.child_cpu / max(s.jobs, 1) for s in e[v]] for v in e})
                row(size, "... wall per job ms", {v: [s.wall_per_job_ms for s in e[v]] for v in e})
        # flatness: the per-job figures of the largest size against the smallest
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            for section, attr in (("e2e", "per_job_ms"), ("e2e", "steady_ms"),
                                  ("touch", "per_job_ms")):
                for v in names:
                    a = median([getattr(s, attr) for s in
                                self.samples.get(lo, {}).get(section, {}).get(v, [])])
                    b = median([getattr(s, attr) for s in
                                self.samples.get(hi, {}).get(section, {}).get(v, [])])
                    what = {"per_job_ms": "main CPU per job",
                            "steady_ms": "main CPU per job after the warm-up"}[attr]
                    if a and b:
                        rows.append(f"| {hi}/{lo} | {section}: {what}, ratio | "
                                    + " | ".join(f"{b / a:.2f}" if n == v else "" for n in names)
                                    + " | |")
        return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--sections", nargs="+", default=["plan", "touch", "noop", "e2e"],
                    choices=["plan", "touch", "noop", "e2e"])
    ap.add_argument("--reps", type=int, default=3, help="repetitions of -n and no-op (3)")
    ap.add_argument("--touch-reps", type=int, default=1,
                    help="repetitions of --touch --forceall (1)")
    ap.add_argument("--touch-seconds", type=float, default=90,
                    help="stop --touch --forceall this long after its first job (90; 0: never)")
    ap.add_argument("--e2e-jobs", type=int, default=250,
                    help="stop the real run after this many jobs (250; 0: run to the end)")
    ap.add_argument("--e2e-seconds", type=float, default=240,
                    help="... or this long after its first job (240; 0: never)")
    ap.add_argument("--e2e-warmup", type=int, default=100,
                    help="also give the main CPU per job from this job on (100)")
    ap.add_argument("--e2e-reps", type=int, default=3, help="repetitions of the real run (3)")
    ap.add_argument("--e2e-full-reps-upto", type=int, default=1000,
                    help="larger campaigns get one repetition of the real run (1000)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME='snakemake flags' (default: before, after; see the docstring)")
    ap.add_argument("--variants", nargs="+", default=None,
                    help="the variants to run, in this order (default: all; the ratio "
                         "column is the last over the first). E.g. another checkout's "
                         "workflow: --variant base='--snakefile OTHER/Snakefile' "
                         "--variants base after (the last --snakefile wins)")
    ap.add_argument("--floor", action="store_true",
                    help="also measure Snakemake's floor: a trivial Snakefile of the same "
                         "DAG shape (see the docstring), first variant")
    ap.add_argument("--quiet-plan", action="store_true",
                    help="plan with `-n -q` (job counts only), with --sections plan")
    ap.add_argument("--synth-args", action="append", default=[],
                    help="more arguments of `synth` (e.g. --synth-args=--agent-logs)")
    ap.add_argument("--config", action="append", default=[],
                    help="YAML mapping merged into the config's top level")
    ap.add_argument("--targets", nargs="*", default=None,
                    help="snakemake targets (default: the campaign table's files, as in "
                         "bench/run_all.py: no figures)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-sched"))
    ap.add_argument("--keep", action="store_true", help="keep --work (default: deleted)")
    ap.add_argument("--json", type=Path, help="also write the raw samples here")
    args = ap.parse_args()
    if args.targets is None:
        args.targets = [str(path) for path in
                        layout.CampaignDir.of("results", CAMPAIGN).campaign_files().values()]
    bench = Bench(args)
    try:
        for runs in args.sizes:
            bench.size(runs)
            print(bench.table(), flush=True)
    finally:
        if args.json:
            args.json.write_text(json.dumps(
                {"date": dt.datetime.now(dt.UTC).isoformat(), "argv": sys.argv,
                 "variants": bench.variants,
                 "samples": {size: {sec: {v: [s.__dict__ | {"per_job_ms": s.per_job_ms,
                                                  "steady_ms": s.steady_ms}
                                              for s in ss] for v, ss in d.items()}
                                    for sec, d in res.items()}
                             for size, res in bench.samples.items()}},
                indent=1, default=str))
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
