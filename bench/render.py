#!/usr/bin/env python3
"""Fill the tables of docs/benchmarks.md from the benches' records.

    .venv/bin/python bench/render.py            # re-write the tables in docs/benchmarks.md
    .venv/bin/python bench/render.py --check    # exit 1 if the document's tables are stale

The document is hand-written markdown. Each generated block sits between two markers::

    <!-- table: e2e -->
    ...rendered here, replaced at every render...
    <!-- /table -->

and everything outside the markers is left as it is. The ids are the keys of
``TABLES`` and ``RECORD_TABLES`` (and ``goals``); a marker naming another id is an
error. Numbers are the median of the recorded samples with [min-max] (a single
sample is shown alone); ratios are taken between medians unless a table says "per
round". A table whose measurements are absent renders as "not measured".

Two kinds of input:

- bench/results.json (format 2, written by bench/run_all.py), for the ids of ``TABLES``::

    {"format": 2,
     "runs": [{"id", "started", "commit", "argv", "repeat", "machine", "load_start",
               "load_end", "variants", "e2e_variants", "notes"}, ...],
     "sections": {"<section>": {"run": "<run id>", "data": <raw samples>}, ...}}

  A sample is ``{"wall": s, "cpu": s, "maxrss_mb": MiB, ...extra keys}``.

- bench/results/<bench>.json (format 3, ``common.Record``: bench_jobs.py,
  bench_parallel.py, bench_sched.py), for the ids of ``RECORD_TABLES`` and ``goals``;
  each block opens with the record's header line (command, date, commit, load at the
  start and at the end, machine) and holds the tables the bench prints.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import common

REPO = Path(__file__).resolve().parents[1]
FORMAT = 2
RECORDS = REPO / "bench" / "results"
RECORD_FORMAT = 3
#: a marked block: both markers alone on their lines
MARKER = re.compile(r"^<!-- table: (?P<id>[\w-]+) -->\n(?P<body>.*?)^<!-- /table -->$", re.S | re.M)
OPENING = re.compile(r"^<!-- table: ", re.M)

Sample = dict[str, Any]


# --------------------------------------------------------------------------- numbers


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


fmt_values = common.fmt  # ``median [min-max]``, the value alone if there is one


def fmt(samples: list[Sample] | None, key: str = "wall") -> str:
    return fmt_values([float(s[key]) for s in samples]) if samples else "-"


def med(samples: list[Sample], key: str = "wall") -> float:
    return median(float(s[key]) for s in samples)


def table(head: list[str], rows: list[list[Any]]) -> str:
    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def code(text: str) -> str:
    """``text`` as a markdown code span (doubled backticks when it holds one)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def by_size(d: dict[str, Any]) -> list[tuple[int, Any]]:
    return sorted((int(k), v) for k, v in d.items())


# --------------------------------------------------------------------------- tables


def without_notes(argv: list[str]) -> list[str]:
    """``argv`` without its ``--note TEXT`` pairs (the notes are listed under the table)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--note":
            skip = True
        elif not arg.startswith("--note="):
            out.append(arg)
    return out


def t_runs(data: dict[str, Any]) -> str:
    shown: dict[str, list[str]] = {}
    for name, sec in data["sections"].items():
        shown.setdefault(sec["run"], []).append(name)
    rows = [[r["started"], f"`{r['commit']}`",
             r.get("repeat", "-"), code(" ".join(["bench/run_all.py", *without_notes(r["argv"])])),
             ", ".join(shown.get(r["id"], [])) or "-", r.get("load_start") or "-",
             r.get("load_end") or "-"] for r in data["runs"]]
    out = table(["measured", "commit", "repetitions", "command", "sections shown",
                 "load average at start", "at end"], rows)
    notes = [textwrap.fill(f"- {r['started']}: {n}", 95, subsequent_indent="  ",
                           break_long_words=False, break_on_hyphens=False)
             for r in data["runs"] for n in r.get("notes", [])]
    return out + ("\n\n" + "\n".join(notes) if notes else "")


MACHINE_KEYS = ("cores", "cpu", "memory", "kernel", "python", "snakemake", "influxd")


def t_machine(data: dict[str, Any]) -> str:
    rows: dict[tuple[str, ...], list[str]] = {}
    for r in data["runs"]:
        key = tuple(str(r["machine"].get(k, "unknown")) for k in MACHINE_KEYS)
        rows.setdefault(key, []).append(r["started"])
    return table(["cores", "CPU", "memory", "kernel", "Python", "Snakemake", "influxd", "runs"],
                 [[*k, ", ".join(v)] for k, v in rows.items()])


def t_startup(d: dict[str, Any]) -> str:
    rows = []
    for k, v in d.items():
        label = (f"`python -c '{k}'`" if k.startswith("import ")
                 else f"`snakemake --version`, {k}")
        rows.append([label, fmt(v), fmt(v, "cpu")])
    return table(["command", "wall (s)", "CPU (s)"], rows)


def t_e2e(e: dict[str, Any]) -> str:
    s = e["samples"]
    seq_wall, seq_cpu = med(s["sequential"]), med(s["sequential"], "cpu")
    jobs = e["jobs"]

    def row(name: str, how: str, smp: list[Sample]) -> list[str]:
        return [name, f"`snakemake --cores {how[-1]}`", fmt(smp), fmt(smp, "cpu"),
                f"{med(smp) / seq_wall:.1f}x", f"{(med(smp, 'cpu') - seq_cpu) / jobs:.2f}"]

    rows = [row(name, how, smp) for name, v in e.get("variants", {}).items()
            for how, smp in v.items()]
    rows += [row("current", how, s[how]) for how in ("cores1", "cores2")]
    rows.append(["-", "sequential script (reference)", fmt(s["sequential"]),
                 fmt(s["sequential"], "cpu"), "1.0x", "-"])
    return table(["workflow", "how", "wall (s)", "CPU (s)", "vs reference (wall)",
                  f"CPU per job over the reference (s, {jobs} jobs)"], rows)


def t_e2e_checks(e: dict[str, Any]) -> str:
    last = e["samples"]["sequential"][-1]
    stages = ", ".join(f"{k} {float(v):.1f} s" for k, v in last.items()
                       if k not in ("wall", "cpu", "maxrss_mb"))
    rows = [["runs", e["runs"]], ["jobs", e["jobs"]], ["all runs `ok`", e["all_ok"]],
            ["campaign table of `--cores 2` identical to the reference's", e["same_table"]]]
    rows += [[f"... identical to {k}'s", v] for k, v in e.get("variant_same_table", {}).items()]
    rows += [[f"checkout `{k}`", v] for k, v in e.get("variant_dirs", {}).items()]
    rows.append(["reference time by stage (last repetition)", stages])
    return table(["check", "result"], rows)


def t_plan_noop(data: dict[str, Any]) -> str:
    plan, noop = data.get("plan", {}), data.get("noop", {})
    names: list[str] = []
    for per_size in (*plan.values(), *(st for e in noop.values() for k, st in e.items()
                                        if k in ("real", "touch"))):
        names += [v for v in per_size if v not in names]
    rows = []
    for n in sorted({int(k) for k in (*plan, *noop)}):
        p = plan.get(str(n), {})
        jobs = next((s.get("jobs") for v in p.values() for s in v), None)
        e = noop.get(str(n), {})
        state = e.get("real") or e.get("touch") or {}
        for what, per_variant in (("`-n`, nothing done yet", p),
                                  ("no-op re-run, all done", state)):
            if per_variant:
                rows.append([n, "-" if jobs is None else jobs, what,
                             *(f"{fmt(per_variant[v])} ({fmt(per_variant[v], 'cpu')})"
                               if per_variant.get(v) else "-" for v in names)])
    return table(["runs", "jobs planned", "measure", *(f"{v}: wall (CPU) s" for v in names)],
                 rows)


def t_noop_states(noop: dict[str, Any]) -> str:
    rows = []
    for n, e in by_size(noop):
        for state in ("real", "touch"):
            if state not in e:
                continue
            re_runs = e[state]
            cur = re_runs.get("current") or list(re_runs.values())[-1]
            did_nothing = all(s.get("nothing_to_do") for v in re_runs.values() for s in v)
            if state == "real":
                b = e["build_real"]
                made = "a real `snakemake --cores 2` run"
                cost = f"{b['wall']:.2f} ({b['cpu']:.2f})"
                per_job = "-"
            else:
                lib, tch = e["build_library"], e["build_touch"]
                made = (f"the library (ombt stage {float(lib['ombt']):.2f} s, table "
                        f"{float(lib['table']):.2f} s), then `--touch --forceall`")
                cost = (f"{lib['wall']:.2f} ({lib['cpu']:.2f}) + {tch['wall']:.2f} "
                        f"({tch['cpu']:.2f})")
                per_job = f"{1000 * tch['cpu'] / (n + 1):.0f}"
            rows.append([n, made, cost, per_job, did_nothing,
                         f"{fmt(cur)} ({fmt(cur, 'cpu')})"])
    return table(["runs", "processed state made by", "making it: wall (CPU) s",
                  "`--touch` CPU per job (ms)", "every no-op re-run did nothing",
                  "no-op re-run on it, current: wall (CPU) s"], rows)


def t_add(a: dict[str, Any]) -> str:
    b = a["build_200"]
    rows = [["process the 200 runs (`snakemake --cores 2`, once)", f"{b['wall']:.2f}",
             f"{b['cpu']:.2f}", "-"]]
    for v, smp in a["samples"].items():
        jobs = smp[0].get("jobs", {})
        if any(x.get("jobs") != jobs for x in smp):
            jobs = {"differ between repetitions": 0}
        rows.append([f"add the 201st run: {v}", fmt(smp), fmt(smp, "cpu"),
                     ", ".join(f"{k} {n}" for k, n in jobs.items())])
    return table(["step", "wall (s)", "CPU (s)", "jobs run"], rows)


def t_parse(p: dict[str, Any]) -> str:
    s = p["samples"]

    def ex(key: str) -> str:
        return fmt(s, key)

    return table(["step", "time (s)", "peak RSS after (MiB)"], [
        ["imports (ombt_postmortem, pyarrow)", "-", ex("rss_imports_mb")],
        [f"`parse_controller_log` ({p['size_mb']:.1f} MB log)", ex("parse_s"),
         ex("rss_parse_mb")],
        ["the controller statistics' work: `analyse_run` + `write_run_stats`", ex("job_s"),
         ex("rss_job_mb")],
    ])


def t_table(t: dict[str, Any]) -> str:
    same = t.get("same_table", {})
    rows = [[name, fmt(smp, "ombt"), fmt(smp, "table"), fmt(smp), fmt(smp, "cpu"),
             same.get(name, "-")] for name, smp in t["samples"].items()]
    return table(["checkout", "ombt stage (s)", "campaign table (s)", "whole script wall (s)",
                  "CPU (s)", "campaign.csv equal to current's"], rows)


def _section(name: str, fn: Callable[[Any], str]) -> Callable[[dict[str, Any]], str | None]:
    def render(data: dict[str, Any]) -> str | None:
        sec = data["sections"].get(name)
        return None if sec is None else fn(sec["data"])
    return render


def _plan_noop(data: dict[str, Any]) -> str | None:
    secs = {k: data["sections"][k]["data"] for k in ("plan", "noop") if k in data["sections"]}
    return t_plan_noop(secs) if secs else None


#: table id -> renderer of the whole results (None: the section was not measured)
TABLES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "runs": t_runs,
    "machine": t_machine,
    "startup": _section("startup", t_startup),
    "e2e": _section("e2e", t_e2e),
    "e2e-checks": _section("e2e", t_e2e_checks),
    "plan-noop": _plan_noop,
    "noop-states": _section("noop", t_noop_states),
    "add": _section("add", t_add),
    "parse": _section("parse", t_parse),
    "table": _section("table", t_table),
}
#: the tables of each section of bench/run_all.py, to print after a measurement
SECTION_TABLES = {"startup": ["startup"], "e2e": ["e2e", "e2e-checks"], "plan": ["plan-noop"],
                  "noop": ["plan-noop", "noop-states"], "add": ["add"], "parse": ["parse"],
                  "table": ["table"]}


# --------------------------------------------------------------------------- records

Record = dict[str, Any]


def header(rec: Record) -> str:
    """The record's header line: command, date, commit, load, machine."""
    m = rec.get("machine", {})

    def avg(x: Any) -> str:
        return " ".join(f"{v:g}" for v in x) if isinstance(x, list) else str(x or "-")

    cmd = " ".join([f"bench/bench_{rec['bench']}.py", *rec.get("argv", [])])
    return (f"{code(cmd)}:\nstarted {rec['started']}, commit `{rec['commit']}`; "
            f"load average (1, 5, 15 min) {avg(rec.get('load_start'))} at the start, "
            f"{avg(rec.get('load_end'))} at the end;\n{m.get('cores', '?')} CPUs "
            f"({m.get('cpu', '?')}), Python {m.get('python', '?')}, "
            f"Snakemake {m.get('snakemake', '?')}.")


def groups(rows: list[Record], key: str) -> dict[str, list[Record]]:
    """``rows`` having ``key``, by its value, in the order of first appearance."""
    out: dict[str, list[Record]] = {}
    for r in rows:
        if key in r:
            out.setdefault(str(r[key]), []).append(r)
    return out


def r_jobs(rec: Record) -> str:
    by_stage = groups(rec["rows"], "stage")
    rows = []
    for stage, rs in by_stage.items():
        job = [float(r["job_cpu"]) for r in rs]
        one = [float(r["in_process_cpu"]) for r in rs]
        rows.append([stage, len(rs), fmt_values(job, 3), fmt_values(one, 3),
                     fmt_values([j - o for j, o in zip(job, one, strict=True)], 3)])
    out = table(["job", "samples (runs x rounds)", "CPU as a job (s)",
                 "CPU in one process (s)", "job's own cost: the difference, per sample (s)"],
                rows)
    imports = [[code(str(r["imports"])) if r["imports"].startswith("python") else r["imports"],
                len(r["cpu"]), fmt_values([float(x) for x in r["cpu"]], 3)]
               for r in rec["rows"] if "imports" in r]
    if imports:
        out += "\n\n" + table(["imports of", "processes", "CPU (s)"], imports)
    return out


def parallel_rounds(rec: Record) -> dict[str, dict[int, Record]]:
    """variant -> round -> its row."""
    return {v: {int(r["round"]): r for r in rs}
            for v, rs in groups(rec["rows"], "variant").items()}


def r_parallel(rec: Record) -> str:
    by = parallel_rounds(rec)
    seq = by.get("sequential", {})
    rows = []
    for v, rounds in by.items():
        speed = [seq[n]["wall"] / r["wall"] for n, r in rounds.items() if n in seq]
        rows.append([v, len(rounds), fmt_values([r["wall"] for r in rounds.values()]),
                     fmt_values([r["cpu"] for r in rounds.values()]), fmt_values(speed)])
    out = table(["variant", "rounds", "wall (s)", "CPU (s)",
                 "speed-up: sequential wall / wall, per round"], rows)
    d = rec
    jobs = d.get("jobs")
    c1 = by.get("snakemake --cores 1", {})
    lines = [f"- {d.get('runs', '?')} runs, {d.get('backup_mib', '?')} MiB of backups, "
             f"{jobs if jobs is not None else '?'} per-run jobs; the campaign tables of the "
             f"variants identical: {d.get('same', '?')}."]
    if jobs and c1 and seq:
        over = [(r["cpu"] - seq[n]["cpu"]) / jobs for n, r in c1.items() if n in seq]
        lines.append(f"- CPU per per-run job over the sequential script, (CPU at `--cores 1` "
                     f"- sequential CPU) / {jobs}, per round: {fmt_values(over, 3)} s.")
    return out + "\n\n" + "\n".join(lines)


SCHED_MEASURES = (  # section, label, key in the row
    ("plan", "wall s", "wall"), ("plan", "main CPU s", "main_cpu"),
    ("noop", "wall s", "wall"), ("noop", "main CPU s", "main_cpu"),
    ("touch", "main CPU per job ms", "per_job_ms"),
    ("e2e", "main CPU per job ms, from the first job", "per_job_ms"),
    ("e2e", "main CPU per job ms, after the warm-up", "steady_ms"),
    ("e2e", "main CPU until the first job finished s", "startup"),
)


def sched_values(rec: Record, runs: str, section: str, variant: str, key: str) -> list[float]:
    return [float(r[key]) for r in rec["rows"]
            if str(r["runs"]) == runs and r["section"] == section and r["variant"] == variant
            and r.get(key) is not None]


def sched_label(rec: Record, section: str) -> str:
    if section == "plan":
        return "`-n -q`" if rec.get("plan_flags") == ["-n", "-q"] else "`-n`"
    return {"noop": "no-op re-run", "touch": "`--touch --forceall`",
            "e2e": "`--cores 2`, bounded"}[section]


def r_sched(rec: Record) -> str:
    variants = list(groups(rec["rows"], "variant"))
    sizes = list(groups(rec["rows"], "runs"))
    first, last = variants[0], variants[-1]
    rows = []
    for runs in sizes:
        for section, label, key in SCHED_MEASURES:
            vals = {v: sched_values(rec, runs, section, v, key) for v in variants}
            if not any(vals.values()):
                continue
            a, b = vals[first], vals[last]
            ratio = (f"{median(b) / median(a):.2f}" if a and b and median(a) else "-")
            rows.append([runs, f"{sched_label(rec, section)}: {label}",
                         *(fmt_values(vals[v]) for v in variants), ratio])
    noop = [r for r in rec["rows"] if r["section"] == "noop"]
    out = table(["runs", "measure", *variants, f"{last} / {first}"], rows)
    if noop:
        out += ("\n\nEvery no-op re-run said \"Nothing to be done\": "
                f"{all(r.get('nothing_to_be_done') for r in noop)}.")
    return out


class Records:
    """The format-3 records of a folder, read when first asked for (None: absent)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cache: dict[str, Record | None] = {}

    def get(self, bench: str) -> Record | None:
        if bench not in self.cache:
            path = self.folder / f"{bench}.json"
            rec = json.loads(path.read_text()) if path.is_file() else None
            if rec is not None and rec.get("format") != RECORD_FORMAT:
                raise SystemExit(f"{path}: not a record of format {RECORD_FORMAT} "
                                 f"(format {rec.get('format')!r})")
            self.cache[bench] = rec
        return self.cache[bench]


#: table id -> (the bench whose record it shows, its renderer)
RECORD_TABLES: dict[str, tuple[str, Callable[[Record], str]]] = {
    "jobs": ("jobs", r_jobs),
    "parallel": ("parallel", r_parallel),
    "sched": ("sched", r_sched),
}


def not_measured(bench: str) -> str:
    return (f"*not measured yet*: `.venv/bin/python bench/bench_{bench}.py` writes "
            f"bench/results/{bench}.json, then `.venv/bin/python bench/render.py`.")


def render_record(table_id: str, records: Records) -> str:
    bench, fn = RECORD_TABLES[table_id]
    rec = records.get(bench)
    return not_measured(bench) if rec is None else f"{header(rec)}\n\n{fn(rec)}"


def x(value: float) -> str:
    return f"{value:.2f}x"


def t_goals(records: Records, where: dict[str, str]) -> str:
    """The per-run jobs' goals, each from its bench's record; ``where``: bench -> section."""
    head = ["stage", "figure", "floor", "ratio", "goal", "where measured"]
    rows: list[list[Any]] = []

    def when(bench: str, rec: Record) -> str:
        return f"{where[bench]}, {rec['started'][:10]}, commit `{rec['commit']}`"

    def absent(stage: str, goal: str, bench: str) -> list[Any]:
        return [stage, "not measured yet", "-", "-", goal, f"see {where[bench]}"]

    sched = records.get("sched")
    for section, stage in (("plan", "planning (`-n`), 10 000 runs"),
                           ("noop", "no-op re-run, 10 000 runs")):
        goal = "<= 1.10x"
        if sched is None:
            rows.append(absent(stage, goal, "sched"))
            continue
        variants = [v for v in groups(sched["rows"], "variant") if v != "floor"]
        runs = [n for n in groups(sched["rows"], "runs")
                if sched_values(sched, n, section, "floor", "main_cpu")]
        if not runs or not variants:
            rows.append(absent(stage, goal, "sched"))
            continue
        n, v = max(runs, key=int), variants[-1]
        ours = {k: median(sched_values(sched, n, section, v, k)) for k in ("wall", "main_cpu")}
        floor = {k: median(sched_values(sched, n, section, "floor", k))
                 for k in ("wall", "main_cpu")}
        rows.append([stage.replace("10 000", n),
                     f"{ours['wall']:.2f} s wall, {ours['main_cpu']:.2f} s main CPU",
                     f"{floor['wall']:.2f} s wall, {floor['main_cpu']:.2f} s main CPU",
                     f"{x(ours['wall'] / floor['wall'])} wall, "
                     f"{x(ours['main_cpu'] / floor['main_cpu'])} CPU",
                     goal, when("sched", sched)])

    par = records.get("parallel")
    stage, goal = "realistic runs at `--cores 2`", ">= 1.70x on 16 runs"
    by = parallel_rounds(par) if par else {}
    seq, c2 = by.get("sequential", {}), by.get("snakemake --cores 2", {})
    if par is None or not seq or not c2:
        rows.append(absent(stage, goal, "parallel"))
    else:
        speed = [seq[k]["wall"] / r["wall"] for k, r in c2.items() if k in seq]
        rows.append([f"{stage}, {par.get('runs', '?')} runs",
                     f"{fmt_values([r['wall'] for r in c2.values()])} s wall",
                     f"sequential script: {fmt_values([r['wall'] for r in seq.values()])} s",
                     f"{fmt_values(speed)} speed-up, per round", goal, when("parallel", par)])

    jobs = records.get("jobs")
    goal = "<= 0.20 s"
    by_stage = groups(jobs["rows"], "stage") if jobs else {}
    if not by_stage:
        rows.append(absent("CPU per per-run job above the same work in one process", goal,
                           "jobs"))
    for name, rs in by_stage.items():
        job = [float(r["job_cpu"]) for r in rs]
        one = [float(r["in_process_cpu"]) for r in rs]
        rows.append([f"per-run job `{name}`: its own CPU", f"{fmt_values(job, 3)} s as a job",
                     f"{fmt_values(one, 3)} s in one process",
                     f"{fmt_values([j - o for j, o in zip(job, one, strict=True)], 3)} s more",
                     goal, when("jobs", jobs)])
    return table(head, rows)


#: the section of docs/benchmarks.md each bench's record is shown in
GOAL_SECTIONS = {"sched": "§ bench_sched.py", "parallel": "§ bench_parallel.py",
                 "jobs": "§ bench_jobs.py"}


# --------------------------------------------------------------------------- document


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise SystemExit(f"{path}: not a results file of format {FORMAT} "
                         f"(format {data.get('format')!r})")
    return data


def render_table(table_id: str, data: dict[str, Any]) -> str:
    if table_id not in TABLES:
        raise KeyError(f"unknown table id {table_id!r} (known: {', '.join(TABLES)})")
    text = TABLES[table_id](data)
    return "*not measured*" if text is None else text


def known_ids() -> list[str]:
    return [*TABLES, *RECORD_TABLES, "goals"]


def fill(doc: str, data: dict[str, Any], records: Records | None = None, *,
         where: str = "the document") -> str:
    """``doc`` with every marked block re-rendered from ``data`` and ``records``."""
    records = records or Records(RECORDS)
    unknown = [m["id"] for m in MARKER.finditer(doc) if m["id"] not in known_ids()]
    if unknown:
        raise SystemExit(f"{where}: unknown table ids {unknown} "
                         f"(known: {', '.join(known_ids())})")
    opened = len(OPENING.findall(doc))
    closed = len(MARKER.findall(doc))
    if opened != closed:
        raise SystemExit(f"{where}: {opened} '<!-- table: ID -->' markers but {closed} "
                         "closed by '<!-- /table -->'")

    def one(table_id: str) -> str:
        if table_id in RECORD_TABLES:
            return render_record(table_id, records)
        if table_id == "goals":
            return t_goals(records, GOAL_SECTIONS)
        return render_table(table_id, data)

    return MARKER.sub(lambda m: f"<!-- table: {m['id']} -->\n{one(m['id'])}\n"
                                "<!-- /table -->", doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results.json",
                    help="bench/run_all.py's results (format 2)")
    ap.add_argument("--records", type=Path, default=RECORDS,
                    help="the folder of the benches' records (format 3, <bench>.json)")
    ap.add_argument("--doc", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the document's tables differ from the JSON")
    args = ap.parse_args(argv)
    doc = args.doc.read_text()
    new = fill(doc, load(args.json), Records(args.records), where=str(args.doc))
    if args.check:
        if new != doc:
            print(f"{args.doc}: tables differ from {args.json} and {args.records}; "
                  "run bench/render.py", file=sys.stderr)
            return 1
        return 0
    if new != doc:
        args.doc.write_text(new)
        print(f"{args.doc}: tables re-rendered from {args.json} and {args.records}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
