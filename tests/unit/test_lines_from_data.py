"""Defaults from the data (issue 22, item 5): when the configured line variable gives lines
of fewer than 2 points, the load curves draw lines of what varies (servers per client) or
one line, and the manifest says so."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from conftest import EXAMPLE
from test_columns import written  # noqa: F401  (the example's results, a fixture)

from ombt_postmortem.figures import load_curves
from ombt_postmortem.figures.load_curves import choose_lines


def test_example_servers_grow_with_clients_one_line(written: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    table = pd.read_parquet(written / "campaign.parquet")
    params = json.loads((written / "layout.json").read_text())["params"]
    raw = json.loads((EXAMPLE / "params.json").read_text())
    fs = load_curves(table, tmp_path, params=params)
    with (tmp_path / "manifest.csv").open() as f:
        manifest = {r["name"]: r for r in csv.DictReader(f)}
    for call_type in ("rpc-call", "rpc-cast"):
        runs = [r for r in raw if r["call_type"] == call_type]
        clients_per_servers: dict[int, set[int]] = {}
        for r in runs:
            clients_per_servers.setdefault(r["nbr_servers"], set()).add(r["nbr_clients"])
        shortest = min(len(v) for v in clients_per_servers.values())
        assert shortest == 1  # what the issue saw: "curves" of one point
        name = f"driver=broker__call_type={call_type}"
        assert manifest[name]["status"] == "written"
        assert manifest[name]["reason"] == (
            f"lines by nbr_servers would have {shortest} point(s) (nbr_servers varies with "
            "nbr_clients): one line, nbr_servers in the CSV")
        with (tmp_path / f"{name}.csv").open() as f:
            rows = [r for r in csv.DictReader(f) if r["side"] == "client"]
        assert len({r["line"] for r in rows}) == 1
        assert sorted((int(r["nbr_clients"]), int(r["nbr_servers"])) for r in rows) == \
            sorted((r["nbr_clients"], r["nbr_servers"]) for r in runs)
    assert fs.notes


def _table(pairs: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame({"nbr_clients": [c for c, _ in pairs],
                         "nbr_servers": [s for _, s in pairs],
                         "run_id": [f"r{i}" for i in range(len(pairs))]})


def test_servers_per_client_when_it_gives_lines() -> None:
    t = _table([(2, 1), (4, 2), (8, 4), (2, 2), (4, 4), (8, 8)])
    sub, series, note = choose_lines(t, ["nbr_clients", "nbr_servers"], ["nbr_servers"],
                                     "nbr_clients", [])
    assert series == ["nbr_servers_per_nbr_clients"]
    assert sorted(sub["nbr_servers_per_nbr_clients"].unique()) == [0.5, 1.0]
    assert note == ("lines by nbr_servers would have 1 point(s): one line per nbr_servers / "
                    "nbr_clients instead")


def test_a_full_sweep_keeps_the_configured_lines() -> None:
    t = _table([(c, s) for s in (1, 2) for c in (1, 2, 4)])
    sub, series, note = choose_lines(t, ["nbr_clients", "nbr_servers"], ["nbr_servers"],
                                     "nbr_clients", [])
    assert (series, note) == (["nbr_servers"], "")
    assert sub is t
