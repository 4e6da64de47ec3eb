"""The layout is spelled once: rules, scripts and library take file names from layout.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import EXAMPLE, REPO, run_ids

from ombt_postmortem import layout
from ombt_postmortem.backup import scan_run

OUTPUT_NAMES = [layout.OMBT, layout.AGENTS, layout.HIST, layout.METRICS, layout.TIMESERIES,
                layout.MESSAGES, layout.TIMELINE, layout.PER_MESSAGE,
                *layout.CAMPAIGN_FILES.values()]


def test_no_job_script_reads_the_config_to_find_files() -> None:
    scripts = sorted((REPO / "workflow" / "scripts").glob("*.py"))
    assert scripts
    for path in scripts:
        text = path.read_text()
        assert not re.search(r"\b(sm|snakemake)\.config\b", text), path.name


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names


def test_per_run_jobs_get_everything_from_their_command_line() -> None:
    """The per-run jobs (workflow_support.jobs, launched by workflow/job.py) import
    neither Snakemake nor the config reader: each rule hands its job its spec and
    files (its only params) and the job's threads, memory and log, nothing else."""
    jobs = REPO / "src" / "ombt_postmortem" / "workflow_support" / "jobs.py"
    for path in (jobs, REPO / "workflow" / "job.py"):
        imported = _imported_modules(path)
        assert not {m for m in imported if m.split(".")[0] in ("snakemake", "yaml")}, path
        # the config reader; influx.config is the influx section's dataclass, built from the spec
        assert not {m for m in imported if m.endswith("config")
                    and m not in (".errors", "influx.config")}, path
    allowed = {"params.spec", "threads", "resources.mem_mb", "log"}
    for rule in ("logs", "influx"):
        text = (REPO / "workflow" / "rules" / f"{rule}.smk").read_text()
        params = re.search(r"\n    params:\n((?:        .*\n)+)", text)
        assert params is not None, rule  # one spec function per rule
        assert [ln.split("=")[0] for ln in params.group(1).split()] == ["spec"], rule
        shell = re.search(r"\n    shell:\n((?:        .*\n)+)", text)
        assert shell is not None, rule
        name = r"(\w+(?:\.\w+)?)(?::q)?"  # {{name}} in an f-string, {name} in a plain one
        used = set(re.findall(rf"\{{\{{{name}\}}\}}|(?<!\{{)\{{{name}\}}(?!\}})",
                              shell.group(1)))
        placeholders = {a or b for a, b in used} - {"JOB"}
        assert placeholders and placeholders <= allowed, (rule, placeholders)


def _strings_in_code(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant of a Python file, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_output_file_names_are_spelled_only_in_layout() -> None:
    """No rule, script, library module or bench script writes an output's name itself."""
    py = [*(REPO / "workflow").rglob("*.py"), *(REPO / "src").rglob("*.py"),
          *(REPO / "bench").glob("*.py")]
    offenders = []
    for path in py:
        if path.name == "layout.py":
            continue
        for n, text in _strings_in_code(path):
            if any(re.search(rf"(^|/){re.escape(name)}$", text) for name in OUTPUT_NAMES):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {text!r}")
    for path in [*(REPO / "workflow").rglob("*.smk"), REPO / "Snakefile"]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(re.search(rf"[\"'/]{re.escape(name)}[\"']", code) for name in OUTPUT_NAMES):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []


def test_run_statuses_are_spelled_only_in_layout() -> None:
    """The status words of the campaign table and problems.csv have one home, layout.py:
    no library module compares with, or writes, a word of its own."""
    assert (layout.STATUS_OK, layout.STATUS_PARTIAL, layout.STATUS_FAILED,
            layout.STATUS_NOT_ANALYSED) == ("ok", "partial", "failed", "not analysed")
    # the columns of the messages sent ok or failed per agent (<side>_ok_per_agent_*,
    # <side>_fail_per_agent_*), not a run's status
    allowed = {("src/ombt_postmortem/columns.py", "ok"),
               ("src/ombt_postmortem/columns.py", "failed")}
    offenders = []
    for path in (REPO / "src").rglob("*.py"):
        if path.name == "layout.py":
            continue
        tree = ast.parse(path.read_text())
        # "ok" also names the messages sent ok (msgs_ok columns): only its comparisons count
        compared = {id(c) for n in ast.walk(tree) if isinstance(n, ast.Compare)
                    for c in [n.left, *n.comparators]}
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and (
                    n.value in ("partial", "failed", "not analysed")
                    or (n.value == "ok" and id(n) in compared)) \
                    and (str(path.relative_to(REPO)), n.value) not in allowed:
                offenders.append(f"{path.relative_to(REPO)}:{n.lineno}: {n.value!r}")
    assert offenders == []


def test_scan_run_finds_what_a_listing_finds() -> None:
    """Controller files, other logs and the tar of every example run, against os.listdir."""
    for run_id in run_ids():
        files = scan_run(EXAMPLE, run_id)
        names = sorted(p.name for p in (EXAMPLE / run_id).iterdir())
        assert files.problem is None
        assert files.folder == (EXAMPLE / run_id).resolve()
        want_ctl = [n for n in names if "_controller-" in n and not n.endswith("_docker.log")]
        want_other = [n for n in names if n.endswith(".log") and "_controller-" not in n]
        assert [p.name for p in files.controller_logs] == want_ctl
        assert [p.name for p in files.other_logs] == want_other
        assert files.influx_tar is not None and files.influx_tar.name == "influxdb-data.tar.gz"


def test_scan_run_reports_a_missing_or_escaping_folder(tmp_path: Path) -> None:
    (tmp_path / "params.json").write_text("[]")
    missing = scan_run(tmp_path, "gone")
    assert missing.problem == "run gone (gone): run folder missing"
    assert missing.controller_logs == () and missing.influx_tar is None
    out = scan_run(tmp_path, "../elsewhere")
    assert out.folder is None
    assert out.problem is not None and "leads outside the campaign folder" in out.problem


def test_campaign_dir_paths() -> None:
    cdir = layout.CampaignDir.of("res", "c1")
    assert cdir.run_file("k", layout.OMBT) == Path("res/c1/runs/k/ombt.parquet")
    assert cdir.campaign_files()["parquet"] == Path("res/c1/campaign.parquet")
    assert cdir.run_file(layout.run_key("a/b"), layout.HIST) == \
        Path("res/c1/runs") / layout.run_key("a/b") / "latency_hist.parquet"
    assert layout.run_pattern("res", layout.TIMELINE) == \
        "res/{campaign}/runs/{run}/timeline.parquet"
