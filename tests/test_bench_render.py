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

    plan = {r[0]: r for r in rows(text, "plan-noop")}
    for n, per_variant in sec["plan"].items():
        cur = per_variant["current"]
        cell = f"{expect([x['wall'] for x in cur])} ({expect([x['cpu'] for x in cur])})"
        assert cell in plan[n], (n, cell)

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
