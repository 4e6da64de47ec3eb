"""The bundled example's `snakemake --report`, as a reader sees it in a real browser
(issue 22, item 7): headless Chromium runs the report's scripts and clicks through it
(tests/support/browser.py); the DOM then holds the figures of each kind listed by run
parameters, a figure shown, and the campaign table with the varying parameters
first and run_id last, a sheet of all runs side by side; the screenshot is a real
picture; the report is small.

Without Chromium the tests skip (saying so), unless OMBT_REQUIRE_CHROMIUM=1 (as
`make test` sets when it installed it, ci/test.sh): then they fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browser import CHROMIUM, dom_after, screenshot_after
from conftest import EXAMPLE, REPO, snakemake, write_config
from independent import labels_by_what_varies
from PIL import Image, ImageStat

from ombt_postmortem.reportspec import report_labels

pytestmark = pytest.mark.workflow

MB = 1_000_000
#: the report's subcategories of one campaign (workflow/rules/figures.smk), as the
#: example has them: InfluxDB time series and the agents' logs read, every kind drawn
KINDS = ["0. campaign table", "1. load curves", "2. resources against load",
         "3. latency overlay", "4. latency per run", "5. bus CPU and memory per run",
         "6. exact latency quantiles", "7. messages over time per run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        reason = "chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("OMBT_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"OMBT_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("report")
    # the repository's configuration (its export_margin_s), results in the temp folder
    repo_cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    extra = {k: v for k, v in repo_cfg.items() if k not in ("campaigns", "results_dir")}
    cfg = write_config(work, {"example": EXAMPLE}, **extra)
    run = snakemake(work, cfg)
    assert run.returncode == 0, run.output
    for name in ("report.html", "report.zip"):
        rep = snakemake(work, cfg, "--report", f"results/{name}")
        assert rep.returncode == 0, rep.output
    return work / "results"


def example_labels() -> dict[str, dict[str, str]]:
    """run_id -> {parameter: value} of what varies in the example, from params.json."""
    params = json.loads((EXAMPLE / "params.json").read_text())
    by_label = labels_by_what_varies(params)
    return {rid: dict(part.split("=", 1) for part in label.split("__"))
            for rid, label in by_label.items()}


class _Tables(HTMLParser):
    """The header and body cells of every <table> of a page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, list]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if not t["head"] and not t["rows"]:
                t["head"] = self._row
            else:
                t["rows"].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[dict[str, list]]:
    p = _Tables()
    p.feed(html)
    return p.tables


def test_every_figure_kind_is_a_subcategory_of_the_campaign(report: Path, tmp_path: Path
                                                            ) -> None:
    dom = dom_after(report / "report.html", ["Results"], tmp_path)
    assert 'data-steps="[&quot;Results&quot;]"' in dom  # the click happened
    links = re.findall(r"<span>([^<]+)</span></a>", dom)
    assert [k for k in links if k[:2] in {f"{i}." for i in range(10)}] == KINDS
    # every kind has figures: its folder's manifest says written, none skipped here
    for kind in ("load_curves", "latency_hist", "timeseries", "message_timeline"):
        manifest = (report / "example/figures" / kind / "manifest.csv").read_text()
        assert ",written," in manifest and ",skipped," not in manifest, kind


def test_per_run_figures_are_listed_by_the_parameters_that_vary(report: Path,
                                                                tmp_path: Path) -> None:
    dom = dom_after(report / "report.html", ["Results", "4. latency per run"], tmp_path)
    labels = example_labels()
    keys = list(next(iter(labels.values())))
    assert keys == ["nbr_clients", "nbr_servers", "call_type"]
    (table,) = tables(dom)
    assert table["head"][:-1] == keys
    rows = [r[:-1] for r in table["rows"]]
    # first the sheet of all runs side by side, then each run by its parameters
    assert rows[0] == ["(all runs)"] * 3
    assert sorted(rows[1:]) == sorted([v[k] for k in keys] for v in labels.values())


def test_the_all_runs_row_shows_every_runs_figure_side_by_side(report: Path,
                                                               tmp_path: Path) -> None:
    dom = dom_after(report / "report.html",
                    ["Results", "4. latency per run", "row:(all runs)"], tmp_path)
    (src,) = re.findall(r'<img src="(data:image/png[^"]+)"', dom)
    png = base64.b64decode(src.split("base64,", 1)[1])
    folder = report / "example/figures/latency_hist"
    assert png == (folder / "all-runs.png").read_bytes()
    runs = [p for p in folder.glob("*.png") if p.stem != "all-runs"]
    assert len(runs) == 8
    with Image.open(folder / "all-runs.png") as sheet, Image.open(runs[0]) as one:
        # 8 figures at 60 %, in 2 rows of 4: rpc-call | rpc-cast, twice side by side
        assert sheet.size == (4 * round(one.width * 0.6), 2 * round(one.height * 0.6))


def test_a_figures_information_has_its_caption_and_no_run_list(report: Path,
                                                               tmp_path: Path) -> None:
    dom = dom_after(report / "report.html", ["Results", "4. latency per run", "info:"],
                    tmp_path)
    assert "Latency histograms of one run of campaign" in dom  # the caption
    # the job's parameters shown under it: the figures options, no list of run ids
    # or parameter names (the figure jobs take them from their inputs)
    assert "options={" in dom
    assert "run_ids=" not in dom and "param_names=" not in dom
    run_ids = [p["backup_dir"] for p in json.loads((EXAMPLE / "params.json").read_text())]
    assert not any(r in dom for r in run_ids)


def test_a_click_on_a_row_shows_its_figure(report: Path, tmp_path: Path) -> None:
    steps = ["Results", "1. load curves", "row:"]
    dom = dom_after(report / "report.html", steps, tmp_path)
    (src,) = re.findall(r'<img src="(data:image/png[^"]+)"', dom)
    png = base64.b64decode(src.split("base64,", 1)[1])
    first = sorted((report / "example/figures/load_curves").glob("*.png"))[0]
    assert png == first.read_bytes()


def test_campaign_table_varying_parameters_first_run_id_last(report: Path,
                                                              tmp_path: Path) -> None:
    dom = dom_after(report / "report.html", ["Results", "0. campaign table", "row:"],
                    tmp_path)
    (src,) = re.findall(r'<iframe src="(data:text/html[^"]+)"', dom)
    page = base64.b64decode(src.split("base64,", 1)[1]).decode("utf-8")
    (table,) = tables(page)
    head = table["head"]
    params = json.loads((EXAMPLE / "params.json").read_text())
    varying = [k for k in params[0]
               if k != "backup_dir" and len({json.dumps(p[k]) for p in params}) > 1]
    assert varying == ["nbr_clients", "nbr_servers", "call_type"]
    assert head[:len(varying)] == varying and head[-1] == "run_id"
    run_ids = sorted(p["backup_dir"] for p in params)
    assert sorted(r[-1] for r in table["rows"]) == run_ids


def test_screenshot_shows_the_listing_and_a_figure(report: Path, tmp_path: Path) -> None:
    png = screenshot_after(report / "report.html",
                           ["Results", "5. bus CPU and memory per run", "row:"],
                           tmp_path / "report.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (1600, 1000)
        rgb = im.convert("RGB")
        # the navigation bar (dark slate, its breadcrumbs, toggle and rows of runs at
        # the top left), the figure (white with lines) on the right: neither blank
        left = rgb.crop((0, 0, 380, 300))
        right = rgb.crop((500, 100, 1500, 800))
        assert max(ImageStat.Stat(left).stddev) > 10
        assert max(ImageStat.Stat(right).stddev) > 20
        assert len(right.getcolors(1 << 20) or []) > 50  # a plot, not a flat area


def test_report_size(report: Path) -> None:
    """The figures are palette PNGs: all the example's together (and the sheets of all
    runs) about 1 MB, so the zip report (what to share) is under 2 MB. The single-file
    report.html adds Snakemake's own scripts and metadata (React, Vega...: 3.0 MB
    whatever the results)."""
    pngs = sorted((report / "example/figures").glob("*/*.png"))
    sheets = [p for p in pngs if p.stem.startswith("all-runs")]
    assert len(pngs) - len(sheets) == 32 and len(sheets) == 5
    assert sum(p.stat().st_size for p in pngs) < 1.2 * MB
    assert (report / "report.zip").stat().st_size < 2 * MB
    with zipfile.ZipFile(report / "report.zip") as z:
        assert sum(1 for n in z.namelist() if n.endswith(".png")) == len(pngs)
    html = (report / "report.html").stat().st_size
    assert html < 2 * MB + 3 * MB  # the figures' 2 MB budget plus Snakemake's own part


@pytest.fixture(scope="module")
def synth_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    work = tmp_path_factory.mktemp("synth-report")
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(work / "t"),
                    "--clients", "1", "3", "--servers", "1", "--fail-rate", "0.01",
                    "--no-influx", "--agent-logs"], check=True, capture_output=True)
    cfg = write_config(work, {"timeouts": work / "t"}, influx={"enabled": False})
    run = snakemake(work, cfg)
    assert run.returncode == 0, run.output
    rep = snakemake(work, cfg, "--report", "results/report.html")
    assert rep.returncode == 0, rep.output
    return work / "results"


def test_synthetic_campaign_with_timeouts_lists_every_run(synth_report: Path,
                                                          tmp_path: Path) -> None:
    table = pd.read_csv(synth_report / "timeouts/campaign.csv")
    assert (table["status"] == "partial").any()  # messages timed out
    dom = dom_after(synth_report / "report.html",
                    ["Results", "7. messages over time per run"], tmp_path)
    (listing,) = tables(dom)
    keys = list(report_labels(table["label"].iloc[0]))
    assert listing["head"][:-1] == keys
    rows = [r[:-1] for r in listing["rows"]]
    assert rows[0] == ["(all runs)"] * len(keys)
    want = [list(report_labels(label).values()) for label in table["label"]]
    assert sorted(rows[1:]) == sorted(want)
    # the sheet holds every run's figure, partial ones included
    folder = synth_report / "timeouts/figures/message_timeline"
    runs = [p for p in folder.glob("*.png") if not p.stem.startswith("all-runs")]
    assert len(runs) == len(table)
    with Image.open(folder / "all-runs.png") as sheet, Image.open(runs[0]) as one:
        cells = (sheet.width // round(one.width * 0.6)) * (sheet.height // round(one.height * 0.6))
    assert cells >= len(table)
