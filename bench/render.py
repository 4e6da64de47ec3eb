#!/usr/bin/env python3
"""Fill the tables of docs/benchmarks.md from the measurements in bench/results.json.

    .venv/bin/python bench/render.py            # re-write the tables in docs/benchmarks.md
    .venv/bin/python bench/render.py --check    # exit 1 if the document's tables are stale

The document is hand-written markdown. Each generated block sits between two markers::

    <!-- table: e2e -->
    ...rendered here, replaced at every render...
    <!-- /table -->

and everything outside the markers is left as it is. The ids are the keys of
``TABLES``; a marker naming another id is an error. Numbers are the median of the
recorded samples with [min-max] (a single sample is shown alone); ratios are taken
between medians. A section absent from the JSON renders as "not measured".

results.json (written by bench/run_all.py)::

    {"format": 2,
     "runs": [{"id", "started", "commit", "argv", "repeat", "machine", "load_start",
               "load_end", "variants", "e2e_variants", "notes"}, ...],
     "sections": {"<section>": {"run": "<run id>", "data": <raw samples>}, ...}}

A sample is ``{"wall": s, "cpu": s, "maxrss_mb": MiB, ...extra keys}``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FORMAT = 2
#: a marked block: both markers alone on their lines
MARKER = re.compile(r"^<!-- table: (?P<id>[\w-]+) -->\n(?P<body>.*?)^<!-- /table -->$", re.S | re.M)
OPENING = re.compile(r"^<!-- table: ", re.M)

Sample = dict[str, Any]


# --------------------------------------------------------------------------- numbers


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_values(values: list[float]) -> str:
    """``median [min-max]`` of ``values`` (2 decimals), the value alone if there is one."""
    if not values:
        return "-"
    m = statistics.median(values)
    return f"{m:.2f}" if len(values) == 1 else f"{m:.2f} [{min(values):.2f}-{max(values):.2f}]"


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


def t_runs(data: dict[str, Any]) -> str:
    shown: dict[str, list[str]] = {}
    for name, sec in data["sections"].items():
        shown.setdefault(sec["run"], []).append(name)
    rows = [[r["started"], f"`{r['commit']}`",
             r.get("repeat", "-"), code(" ".join(["bench/run_all.py", *r["argv"]])),
             ", ".join(shown.get(r["id"], [])) or "-", r.get("load_start") or "-",
             r.get("load_end") or "-"] for r in data["runs"]]
    out = table(["measured", "commit", "repetitions", "command", "sections shown",
                 "load average at start", "at end"], rows)
    notes = [f"- {r['started']}: {n}" for r in data["runs"] for n in r.get("notes", [])]
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
    head = ["runs", "jobs planned"]
    head += [f"{what}: {v} wall (CPU)" for what in ("`-n`, nothing done yet",
                                                    "no-op re-run, all done") for v in names]
    rows = []
    for n in sorted({int(k) for k in (*plan, *noop)}):
        p = plan.get(str(n), {})
        jobs = next((s.get("jobs") for v in p.values() for s in v), None)
        row = [n, "-" if jobs is None else jobs]
        row += [f"{fmt(p[v])} ({fmt(p[v], 'cpu')})" if p.get(v) else "-" for v in names]
        e = noop.get(str(n), {})
        state = e.get("real") or e.get("touch") or {}
        row += [f"{fmt(state[v])} ({fmt(state[v], 'cpu')})" if state.get(v) else "-"
                for v in names]
        rows.append(row)
    return table(head, rows)


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
                made = (f"the library (`bench/sequential.py --no-influx`: ombt stage "
                        f"{float(lib['ombt']):.2f} s, campaign table {float(lib['table']):.2f}"
                        " s), then `snakemake --touch --forceall`")
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
        ["the ombt_stats job's work: `analyse_run` + `write_run_stats`", ex("job_s"),
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


def fill(doc: str, data: dict[str, Any], *, where: str = "the document") -> str:
    """``doc`` with every marked block re-rendered from ``data``."""
    unknown = [m["id"] for m in MARKER.finditer(doc) if m["id"] not in TABLES]
    if unknown:
        raise SystemExit(f"{where}: unknown table ids {unknown} (known: {', '.join(TABLES)})")
    opened = len(OPENING.findall(doc))
    closed = len(MARKER.findall(doc))
    if opened != closed:
        raise SystemExit(f"{where}: {opened} '<!-- table: ID -->' markers but {closed} "
                         "closed by '<!-- /table -->'")
    return MARKER.sub(lambda m: f"<!-- table: {m['id']} -->\n{render_table(m['id'], data)}\n"
                                "<!-- /table -->", doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    ap.add_argument("--doc", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the document's tables differ from the JSON")
    args = ap.parse_args(argv)
    doc = args.doc.read_text()
    new = fill(doc, load(args.json), where=str(args.doc))
    if args.check:
        if new != doc:
            print(f"{args.doc}: tables differ from {args.json}; run bench/render.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != doc:
        args.doc.write_text(new)
        print(f"{args.doc}: tables re-rendered from {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
