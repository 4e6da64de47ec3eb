"""campaign/table.py: params keys that collide with table columns, params of mixed types, and the
``_rabbitmq_*`` groups of params_calculated.json against the campaign table (issue 12, item 7)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO
from influx_helpers import influx_test
from test_faults_workflow import clean_example_run

from ombt_postmortem.campaign import build_table, write_table
from ombt_postmortem.params import Run


def ombt_row(run_id: str, **extra: Any) -> dict[str, Any]:
    return {"run_id": run_id, "status": "ok", "problems": "", "n_clients": 2, "n_servers": 1,
            "client_rate": 100.0, "server_rate": 99.0, **extra}


def test_a_params_key_colliding_with_a_table_column_is_kept_apart() -> None:
    params = {"driver": "broker", "status": "from-params", "problems": "none here",
              "n_clients": 7, "client_rate": 5, "influx_notes": "p", "run_id": "p-id",
              "queues": "q", "controller_files": "c"}
    runs = [Run(run_id="r1", key="r1", params=dict(params))]
    table = build_table(runs, {"r1": ombt_row("r1", controller_files="ctl.log")},
                        {"r1": {"run_id": "r1", "queues": 3.0, "influx_problems": "",
                                "influx_notes": "a note"}})
    row = table.iloc[0].to_dict()
    # the table's own columns keep the run's values ...
    assert (row["run_id"], row["status"], row["problems"], row["n_clients"],
            row["client_rate"], row["influx_notes"], row["queues"], row["controller_files"]) == \
        ("r1", "ok", "", 2, 100.0, "a note", 3.0, "ctl.log")
    # ... and every colliding parameter is kept, under param_<key> (an ombt or metric column
    # too: a stage's column and a parameter of the same name both stay)
    for key in ("status", "problems", "n_clients", "client_rate", "influx_notes", "run_id",
                "queues", "controller_files"):
        assert row[f"param_{key}"] == params[key], key
    assert row["driver"] == "broker"  # no collision: the key itself
    assert list(table.columns).count("status") == 1


def test_params_of_mixed_types_stay_readable(tmp_path: Path) -> None:
    values = {"pause": [0, 0.5, None], "delay": [1, "1", None], "topics": [[1, 2], "a", 3],
              "flag": [True, False, True], "extra": [{"b": 1, "a": 2}, None, "x"]}
    runs = [Run(run_id=f"r{i}", key=f"r{i}",
                params={k: v[i] for k, v in values.items() if v[i] is not None})
            for i in range(3)]
    table = build_table(runs, {f"r{i}": ombt_row(f"r{i}") for i in range(3)})
    write_table(table, tmp_path / "t.parquet", tmp_path / "t.csv")
    back = pq.read_table(tmp_path / "t.parquet").to_pydict()
    # numbers stay numbers, booleans booleans (a missing value: null)
    assert back["pause"] == [0, 0.5, None]
    assert back["flag"] == [True, False, True]
    # a column mixing kinds: strings kept, the rest written as JSON, missing stays missing
    assert back["delay"] == ["1", "1", None]
    assert back["topics"] == ["[1, 2]", "a", "3"]
    assert back["extra"] == [json.dumps({"a": 2, "b": 1}), None, "x"]
    assert [json.loads(v) for v in back["topics"][::2]] == [[1, 2], 3]
    csv = (tmp_path / "t.csv").read_text().splitlines()
    assert len(csv) == 4


def query_measurements() -> dict[str, str]:
    """column -> the measurement its template reads, from the query set YAML itself."""
    qs = yaml.safe_load((REPO / "src/ombt_postmortem/data/queries/telegraf.yaml").read_text())
    out = {}
    for q in qs["queries"]:
        found = set(re.findall(r'FROM\s+"(\w+)"', q["template"]))
        assert len(found) == 1, q
        out[q["column"]] = found.pop()
    return out


@pytest.mark.workflow
@influx_test
def test_rabbitmq_groups_of_params_calculated_match_the_table(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    work = clean_example_run(tmp_path_factory)
    table = pq.read_table(work / "results/ex/campaign.parquet").to_pylist()
    calc = json.loads((work / "results/ex/params_calculated.json").read_text())
    assert [c["backup_dir"] for c in calc] == [r["run_id"] for r in table]
    # the seed notebook's RabbitMQ metrics are grouped by measurement; the per-run counters
    # added since (not the seed notebook's) go to the `influx` group with the other new columns
    added = {"messages_delivered_in_run", "messages_delivered_rate"}
    rabbit = {c: m for c, m in query_measurements().items()
              if m.startswith("rabbitmq_") and c not in added}
    assert added <= set(query_measurements())
    for entry, row in zip(calc, table, strict=True):
        for column in added:
            got, want = entry["_influx"][column], row[column]
            assert got == want or (got is None and math.isnan(want)), (column, got, want)
    assert {"rabbitmq_overview", "rabbitmq_node"} <= set(rabbit.values())
    seen = 0
    for entry, row in zip(calc, table, strict=True):
        groups = {k for k in entry if k.startswith("_rabbitmq_")}
        assert groups == {f"_{m}" for m in rabbit.values()}, entry.keys()
        for column, measurement in rabbit.items():
            got, want = entry[f"_{measurement}"][column], row[column]
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None, (row["run_id"], column)
            else:
                assert got == want, (row["run_id"], column, got, want)
                seen += 1
        # no metric in a group it does not belong to
        for group in groups:
            assert {c for c in entry[group]} == {c for c, m in rabbit.items()
                                                 if f"_{m}" == group}
    assert seen > 0  # the example campaign's RabbitMQ metrics are really there
