"""bench/render.py: results JSON -> the marked tables of a markdown file.

Expected cells are computed here from the raw samples with ``statistics`` (not with
the renderer's code); the committed docs/benchmarks.md must hold exactly what its
results.json renders to, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from conftest import REPO

RENDER = REPO / "bench" / "render.py"
RESULTS = REPO / "bench" / "results.json"
DOC = REPO / "docs" / "benchmarks.md"


def render(json_path: Path, doc: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RENDER), "--json", str(json_path), "--doc",
                           str(doc), *extra], capture_output=True, text=True)


def block(doc: str, table_id: str) -> list[str]:
    """The lines between the markers of ``table_id``."""
    lines = doc.splitlines()
    start = lines.index(f"<!-- table: {table_id} -->")
    end = lines.index("<!-- /table -->", start)
    return lines[start + 1:end]


def rows(doc: str, table_id: str) -> list[list[str]]:
    """The body rows of the markdown table of ``table_id``, as lists of cells."""
    table = [ln for ln in block(doc, table_id) if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in table[2:]]


def expect(values: list[float]) -> str:
    m = statistics.median(values)
    if len(values) == 1:
        return f"{m:.2f}"
    return f"{m:.2f} [{min(values):.2f}-{max(values):.2f}]"


def samples(walls: list[float], cpus: list[float], **extra: list[float]) -> list[dict]:
    return [{"wall": w, "cpu": c, "maxrss_mb": 0.0, **{k: v[i] for k, v in extra.items()}}
            for i, (w, c) in enumerate(zip(walls, cpus, strict=True))]


SMALL = {
    "format": 2,
    "runs": [{"id": "r1", "started": "2030-01-02 03:04:05", "commit": "abc1234",
              "argv": ["--sections", "e2e,table"], "repeat": 3,
              "machine": {"cores": "2", "cpu": "Test CPU"}, "load_start": "0.1 0.2 0.3",
              "load_end": "1.0 1.0 1.0", "variants": {"current": "/x"},
              "e2e_variants": {"old": "/y"}, "notes": ["`old`: the tree before"]}],
    "sections": {
        "e2e": {"run": "r1", "data": {
            "samples": {
                # medians differ from the means on purpose
                "cores1": samples([30.0, 10.0, 12.0], [40.0, 25.0, 31.0]),
                "cores2": samples([6.0, 30.0, 5.0], [50.0, 44.0, 47.0]),
                "sequential": samples([2.5, 2.0, 1.0], [3.0, 1.0, 2.0],
                                      ombt=[0.1, 0.2, 0.34], influx=[1.0, 1.0, 1.26]),
            },
            "runs": 4, "jobs": 9, "all_ok": True, "same_table": True,
            "variants": {"old": {"cores1": samples([100.0], [101.0])}},
            "variant_dirs": {"old": "/y"}, "variant_same_table": {"old": "differ in x"},
        }},
        "table": {"run": "r1", "data": {
            "runs": 20, "same_table": {"old": True},
            "samples": {"old": samples([9.0, 8.0, 7.5], [9.5, 8.5, 8.0],
                                       ombt=[5.0, 4.0, 4.5], table=[3.0, 3.5, 2.0]),
                        "current": samples([3.0], [3.1], ombt=[1.5], table=[1.25])},
        }},
    },
}

DOC_TEXT = """# Title

Hand-written *prose* stays as it is: 1.23 [4.56-7.89].

<!-- table: e2e -->
stale content
<!-- /table -->

More prose between.

<!-- table: table -->
<!-- /table -->

<!-- table: startup -->
<!-- /table -->

<!-- table: runs -->
<!-- /table -->
"""


def test_small_results_render_medians_ranges_and_ratios(tmp_path: Path) -> None:
    js, doc = tmp_path / "r.json", tmp_path / "doc.md"
    js.write_text(json.dumps(SMALL))
    doc.write_text(DOC_TEXT)
    proc = render(js, doc)
    assert proc.returncode == 0, proc.stderr
    text = doc.read_text()

    # the prose outside the markers is untouched, the stale block replaced
    outside = [ln for ln in DOC_TEXT.splitlines()
               if ln and "table" not in ln and ln != "stale content"]
    for ln in outside:
        assert ln in text.splitlines()
    assert "stale content" not in text

    e = SMALL["sections"]["e2e"]["data"]
    s = e["samples"]
    seq_wall = statistics.median(x["wall"] for x in s["sequential"])
    seq_cpu = statistics.median(x["cpu"] for x in s["sequential"])
    got = {(r[0], r[1]): r for r in rows(text, "e2e")}
    for how in ("cores1", "cores2"):
        walls = [x["wall"] for x in s[how]]
        cpus = [x["cpu"] for x in s[how]]
        row = got[("current", f"`snakemake --cores {how[-1]}`")]
        assert row[2] == expect(walls)
        assert row[3] == expect(cpus)
        assert row[4] == f"{statistics.median(walls) / seq_wall:.1f}x"
        assert row[5] == f"{(statistics.median(cpus) - seq_cpu) / e['jobs']:.2f}"
    assert got[("current", "`snakemake --cores 1`")][2] == "12.00 [10.00-30.00]"  # by hand
    assert got[("current", "`snakemake --cores 2`")][4] == "3.0x"  # 6 / 2
    old = got[("old", "`snakemake --cores 1`")]
    assert old[2] == "100.00" and old[4] == f"{100.0 / seq_wall:.1f}x"  # one sample: no range
    ref = got[("-", "sequential script (reference)")]
    assert ref[2:5] == [expect([x["wall"] for x in s["sequential"]]),
                        expect([x["cpu"] for x in s["sequential"]]), "1.0x"]

    t = SMALL["sections"]["table"]["data"]["samples"]
    got_t = {r[0]: r for r in rows(text, "table")}
    assert set(got_t) == {"old", "current"}
    for name, smp in t.items():
        assert got_t[name][1] == expect([x["ombt"] for x in smp])
        assert got_t[name][2] == expect([x["table"] for x in smp])
        assert got_t[name][3] == expect([x["wall"] for x in smp])
    assert got_t["old"][5] == "True"

    assert block(text, "startup") == ["*not measured*"]
    runs = rows(text, "runs")
    assert runs[0][:5] == ["2030-01-02 03:04:05", "`abc1234`", "3",
                           "`bench/run_all.py --sections e2e,table`", "e2e, table"]
    assert "- 2030-01-02 03:04:05: `old`: the tree before" in block(text, "runs")

    # rendering again changes nothing, and --check agrees
    assert render(js, doc).returncode == 0
    assert doc.read_text() == text
    assert render(js, doc, "--check").returncode == 0


def test_check_reports_a_stale_table_and_unknown_ids_fail(tmp_path: Path) -> None:
    js, doc = tmp_path / "r.json", tmp_path / "doc.md"
    js.write_text(json.dumps(SMALL))
    doc.write_text(DOC_TEXT)
    proc = render(js, doc, "--check")
    assert proc.returncode == 1 and "differ" in proc.stderr
    assert doc.read_text() == DOC_TEXT  # --check writes nothing

    doc.write_text(DOC_TEXT + "\n<!-- table: no-such-table -->\n<!-- /table -->\n")
    proc = render(js, doc)
    assert proc.returncode != 0 and "no-such-table" in proc.stderr

    doc.write_text(DOC_TEXT + "\n<!-- table: e2e -->\nnever closed\n")
    proc = render(js, doc)
    assert proc.returncode != 0 and "/table" in proc.stderr


def test_committed_doc_holds_what_committed_results_render_to() -> None:
    proc = render(RESULTS, DOC, "--check")
    assert proc.returncode == 0, proc.stderr + "\nrun: .venv/bin/python bench/render.py"


def test_committed_doc_numbers_come_from_the_raw_samples() -> None:
    """A few cells of the committed document, recomputed here from results.json."""
    data = json.loads(RESULTS.read_text())
    sec = {k: v["data"] for k, v in data["sections"].items()}
    text = DOC.read_text()

    e2e = {(r[0], r[1]): r for r in rows(text, "e2e")}
    s = sec["e2e"]["samples"]
    seq = statistics.median(x["wall"] for x in s["sequential"])
    c2 = e2e[("current", "`snakemake --cores 2`")]
    assert c2[2] == expect([x["wall"] for x in s["cores2"]])
    assert c2[4] == f"{statistics.median(x['wall'] for x in s['cores2']) / seq:.1f}x"

    plan = {(r[0], r[2]): r for r in rows(text, "plan-noop")}
    for n, per_variant in sec["plan"].items():
        cur = per_variant["current"]
        cell = f"{expect([x['wall'] for x in cur])} ({expect([x['cpu'] for x in cur])})"
        assert cell in plan[(n, "`-n`, nothing done yet")], (n, cell)

    parse = rows(text, "parse")
    assert parse[1][1] == expect([x["parse_s"] for x in sec["parse"]["samples"]])

    table = {r[0]: r for r in rows(text, "table")}
    for name, smp in sec["table"]["samples"].items():
        assert table[name][2] == expect([x["table"] for x in smp])

    # every run a section points to is listed, with its commit
    runs = {r[0]: r for r in rows(text, "runs")}
    for rec in data["runs"]:
        assert runs[rec["started"]][1] == f"`{rec['commit']}`"
    assert {v["run"] for v in data["sections"].values()} <= {r["id"] for r in data["runs"]}


# --------------------------------------------------------------------------- format 3 records

def record(bench: str, rows: list[dict], **extra: object) -> dict:
    return {"format": 3, "bench": bench, "argv": ["--runs", "3"], "commit": "def5678",
            "started": "2030-02-03T04:05:06+00:00",
            "machine": {"cores": "2", "cpu": "Test CPU", "python": "3.11.7",
                        "snakemake": "9.27.1"},
            "load_start": [0.5, 0.25, 0.125], "load_end": [1.5, 1.0, 0.75], "rows": rows,
            **extra}


JOBS = record("jobs", [
    {"round": 1, "stage": "run_logs", "job_cpu": 1.0, "in_process_cpu": 0.7},
    {"round": 1, "stage": "influx_metrics", "job_cpu": 2.5, "in_process_cpu": 2.0},
    {"round": 2, "stage": "run_logs", "job_cpu": 0.9, "in_process_cpu": 0.8},
    {"round": 3, "stage": "run_logs", "job_cpu": 1.2, "in_process_cpu": 0.75},
    {"imports": "python -c pass", "cpu": [0.02, 0.03, 0.01]},
])
PARALLEL = record("parallel", [
    {"round": r + 1, "variant": v, "wall": w, "cpu": c}
    for r in range(3)
    for v, w, c in (("sequential", [40.0, 50.0, 44.0][r], [38.0, 44.0, 41.0][r]),
                    ("snakemake --cores 1", [80.0, 70.0, 90.0][r], [60.0, 59.0, 70.0][r]),
                    ("snakemake --cores 2", [20.0, 40.0, 22.0][r], [62.0, 61.0, 66.0][r]))
], runs=16, backup_mib=886, jobs=32, same=True)


def sched_rows(runs: int, section: str, variant: str, walls: list[float],
               cpus: list[float]) -> list[dict]:
    return [{"runs": runs, "section": section, "variant": variant, "wall": w, "main_cpu": c,
             "nothing_to_be_done": True if section == "noop" else None}
            for w, c in zip(walls, cpus, strict=True)]


SCHED = record("sched", [
    *sched_rows(1000, "plan", "floor", [2.0, 2.0], [1.0, 1.0]),
    *sched_rows(1000, "plan", "after", [3.0, 3.0], [1.0, 1.0]),
    *sched_rows(10000, "plan", "floor", [20.0, 22.0, 21.0], [19.0, 20.0, 18.0]),
    *sched_rows(10000, "plan", "after", [24.0, 26.0, 25.0], [21.0, 23.0, 22.0]),
    *sched_rows(10000, "noop", "floor", [10.0, 12.0, 11.0], [9.0, 9.5, 10.0]),
    *sched_rows(10000, "noop", "after", [11.0, 13.0, 12.0], [10.0, 11.0, 12.0]),
], plan_flags=["-n"])

RECORD_DOC = """# Records

<!-- table: goals -->
<!-- /table -->

<!-- table: jobs -->
old
<!-- /table -->

<!-- table: parallel -->
<!-- /table -->

<!-- table: sched -->
<!-- /table -->
"""


def render_records(tmp_path: Path, recs: list[dict]) -> tuple[subprocess.CompletedProcess[str],
                                                                 str]:
    folder = tmp_path / "records"
    folder.mkdir()
    for rec in recs:
        (folder / f"{rec['bench']}.json").write_text(json.dumps(rec))
    js, doc = tmp_path / "r.json", tmp_path / "doc.md"
    js.write_text(json.dumps(SMALL))
    doc.write_text(RECORD_DOC)
    proc = render(js, doc, "--records", str(folder))
    return proc, doc.read_text()


def test_records_render_their_header_tables_and_the_goals(tmp_path: Path) -> None:
    proc, text = render_records(tmp_path, [JOBS, PARALLEL, SCHED])
    assert proc.returncode == 0, proc.stderr

    jobs = block(text, "jobs")
    assert jobs[0] == "`bench/bench_jobs.py --runs 3`:"
    assert "started 2030-02-03T04:05:06+00:00, commit `def5678`" in jobs[1]
    assert "0.5 0.25 0.125 at the start, 1.5 1 0.75 at the end" in jobs[1]
    got = {r[0]: r for r in rows(text, "jobs") if r[0] in ("run_logs", "influx_metrics")}
    # run_logs: as a job 1.0, 0.9, 1.2; in one process 0.7, 0.8, 0.75; own 0.3, 0.1, 0.45
    assert got["run_logs"][1:] == ["3", "1.000 [0.900-1.200]", "0.750 [0.700-0.800]",
                                   "0.300 [0.100-0.450]"]
    assert got["influx_metrics"][1:] == ["1", "2.500", "2.000", "0.500"]
    assert "| `python -c pass` | 3 | 0.020 [0.010-0.030] |" in jobs

    par = {r[0]: r for r in rows(text, "parallel")}
    # speed-up per round: 40/20, 50/40, 44/22
    assert par["snakemake --cores 2"][1:] == ["3", "22.00 [20.00-40.00]", "62.00 [61.00-66.00]",
                                              "2.00 [1.25-2.00]"]
    assert par["snakemake --cores 1"][4] == "0.50 [0.49-0.71]"  # 40/80, 50/70, 44/90
    assert par["sequential"][4] == "1.00 [1.00-1.00]"
    # (60-38)/32, (59-44)/32, (70-41)/32
    assert any("0.688 [0.469-0.906] s" in ln for ln in block(text, "parallel"))
    assert any("identical: True" in ln for ln in block(text, "parallel"))

    sched = {(r[0], r[1]): r for r in rows(text, "sched")}
    assert sched[("10000", "`-n`: wall s")][2:] == ["21.00 [20.00-22.00]", "25.00 [24.00-26.00]",
                                                    "1.19"]  # 25 / 21
    assert sched[("10000", "no-op re-run: main CPU s")][4] == "1.16"  # 11 / 9.5
    assert sched[("1000", "`-n`: wall s")][4] == "1.50"  # 3 / 2

    goals = {r[0]: r for r in rows(text, "goals")}
    plan = goals["planning (`-n`), 10000 runs"]  # the largest size
    assert plan[1:4] == ["25.00 s wall, 22.00 s main CPU", "21.00 s wall, 19.00 s main CPU",
                         "1.19x wall, 1.16x CPU"]  # 25/21, 22/19
    assert goals["no-op re-run, 10000 runs"][3] == "1.09x wall, 1.16x CPU"  # 12/11, 11/9.5
    assert goals["realistic runs at `--cores 2`, 16 runs"][3] == \
        "2.00 [1.25-2.00] speed-up, per round"
    assert goals["per-run job `run_logs`: its own CPU"][3] == "0.300 [0.100-0.450] s more"
    assert goals["per-run job `run_logs`: its own CPU"][5].endswith("commit `def5678`")

    # rendering again changes nothing
    folder = tmp_path / "records"
    again = render(tmp_path / "r.json", tmp_path / "doc.md", "--records", str(folder), "--check")
    assert again.returncode == 0, again.stderr


def test_absent_records_render_as_not_measured(tmp_path: Path) -> None:
    proc, text = render_records(tmp_path, [JOBS])
    assert proc.returncode == 0, proc.stderr
    assert block(text, "parallel")[0].startswith("*not measured yet*")
    assert block(text, "sched")[0].startswith("*not measured yet*")
    goals = rows(text, "goals")
    assert [r[1] for r in goals if r[0].startswith("planning")] == ["not measured yet"]
    assert [r[5] for r in goals if r[0].startswith("realistic")] == ["see § bench_parallel.py"]
    assert any(r[0] == "per-run job `run_logs`: its own CPU" for r in goals)


def test_a_record_of_another_format_fails(tmp_path: Path) -> None:
    proc, _ = render_records(tmp_path, [{**JOBS, "format": 2}])
    assert proc.returncode != 0 and "format 3" in proc.stderr
