"""The report's campaign table (issue 22, item 7, part): the varying parameters first,
the run_id last."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from conftest import EXAMPLE
from test_columns import written  # noqa: F401  (the example's results, a fixture)

from ombt_postmortem.figures.table import campaign_table_html


def test_varying_parameters_first_run_id_last(written: Path, tmp_path: Path) -> None:  # noqa: F811
    table = pd.read_parquet(written / "campaign.parquet")
    params = json.loads((written / "layout.json").read_text())["params"]
    raw = json.loads((EXAMPLE / "params.json").read_text())
    varying = [k for k in raw[0] if k != "backup_dir" and len({str(r[k]) for r in raw}) > 1]
    page = campaign_table_html(table, tmp_path / "t.html", params=params).read_text()
    head = re.findall(r"<th>([^<]*)</th>", page)
    assert head[: len(varying)] == varying
    assert head[-1] == "run_id" and head.count("run_id") == 1
    assert sorted(head) == sorted(table.columns)
