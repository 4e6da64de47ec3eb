"""The data dictionary (issue 22, item 9): columns.csv describes every column of the
example's campaign table, docs/reference.md's table is generated from the same source, figure
CSVs carry no float noise."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO

from ombt_postmortem import columns
from ombt_postmortem.campaign import write_campaign
from ombt_postmortem.figures import load_curves
from ombt_postmortem.layout import CampaignDir
from ombt_postmortem.messages.analyse import analyse_messages, write_messages
from ombt_postmortem.ombt.run import analyse_run, write_run_stats
from ombt_postmortem.params import load_params

BEGIN, END = "<!-- columns: begin (tests/unit/test_columns.py) -->", "<!-- columns: end -->"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's table by stages 1, messages and 3 (no InfluxDB: its columns are
    checked below from the query set's names)."""
    out = tmp_path_factory.mktemp("cols")
    cdir = CampaignDir(out)
    for run in load_params(EXAMPLE):
        d = cdir.run(run.key)
        d.mkdir(parents=True)
        write_run_stats(analyse_run(EXAMPLE / run.run_id, run.run_id), d / "ombt.parquet",
                        d / "agents.parquet", d / "latency_hist.parquet")
        write_messages(analyse_messages(EXAMPLE / run.run_id, run.run_id),
                       d / "messages.parquet", d / "timeline.parquet", None)
    write_campaign(EXAMPLE, cdir, with_metrics=False, with_messages=True)
    return out


def test_every_column_of_the_example_is_described(written: Path) -> None:
    header = (written / "campaign.csv").read_text().splitlines()[0].split(",")
    with (written / "columns.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["column"] for r in rows] == header
    for r in rows:
        assert r["meaning"] and r["meaning"] != "not described", r
        assert r["stage"] in ("params.json", "ombt_stats", "messages", "influx_metrics",
                              "campaign"), r
    by = {r["column"]: r for r in rows}
    assert by["client_rate"]["unit"] == "msg/s"
    assert by["mem_used"]["unit"] == "bytes" if "mem_used" in by else True
    assert "send time" in by["rtt_p99_ms"]["meaning"]  # cast's client time named
    assert by["client_latency_p99_est_ms"]["meaning"].count("ESTIMATED") == 1
    assert by["nbr_clients"]["stage"] == "params.json"


def test_influx_metric_columns_of_the_query_set_are_described() -> None:
    import yaml
    spec = yaml.safe_load((REPO / "src/ombt_postmortem/data/queries/telegraf.yaml").read_text())
    names = [q["column"] for q in spec["queries"]]
    known = columns.expanded()
    for n in names:
        assert n in known, n
    assert known["mem_used"][1] == "bytes"
    # a query of another set is described from where it comes
    (row,) = columns.describe(["qdr_x"], metrics=["qdr_x"])
    assert row[3] == "influx_metrics" and row[1] != "not described"


def test_reference_table_is_generated_from_the_dictionary() -> None:
    readme = REPO / "docs" / "reference.md"
    text = readme.read_text()
    before, rest = text.split(BEGIN, 1)
    current, after = rest.split(END, 1)
    table = columns.markdown()
    if os.environ.get("OMBT_UPDATE_README"):
        readme.write_text(f"{before}{BEGIN}\n{table}{END}{after}")
        return
    assert current.strip("\n") == table.strip("\n"), \
        "docs/reference.md out of date (OMBT_UPDATE_README=1 rewrites it)"
    for c in columns.DICTIONARY:
        assert f"| `{c.name}` |" in current


def test_figure_csvs_carry_no_float_noise(written: Path, tmp_path: Path) -> None:
    table = pd.read_parquet(written / "campaign.parquet")
    table.loc[0, "client_rate"] = 17.299999999999997  # what the issue saw in a CSV
    load_curves(table, tmp_path)
    text = "".join(p.read_text() for p in tmp_path.glob("*.csv") if p.name != "manifest.csv")
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?", text)
    assert numbers and "17.3," in text
    for n in numbers:
        digits = n.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(digits) <= 15, n
