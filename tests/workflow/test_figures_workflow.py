"""Real snakemake: the figure rules on two campaigns, then `--report` (self-contained HTML)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, SnakemakeResult, snakemake, write_config
from independent import labels_by_what_varies
from test_figures import check_image, check_load_csv, expected_load

from ombt_postmortem.reportspec import is_sheet

pytestmark = pytest.mark.workflow


SMALL = (1, 2)  # client counts kept: 4 runs per campaign keep the test fast


def example_params() -> list[dict]:
    return [p for p in json.loads((EXAMPLE / "params.json").read_text())
            if p["nbr_clients"] in SMALL]


def rabbit_campaign(dst: Path) -> Path:
    """The example's rpc-call run at 1 client, driver broker."""
    params = [p for p in example_params()
              if p["nbr_clients"] == 1 and p["call_type"] == "rpc-call"]
    for p in params:
        shutil.copytree(EXAMPLE / p["backup_dir"], dst / p["backup_dir"])
    (dst / "params.json").write_text(json.dumps(params))
    return dst


def router_campaign(dst: Path) -> Path:
    """The example's rpc-call runs at 1 and 2 clients, each twice: driver broker and qdr."""
    out = []
    for p in example_params():
        if p["call_type"] != "rpc-call":
            continue
        shutil.copytree(EXAMPLE / p["backup_dir"], dst / p["backup_dir"])
        shutil.copytree(EXAMPLE / p["backup_dir"], dst / (p["backup_dir"] + "-qdr"))
        out += [p, {**p, "driver": "qdr", "backup_dir": p["backup_dir"] + "-qdr"}]
    (dst / "params.json").write_text(json.dumps(out))
    return dst


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    work = tmp_path_factory.mktemp("figwf")
    a = rabbit_campaign(work / "rabbit")
    b = router_campaign(work / "router")
    cfg = write_config(work, {"rabbit": a, "router": b}, influx={"enabled": False})
    run = snakemake(work, cfg)
    assert run.returncode == 0, run.output
    rep = snakemake(work, cfg, "--report", "results/report.html")
    assert rep.returncode == 0, rep.output
    return work, run.output, rep.output


def test_few_figure_jobs(done: tuple[Path, str, str]) -> None:
    # the jobs run, from Snakemake's "Job stats" table (the console lists no job's
    # block since issue 22)
    counts = SnakemakeResult(0, done[1], "").job_counts()
    for rule, n in (("figures_campaign", 2), ("figures_latency", 2), ("figures_comparison", 1)):
        assert counts.get(rule) == n, (rule, counts)
    assert "figures_timeseries" not in counts  # no InfluxDB stage, no time series


def test_load_curve_csvs_equal_the_campaign_tables(done: tuple[Path, str, str]) -> None:
    work = done[0]
    for name in ("rabbit", "router"):
        table = pd.read_parquet(work / f"results/{name}/campaign.parquet")
        folder = work / f"results/{name}/figures/load_curves"
        combos = sorted({(d, c) for d, c in zip(table["driver"], table["call_type"],
                                                strict=True)})
        figs = sorted(folder.glob("*.png"))
        assert [p.stem for p in figs] == [f"driver={d}__call_type={c}" for d, c in combos]
        for (d, c), png in zip(combos, figs, strict=True):
            check_image(png)
            check_load_csv(png.with_suffix(".csv"), table, {"driver": d, "call_type": c})


def check_load_csv_rows(got: pd.DataFrame, table: pd.DataFrame) -> None:
    want = expected_load(table, {"call_type": "rpc-call"})
    got = got.sort_values(["run_id", "side"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, rtol=1e-12)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_skipped_figures_are_logged_not_drawn(done: tuple[Path, str, str]) -> None:
    work = done[0]
    res = work / "results/rabbit/figures/resources"
    assert files(res) == ["manifest.csv"]
    assert "no InfluxDB metric column" in (work / "results/rabbit/logs/figures_campaign.log"
                                           ).read_text()
    overlay = work / "results/rabbit/figures/latency_overlay"
    assert files(overlay) == ["manifest.csv"]
    log = (work / "results/rabbit/logs/figures_latency.log").read_text()
    assert "skipped call_type=rpc-call: a single driver (broker), nothing to compare" in log


def test_overlay_histograms_and_comparison_exist(done: tuple[Path, str, str]) -> None:
    work = done[0]
    overlay = work / "results/router/figures/latency_overlay"
    assert sorted(p.name for p in overlay.glob("*.png")) == [
        "call_type=rpc-call__side=client.png", "call_type=rpc-call__side=server.png"]
    hist = work / "results/router/figures/latency_hist"
    # per-run figures are named by what varies in the campaign (nbr_clients, driver)
    labels = labels_by_what_varies(json.loads((work / "router/params.json").read_text()))
    runs = [p for p in hist.glob("*.png") if not is_sheet(p.stem)]
    assert sorted(p.stem for p in runs) == sorted(labels.values())
    # and the 4 runs side by side: rpc-call only, 1 and 2 clients, broker and qdr
    assert [p.name for p in hist.glob("*.png") if is_sheet(p.stem)] == ["all-runs.png"]
    assert all(len(p.name) < 80 for p in hist.glob("*.png"))
    assert len([p for p in hist.glob("*.csv") if p.name != "manifest.csv"]) == 4
    comp = work / "results/comparison/load_curves"
    assert sorted(p.name for p in comp.glob("*.png")) == ["call_type=rpc-call.png"]
    got = pd.read_csv(comp / "call_type=rpc-call.csv")
    assert sorted(set(zip(got["campaign"], got["driver"], strict=True))) == [
        ("rabbit", "broker"), ("router", "broker"), ("router", "qdr")]
    for name in ("rabbit", "router"):
        table = pd.read_parquet(work / f"results/{name}/campaign.parquet")
        check_load_csv_rows(got[got["campaign"] == name], table)
    for png in [*overlay.glob("*.png"), *hist.glob("*.png"), *comp.glob("*.png")]:
        check_image(png)


def test_report_is_self_contained_with_every_figure(done: tuple[Path, str, str]) -> None:
    work, _, rep = done
    html = (work / "results/report.html").read_text()
    pngs = sorted((work / "results").glob("**/figures/**/*.png")) + sorted(
        (work / "results/comparison").glob("**/*.png"))
    assert len(pngs) >= 10
    for png in pngs:
        assert f"Adding {png.name}" in rep, png
        assert png.name in html
    assert "campaign_table.html" in html
    assert 'src="http' not in html  # nothing fetched from elsewhere
    assert len(html) > sum(p.stat().st_size for p in pngs)  # the images are embedded
