"""All the runs' figures of one kind at a glance: a contact sheet.

A per-run kind (latency histograms, bus time series, messages over time) has one
figure per run; the report shows one at a time. The sheet puts them side by side,
each shrunk to :data:`SCALE` of its size (each keeps its own title, which names the
run), in a grid: one column per value of a parameter with 2 to :data:`MAX_COLUMNS`
values (the last such in the label, e.g. ``call_type``: rpc-call | rpc-cast), one
row per combination of the other parameters, in order (numbers as numbers). Without
such a parameter (or with no other), :data:`FALLBACK_COLUMNS` columns in the
manifest's order. Rows of small figures are put side by side (two rows of
rpc-call | rpc-cast make one of 4 figures). A sheet has as many rows as keep it at
most :data:`MAX_HEIGHT` pixels tall or :data:`ASPECT` times wider than tall (at most
:data:`MAX_ROWS`): more runs give more sheets.

Sheets are named ``all-runs.png``, or ``all-runs-1.png``, ``all-runs-2.png``... when
there are several (``reportspec.is_sheet``), have no
CSV (their figures have theirs) and are not in ``manifest.csv``.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ..reportspec import SHEET, is_sheet, report_labels
from .common import MANIFEST

SCALE = 0.6
MAX_COLUMNS = 4
FALLBACK_COLUMNS = 2
MAX_ROWS = 6
#: a sheet at least this much wider than tall: shown at the width of a screen, it fits
#: its height (Snakemake's report centres a figure and cannot scroll to a taller one's top)
ASPECT = 1.6
#: a sheet this tall (pixels) or less fits a screen, whatever its width
MAX_HEIGHT = 900
#: no sheet wider (pixels): a screen shows it at half its size at most
MAX_WIDTH = 2600


def _order(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def grid(names: Sequence[str]) -> list[list[str | None]]:
    """The rows of the sheet(s) of figures ``names`` (None: no figure in that cell)."""
    labels = [report_labels(n) for n in names]
    keys = list(labels[0]) if labels and all(list(x) == list(labels[0]) for x in labels) \
        else []
    col_key = next((k for k in reversed(keys)
                    if 2 <= len({x[k] for x in labels}) <= MAX_COLUMNS), None)
    if col_key is None or len(keys) < 2:
        rows = [list(names[i:i + FALLBACK_COLUMNS])
                for i in range(0, len(names), FALLBACK_COLUMNS)]
        return [r + [None] * (FALLBACK_COLUMNS - len(r)) for r in rows]
    cols = sorted({x[col_key] for x in labels}, key=_order)
    row_keys = [k for k in keys if k != col_key]
    rows: dict[tuple[str, ...], list[str | None]] = {}
    for name, x in zip(names, labels, strict=True):
        rk = tuple(x[k] for k in row_keys)
        rows.setdefault(rk, [None] * len(cols))[cols.index(x[col_key])] = name
    return [rows[rk] for rk in sorted(rows, key=lambda rk: [_order(v) for v in rk])]


def write_sheets(folder: Path | str, log: logging.Logger | None = None) -> list[Path]:
    """The contact sheet(s) of the figures written in ``folder`` (by its manifest);
    none for fewer than 2 figures. Old sheets of the folder are replaced."""
    folder = Path(folder)
    log = log or logging.getLogger(__name__)
    with open(folder / MANIFEST, newline="", encoding="utf-8") as f:
        written = [(r["name"], r["figure"]) for r in csv.DictReader(f)
                   if r["status"] == "written" and r["figure"].endswith(".png")]
    if any(is_sheet(n) for n, _ in written):
        log.warning("figures %s: no sheet of all runs: a run's figure is named %s*.png",
                    folder.name, SHEET)
        return []
    for old in folder.glob(f"{SHEET}*.png"):
        if is_sheet(old.stem):
            old.unlink()
    if len(written) < 2:
        return []
    files = dict(written)
    rows = grid([n for n, _ in written])
    tiles = _tiles(rows, files, folder)
    w = max(t.width for t in tiles.values())
    h = max(t.height for t in tiles.values())
    rows = _wrap(rows, w, h)
    ncols = max(len(r) for r in rows)
    per_sheet = max(1, min(MAX_ROWS, max(MAX_HEIGHT // h, int(w * ncols / (ASPECT * h)))))
    out = []
    starts = range(0, len(rows), per_sheet)
    digits = len(str(len(starts)))
    for page, start in enumerate(starts, start=1):
        # numbered from 1 (zero-padded: the report sorts them as text) when several
        path = folder / (f"{SHEET}.png" if len(starts) == 1 else
                         f"{SHEET}-{page:0{digits}d}.png")
        _compose(rows[start:start + per_sheet], tiles, (w, h, ncols), path)
        out.append(path)
    log.info("figures %s: %d runs' figures side by side in %s", folder.name, len(written),
             ", ".join(p.name for p in out))
    return out


def _wrap(rows: list[list[str | None]], w: int, h: int) -> list[list[str | None]]:
    """Rows of the grid put side by side, k at a time, so that the whole is about
    :data:`ASPECT` times wider than tall (k² = ASPECT h rows / (w columns)), and at
    most :data:`MAX_WIDTH` pixels wide: a grid of small figures takes fewer sheets."""
    c = max(len(r) for r in rows)
    k = max(1, round(math.sqrt(ASPECT * h * len(rows) / (w * c))))
    k = max(1, min(k, MAX_WIDTH // (w * c)))
    if k == 1:
        return rows
    blank: list[str | None] = [None] * c
    return [[x for r in rows[i:i + k] for x in r + [None] * (c - len(r))]
            + blank * (k - len(rows[i:i + k]))
            for i in range(0, len(rows), k)]


def _tiles(rows: list[list[str | None]], files: dict[str, str], folder: Path
           ) -> dict[str, Image.Image]:
    tiles: dict[str, Image.Image] = {}
    for row in rows:
        for name in row:
            if name is not None:
                with Image.open(folder / files[name]) as im:
                    rgb = im.convert("RGB")
                size = (max(1, round(rgb.width * SCALE)), max(1, round(rgb.height * SCALE)))
                tiles[name] = rgb.resize(size, Image.Resampling.LANCZOS)
    return tiles


def _compose(rows: list[list[str | None]], tiles: dict[str, Image.Image],
             cell: tuple[int, int, int], path: Path) -> None:
    w, h, ncols = cell
    sheet = Image.new("RGB", (w * ncols, h * len(rows)), "white")
    for i, row in enumerate(rows):
        for j, name in enumerate(row):
            if name is not None:
                sheet.paste(tiles[name], (j * w, i * h))
    pal = sheet.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    pal.save(path, format="PNG", optimize=True)
