"""Contact sheets: all the runs' figures of a per-run kind side by side (issue 22,
item 7: the report's gallery)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ombt_postmortem.figures.sheet import SCALE, grid, write_sheets
from ombt_postmortem.reportspec import is_sheet, report_labels


def test_grid_columns_by_a_parameter_of_few_values_rows_in_numeric_order() -> None:
    names = ["nbr_clients=10__call_type=rpc-call", "nbr_clients=2__call_type=rpc-call",
             "nbr_clients=2__call_type=rpc-cast", "nbr_clients=1__call_type=rpc-cast"]
    assert grid(names) == [
        [None, "nbr_clients=1__call_type=rpc-cast"],
        ["nbr_clients=2__call_type=rpc-call", "nbr_clients=2__call_type=rpc-cast"],
        ["nbr_clients=10__call_type=rpc-call", None],
    ]


def test_grid_without_such_a_parameter_is_two_columns_in_order() -> None:
    assert grid(["run-b", "run-a", "run-c"]) == [["run-b", "run-a"], ["run-c", None]]
    # one parameter only: nothing to make rows of
    assert grid(["n=1", "n=2", "n=3"]) == [["n=1", "n=2"], ["n=3", None]]


def test_sheet_names_and_their_report_labels() -> None:
    assert is_sheet("all-runs") and is_sheet("all-runs-12")
    assert not is_sheet("all-runs-x") and not is_sheet("nbr_clients=1")
    keys = ["nbr_clients", "call_type"]
    assert report_labels("all-runs", keys) == {"nbr_clients": "(all runs)",
                                               "call_type": "(all runs)"}
    assert report_labels("all-runs-2", keys)["call_type"] == "(all runs, page 2)"
    assert report_labels("all-runs-02", keys)["call_type"] == "(all runs, page 02)"
    assert report_labels("all-runs") == {"figure": "(all runs)"}


def figures(folder: Path, names: list[str], size: tuple[int, int]) -> dict[str, Image.Image]:
    """One flat-coloured figure per name (a distinct colour each) and their manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    with open(folder / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "status", "figure", "data", "reason"])
        for i, name in enumerate(names):
            im = Image.new("RGB", size, (40 * i % 256, 255 - 30 * i, 90))
            im.save(folder / f"{name}.png")
            out[name] = im
            w.writerow([name, "written", f"{name}.png", f"{name}.csv", ""])
        w.writerow(["nbr_clients=9__call_type=rpc-call", "skipped", "", "", "no data"])
    return out


def test_sheet_places_each_runs_figure_in_its_cell(tmp_path: Path) -> None:
    names = [f"nbr_clients={n}__call_type={c}" for n in (1, 2) for c in ("rpc-call", "rpc-cast")]
    figs = figures(tmp_path, names, (1000, 700))
    (path,) = write_sheets(tmp_path)
    assert path.name == "all-runs.png"
    w, h = round(1000 * SCALE), round(700 * SCALE)
    with Image.open(path) as sheet:
        # rows: 1 and 2 clients; columns: rpc-call, rpc-cast; 840 pixels tall: one sheet
        assert sheet.size == (2 * w, 2 * h)
        px = np.asarray(sheet.convert("RGB"))
    for i, n in enumerate((1, 2)):
        for j, c in enumerate(("rpc-call", "rpc-cast")):
            name = f"nbr_clients={n}__call_type={c}"
            centre = px[i * h + h // 2, j * w + w // 2]
            assert tuple(centre) == figs[name].getpixel((500, 350)), name


def test_small_figures_sit_two_rows_in_one(tmp_path: Path) -> None:
    names = [f"nbr_clients={n}__call_type={c}" for n in (1, 2, 4, 6)
             for c in ("rpc-call", "rpc-cast")]
    figs = figures(tmp_path, names, (913, 726))  # the size of a latency histogram
    (path,) = write_sheets(tmp_path)
    w, h = round(913 * SCALE), round(726 * SCALE)
    with Image.open(path) as sheet:
        assert sheet.size == (4 * w, 2 * h)
        px = np.asarray(sheet.convert("RGB"))
    order = [["nbr_clients=1", "nbr_clients=2"], ["nbr_clients=4", "nbr_clients=6"]]
    for i, pair in enumerate(order):
        for k, n in enumerate(pair):
            for j, c in enumerate(("rpc-call", "rpc-cast")):
                name = f"{n}__call_type={c}"
                centre = px[i * h + h // 2, (2 * k + j) * w + w // 2]
                assert tuple(centre) == figs[name].getpixel((456, 363)), name


def test_many_runs_make_several_sheets_and_old_sheets_go(tmp_path: Path) -> None:
    names = [f"nbr_clients={n}__call_type={c}" for n in range(1, 13)
             for c in ("rpc-call", "rpc-cast")]
    figures(tmp_path, names, (800, 800))  # square figures: 2 per row, few rows per sheet
    (tmp_path / "all-runs-9.png").write_bytes(b"old")
    sheets = write_sheets(tmp_path)
    assert len(sheets) > 1
    width = len(str(len(sheets)))
    assert [p.name for p in sheets] == [f"all-runs-{i:0{width}d}.png"
                                        for i in range(1, len(sheets) + 1)]
    assert sorted(p.name for p in tmp_path.glob("all-runs*.png")) == sorted(
        p.name for p in sheets)
    cells = 0
    for p in sheets:
        with Image.open(p) as im:
            assert im.height <= 900 or im.width >= 1.6 * im.height
            cells += (im.width // round(800 * SCALE)) * (im.height // round(800 * SCALE))
    assert cells >= len(names)


@pytest.mark.parametrize("names", [["nbr_clients=1__call_type=rpc-call"], ["all-runs", "b"]])
def test_no_sheet_for_one_figure_or_a_run_named_like_a_sheet(tmp_path: Path,
                                                             names: list[str]) -> None:
    figures(tmp_path, names, (400, 300))
    assert write_sheets(tmp_path) == []
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(names)
