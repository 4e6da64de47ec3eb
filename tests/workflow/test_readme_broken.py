"""The user guide's "When a run is broken" section (docs/guide.md) shows output this test
regenerates from a synth command and a real snakemake run. ``OMBT_UPDATE_README=1`` rewrites the
block instead of comparing."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, snakemake, write_config

BEGIN = "<!-- broken-run: begin (tests/workflow/test_readme_broken.py) -->"
END = "<!-- broken-run: end -->"
SYNTH = ["synth", "broken", "--clients", "1", "4", "--servers", "1", "--call-types",
         "rpc-call", "--fail-rate", "0.01", "--no-influx"]


def _block(tmp: Path) -> str:
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", *SYNTH], cwd=tmp, check=True,
                   capture_output=True)
    cfg = write_config(tmp, {"broken": tmp / "broken"}, influx={"enabled": False})
    res = snakemake(tmp, cfg)
    assert res.returncode == 0, res.output[-3000:]
    # the console from Snakemake's job counts to our summary (the lines before it name
    # this machine's shell and cores, the two after it the log file and the time taken)
    lines = res.output.splitlines()
    first = lines.index("Job stats:")
    last = max(i for i, ln in enumerate(lines) if ln.startswith("ombt-postmortem: "))
    console = lines[first:last + 1]
    problems = (tmp / "results" / "broken" / "problems.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(problems)))
    assert [r["status"] for r in rows] == ["partial", "partial"]
    folder = sorted(p.name for p in (tmp / "broken").iterdir() if p.is_dir())[-1]
    show = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "show",
                           f"broken/{folder}"], cwd=tmp, capture_output=True, text=True).stdout
    errors = re.search(r"Aggregated Client results:\n-+\n((?:Error.*\n|  .*\n)+)", show)
    assert errors, show
    return "\n".join([
        "```sh",
        ".venv/bin/ombt-postmortem " + " ".join(SYNTH),
        "printf 'campaigns: {broken: broken}\\ninflux: {enabled: false}\\n' > broken.yaml",
        ".venv/bin/snakemake --cores 2 --configfile broken.yaml",
        "```",
        "",
        "prints (after Snakemake's few lines about the profile, the shell and the cores; "
        "the details are in the logs, see \"Configuration\")",
        "",
        "```",
        *console,
        "```",
        "",
        "and `results/broken/problems.csv` holds (one line per run, the errors grouped into "
        "kinds: message ids and numbers taken out):",
        "",
        "```",
        problems.rstrip("\n"),
        "```",
        "",
        "`.venv/bin/ombt-postmortem show broken/<run folder>` prints the kinds with an "
        "example each (`--raw-errors`: every distinct text, as the controller printed them):",
        "",
        "```",
        errors.group(1).rstrip("\n"),
        "```",
    ])


def test_readme_broken_run_section_is_real_output(tmp_path: Path) -> None:
    block = _block(tmp_path)
    readme = REPO / "docs" / "guide.md"
    text = readme.read_text()
    assert BEGIN in text and END in text
    before, rest = text.split(BEGIN, 1)
    current, after = rest.split(END, 1)
    if os.environ.get("OMBT_UPDATE_README"):
        readme.write_text(f"{before}{BEGIN}\n{block}\n{END}{after}")
        return
    assert current.strip("\n") == block, f"docs/guide.md out of date; it should read:\n{block}"
