"""What every figure shares: options, style, labels, file names, figure + CSV + manifest.

Figures are built on :class:`matplotlib.figure.Figure` objects (Agg canvas),
never through pyplot: no global state, nothing to close, safe in any process.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator
from PIL import Image

from ..figspec import FORMATS, FigureOptions  # noqa: F401  (re-exported)
from ..labels import capped
from ..layout import COMPUTED_COLUMNS, LABEL, SIDES, run_key  # noqa: F401  (SIDES re-exported)

P = ParamSpec("P")
R = TypeVar("R")

#: bytes in a mebibyte: memory metrics are drawn in MiB
MIB = 1024.0 * 1024.0
MANIFEST = "manifest.csv"

#: readable names of the usual ombt-orchestrator parameters (axis labels, legend titles)
PARAM_LABELS = {
    "nbr_clients": "number of clients",
    "nbr_servers": "number of servers",
    "nbr_calls": "calls per client",
    "nbr_topics": "number of topics",
    "pause": "pause between calls (s)",
    "length": "message length (bytes)",
    "timeout": "timeout (s)",
    "call_type": "call type",
    "driver": "driver",
    "executor": "executor",
    "version": "ombt version",
    "campaign": "campaign",
}

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "figure.titlesize": 13,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "axes.grid": True,
    "axes.grid.which": "major",
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "savefig.facecolor": "white",
    "svg.hashsalt": "ombt-postmortem",  # reproducible SVG ids
}
#: 10 colours that stay distinct for the colour-blind (matplotlib's tab10)
PALETTE = list(matplotlib.colormaps["tab10"].colors)
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
LINESTYLES = ["-", "--", ":", "-."]
#: log axis when the positive values span at least this ratio
LOG_RATIO = 20.0


# --------------------------------------------------------------------------- naming


def param_label(col: str) -> str:
    """'number of clients (nbr_clients)': the readable name and the column it comes from."""
    name = PARAM_LABELS.get(col)
    return f"{name} ({col})" if name and name != col else col


def fmt_value(v: Any) -> str:
    """A parameter value as text: 4 not 4.0, NaN/None as 'n/a'."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "n/a"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def slug(v: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", fmt_value(v)).strip("-") or "none"


def stem_of(keys: Mapping[str, Any]) -> str:
    """File name of a figure from its group: ``driver=broker__call_type=rpc-call``; over
    :data:`~ombt_postmortem.labels.MAX_LABEL` characters, cut and ended by a hash of
    the whole (as the run labels are), so a long parameter value makes no name too
    long for the file system."""
    return capped("__".join(f"{slug(k)}={slug(v)}" for k, v in keys.items()) or "all")


def run_name(row: Mapping[str, Any] | pd.Series) -> str:
    """A run's name in per-run figure file names and titles: its ``label`` (the parameters
    that vary within the campaign, :mod:`ombt_postmortem.labels`), else its run key."""
    label = row.get(LABEL)
    if isinstance(label, str) and label:
        return label
    return run_key(str(row["run_id"]))


def describe(keys: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in keys.items())


# --------------------------------------------------------------------------- table helpers


def param_columns(table: pd.DataFrame, params: Sequence[str] | None = None) -> list[str]:
    """The run-parameter columns of a campaign table.

    ``params`` (the keys of params.json, e.g. from :func:`ombt_postmortem.params.load_params`)
    is the reliable source; without it, every column that is neither computed by the
    ombt stage (``client_*``, ``server_*``...) nor a float column is taken.
    """
    if params is not None:
        return [c for c in dict.fromkeys(params) if c in table.columns and c != "backup_dir"]
    out = []
    for c in table.columns:
        if c in COMPUTED_COLUMNS or c.startswith(("client_", "server_")):
            continue
        if pd.api.types.is_float_dtype(table[c]) and c not in PARAM_LABELS:
            continue  # metric columns of the InfluxDB stage
        out.append(c)
    return out


def shown_params(table: pd.DataFrame, params: Sequence[str] | None,
                 opts: FigureOptions) -> list[str]:
    """The parameters a per-run figure's title shows: the grouping ones, and those
    that vary within the table."""
    return [c for c in param_columns(table, params)
            if c in opts.group_by or table[c].nunique(dropna=False) > 1]


def run_frame(run_id: str, files: Mapping[str, Path | str] | None,
              frames: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame | None:
    """A run's per-run table: from ``frames`` when given, else read from its file in
    ``files`` (run_id -> path); None when there is none."""
    if frames is not None:
        return frames.get(run_id)
    p = Path(files[run_id]) if files and run_id in files else None
    return pd.read_parquet(p) if p is not None and p.is_file() else None


def require_columns(table: pd.DataFrame, what: str, *cols: str) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {missing} not in the campaign table "
                         f"(check the figures section of the config)")


def stack_campaigns(tables: Mapping[str, pd.DataFrame],
                    params: Mapping[str, Sequence[str]] | None, x: str,
                    missing_x: Callable[[str], None]) -> tuple[pd.DataFrame, list[str]]:
    """Several campaigns' tables as one, a ``campaign`` column first, and their parameter
    columns in order of appearance. A table without the ``x`` column is handed to
    ``missing_x`` (with the campaign's name): it raises, or the table is left out."""
    parts = []
    pcols: list[str] = []
    for name, t in tables.items():
        if x not in t.columns:
            missing_x(name)
            continue
        t = t.copy()
        t.insert(0, "campaign", name)
        parts.append(t)
        for c in param_columns(t, None if params is None else params.get(name)):
            if c not in pcols:
                pcols.append(c)
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()), pcols


def campaign_groups(fs: FigureSet, table: pd.DataFrame, group_by: Sequence[str]
                    ) -> Iterator[tuple[dict[str, Any], str, pd.DataFrame]]:
    """(values, figure name, rows) of each group of a stacked table (:func:`stack_campaigns`)
    that holds runs of at least two campaigns; a group of one campaign only is skipped in
    ``fs``'s manifest, with the reason (nothing to compare)."""
    for keys, sub in groups(table, group_by):
        name = stem_of(keys)
        found = list(dict.fromkeys(sub["campaign"]))
        if len(found) < 2:
            fs.skip(name, f"{describe(keys) or 'all runs'}: only in campaign {found[0]}, "
                          f"nothing to compare")
            continue
        yield keys, name, sub


def series_columns(sub: pd.DataFrame, params: Sequence[str], first: Sequence[str],
                   exclude: Iterable[str]) -> list[str]:
    """The columns that tell the lines of a figure apart.

    ``first`` (e.g. the configured line variable), then every other parameter
    that varies inside ``sub`` (so two different runs never share a line), then
    ``repeat`` when runs with identical parameters remain (repeated runs).
    """
    skip = set(exclude) | set(first)
    others = [c for c in params if c not in skip and sub[c].nunique(dropna=False) > 1]
    return [*first, *others]


def add_repeat(sub: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Number runs whose ``keys`` are all equal (repeats of one configuration)."""
    if not sub.duplicated(list(keys)).any():
        return sub, list(keys)
    sub = sub.copy()
    sub["repeat"] = sub.groupby(list(keys), dropna=False, sort=False).cumcount() + 1
    return sub, [*keys, "repeat"]


def sort_key(col: pd.Series) -> pd.Series:
    """Numbers in numeric order, the rest as text (mixed-type parameter columns)."""
    num = pd.to_numeric(col, errors="coerce")
    return num if num.notna().all() else col.map(fmt_value)


def sorted_by(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    return df.sort_values(list(cols), key=sort_key, kind="stable") if cols else df


def groups(df: pd.DataFrame, cols: Sequence[str]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """(values, rows) of each combination of ``cols``, in sorted order."""
    if not cols:
        yield {}, df
        return
    df = sorted_by(df, cols)
    for key, sub in df.groupby(list(cols), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(cols, key, strict=True)), sub


def with_repeat(sub: pd.DataFrame, series: list[str], x: str) -> tuple[pd.DataFrame, list[str]]:
    """``series`` plus ``repeat`` when runs share all of ``series`` and ``x``."""
    sub, keys = add_repeat(sub, [*series, x])
    return sub, [k for k in keys if k != x]


def norm_key(key: Any) -> tuple[str, ...]:
    """A groupby key as a tuple of texts (NaN-safe dictionary key)."""
    return tuple(fmt_value(v) for v in (key if isinstance(key, tuple) else (key,)))


def series_styles(data: pd.DataFrame, series: Sequence[str],
                  colour_by: str | None) -> dict[tuple[str, ...], dict[str, Any]]:
    """Colour, marker and line style of each series (by :func:`norm_key`), for all panels."""
    keys = list(dict.fromkeys(norm_key(k) for k, _ in data.groupby(
        list(series), sort=False, dropna=False)))
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    if colour_by is None:
        for i, k in enumerate(keys):
            out[k] = {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
                      "linestyle": LINESTYLES[(i // len(PALETTE)) % len(LINESTYLES)]}
        return out
    ci = list(series).index(colour_by)
    colours = list(dict.fromkeys(k[ci] for k in keys))
    rests = list(dict.fromkeys(k[:ci] + k[ci + 1:] for k in keys))
    for k in keys:
        j = rests.index(k[:ci] + k[ci + 1:])
        c = colours.index(k[ci])
        out[k] = {"color": PALETTE[c % len(PALETTE)],
                  "marker": MARKERS[(c + j) % len(MARKERS)],  # tells overlapping curves apart
                  "linestyle": LINESTYLES[j % len(LINESTYLES)]}
    return out


def line_label(values: Mapping[str, Any]) -> str:
    return ", ".join(fmt_value(v) if k != "repeat" else f"repeat {v}" for k, v in values.items())


def legend_title(cols: Sequence[str]) -> str:
    return ", ".join(param_label(c) for c in cols)


# --------------------------------------------------------------------------- axes helpers


def finite_positive(values: Iterable[Any]) -> np.ndarray:
    a = pd.to_numeric(pd.Series(list(values), dtype="object"), errors="coerce").to_numpy(float)
    return a[np.isfinite(a) & (a > 0)]


def spans_decades(values: Iterable[Any], ratio: float = LOG_RATIO) -> bool:
    v = finite_positive(values)
    return bool(v.size) and float(v.max() / v.min()) >= ratio


def _plain(v: float, _pos: int | None = None) -> str:
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:g}"


def set_x(ax: Axes, values: Iterable[Any]) -> None:
    """Log scale if the x values span decades; ticks at the values when there are few.

    Limits are set from the values (artists drawn with a shifted transform are
    not seen by matplotlib's autoscaling).
    """
    vals = sorted(set(finite_positive(values).tolist()))
    if not vals:
        return
    lo, hi = vals[0], vals[-1]
    if spans_decades(vals):
        ax.set_xscale("log")
        log_ticks(ax.xaxis, hi / lo)
        ax.set_xlim(lo / 1.25, hi * 1.25)
    else:
        pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 0.5)
        ax.set_xlim(lo - pad, hi + pad)
    if len(vals) <= 12:
        ax.set_xticks(vals)
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        ax.xaxis.set_minor_locator(NullLocator())


def dodge_steps(frame: pd.DataFrame, x: str, series: Sequence[str],
                value: str) -> pd.Series:
    """Sideways step of each row: series sharing an x value (with a value) are spread out."""
    steps = pd.Series(0.0, index=frame.index)
    has = frame[frame[value].notna()]
    for _, at_x in has.groupby(x, sort=False, dropna=False):
        n = len(at_x)
        steps.loc[at_x.index] = [i - (n - 1) / 2 for i in range(n)]
    return steps


def dodged(ax: Axes, xs: pd.Series, steps: pd.Series, frac: float = 0.012) -> pd.Series:
    """x shifted by ``steps * frac`` of the axis width (after its limits are set)."""
    lo, hi = ax.get_xlim()
    if ax.get_xscale() == "log":
        return xs.astype(float) * (hi / lo) ** (steps * frac)
    return xs.astype(float) + steps * frac * (hi - lo)


def set_y(ax: Axes, values: Iterable[Any], *, zero: bool = True) -> None:
    """Log scale if the values span decades (symlog if some are 0), else linear from 0
    (``zero``); limits are set from the values."""
    values = list(values)
    v = finite_positive(values)
    if not v.size:  # only zeros (or nothing): a unit axis from 0
        ax.set_ylim(0, 1)
        return
    lo, hi = float(v.min()), float(v.max())
    a = pd.to_numeric(pd.Series(list(values), dtype="object"), errors="coerce").to_numpy(float)
    if spans_decades(v) and (a == 0).any():  # zeros stay visible: linear below the smallest
        ax.set_yscale("symlog", linthresh=lo, linscale=0.5)
        decades = range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)
        ax.yaxis.set_major_locator(FixedLocator([0.0, *(10.0**k for k in decades)]))
        ax.yaxis.set_major_formatter(FuncFormatter(_plain))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(0, hi * 1.3)
    elif spans_decades(v):
        ax.set_yscale("log")
        log_ticks(ax.yaxis, hi / lo)
        ax.set_ylim(lo / 1.3, hi * 1.3)
    elif zero:
        ax.set_ylim(0, hi * 1.08)
    else:
        pad = (hi - lo) * 0.08 or hi * 0.1
        ax.set_ylim(lo - pad, hi + pad)


def log_ticks(axis: Any, ratio: float) -> None:
    """Plain numbers on a log axis; 1-2-5 ticks when it spans less than 3 decades."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if ratio < 1e3 else (1.0,)))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_plain))


def new_figure(n_panels: int, *, ncols: int = 2, panel_size: tuple[float, float] = (5.0, 3.4),
               sharex: bool = True, legend_width: float = 2.2) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` axes on a grid; unused cells are removed."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols + legend_width, panel_size[1] * nrows + 0.8),
                 layout="constrained")
    grid = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[n_panels:]:
        ax.remove()
    axes = axes[:n_panels]
    return fig, axes


def has_panel_below(i: int, n_panels: int, ncols: int) -> bool:
    """Panel ``i`` of a shared-x grid: its x label is left to the panel below it."""
    return i + ncols < n_panels


def finish_x(axes: Sequence[Axes], ncols: int, label: str) -> None:
    """x label (and tick labels) only on the lowest panel of each column."""
    for i, ax in enumerate(axes):
        below = has_panel_below(i, len(axes), ncols)
        ax.tick_params(labelbottom=not below)
        ax.set_xlabel("" if below else label)


@contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Draw under the house style (the rc parameters are read when artists are made)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Written:
    """One figure written: the picture and, next to it, the exact data it plots."""

    kind: str
    name: str
    figure: Path
    data: Path


@dataclass
class FigureSet:
    """The figures of one kind written in one folder, and those skipped (with why)."""

    kind: str
    out_dir: Path
    opts: FigureOptions
    log: logging.Logger
    written: list[Written] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: name -> a note on a written figure (e.g. a default the data did not fit), in the
    #: manifest's ``reason`` column
    notes: dict[str, str] = field(default_factory=dict)

    #: figures queued by :meth:`draw_later`, drawn by :meth:`flush`
    pending: list[tuple[str, Callable[..., Figure | None], tuple[Any, ...], pd.DataFrame]] = \
        field(default_factory=list)

    def _paths(self, name: str) -> tuple[Path, Path]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return (self.out_dir / f"{name}.{self.opts.formats[0]}",
                self.out_dir / f"{name}.csv")

    def _done(self, name: str, fig_path: Path, csv_path: Path, rows: int) -> Written:
        w = Written(self.kind, name, fig_path, csv_path)
        self.written.append(w)
        self.log.info("figures %s: wrote %s (+ %s, %d rows)", self.kind, fig_path.name,
                      csv_path.name, rows)
        return w

    def save(self, fig: Figure, data: pd.DataFrame, name: str) -> Written:
        """Write ``fig`` and, next to it, ``data`` (the numbers it plots) as CSV."""
        fig_path, csv_path = self._paths(name)
        _write(fig, data, fig_path, csv_path, self.opts.formats, self.opts.dpi)
        return self._done(name, fig_path, csv_path, len(data))

    def draw_later(self, name: str, draw: Callable[..., Figure | None], args: tuple[Any, ...],
                   data: pd.DataFrame) -> None:
        """Queue ``draw(*args)`` (a module-level function) for :meth:`flush`."""
        self.pending.append((name, draw, args, data))

    def flush(self, workers: int = 1) -> None:
        """Draw and write the queued figures, in ``workers`` forked processes if > 1."""
        tasks = [(*self._paths(name), draw, args, data, self.opts.formats, self.opts.dpi)
                 for name, draw, args, data in self.pending]
        names = [t[0] for t in self.pending]
        self.pending = []
        if workers > 1 and len(tasks) > 1:
            ctx = multiprocessing.get_context("fork")  # no re-import of the caller's script
            with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx) as pool:
                results = list(pool.map(_draw_and_write, tasks, chunksize=4))
        else:
            results = [_draw_and_write(t) for t in tasks]
        for name, task, drawn in zip(names, tasks, results, strict=True):
            if drawn:
                self._done(name, task[0], task[1], len(task[4]))
            else:
                self.skip(name, "nothing to draw")

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))
        self.log.info("figures %s: skipped %s: %s", self.kind, name, reason)

    def write_manifest(self) -> Path:
        """``manifest.csv``: every figure of the folder, written or skipped (and why)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / MANIFEST
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["name", "status", "figure", "data", "reason"])
            for x in self.written:
                w.writerow([x.name, "written", x.figure.name, x.data.name,
                            self.notes.get(x.name, "")])
            for name, reason in self.skipped:
                w.writerow([name, "skipped", "", "", reason])
        self.log.info("figures %s: %d written, %d skipped -> %s", self.kind, len(self.written),
                      len(self.skipped), self.out_dir)
        return path


def _write(fig: Figure, data: pd.DataFrame, fig_path: Path, csv_path: Path,
           fmt: str | Sequence[str], dpi: int) -> None:
    """The figure in ``fig_path``, in its first format, and beside it (same name) in
    the others; its data in ``csv_path``."""
    formats = [fmt] if isinstance(fmt, str) else list(fmt)
    with style():
        for i, f in enumerate(formats):
            metadata = {"Date": None} if f in ("svg", "pdf") else {}
            path = fig_path if i == 0 else fig_path.with_suffix(f".{f}")
            if f == "png":
                _save_png(fig, path, dpi)
            else:
                fig.savefig(path, format=f, dpi=dpi, metadata=metadata)
    data.to_csv(csv_path, index=False, lineterminator="\n", float_format=CSV_FLOAT)


def _save_png(fig: Figure, path: Path, dpi: int) -> None:
    """A PNG of at most 256 colours: a line plot has a few dozen plus the shades of
    anti-aliasing, and the palette PNG is about 3 times smaller than matplotlib's RGBA
    one (the bundled example's 32 figures: 2.7 MB -> 0.8 MB), which keeps the
    report small. Pillow (a matplotlib dependency) quantises, without dithering."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    with Image.open(buf) as im:
        pal = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                         dither=Image.Dither.NONE)
    pal.save(path, format="PNG", optimize=True)


#: figure CSVs: 15 significant digits, what a double holds for sure (17.3, not
#: 17.299999999999997; an epoch second keeps its 10 microseconds)
CSV_FLOAT = "%.15g"


def _draw_and_write(task: tuple[Any, ...]) -> bool:
    fig_path, csv_path, draw, args, data, fmt, dpi = task
    fig = draw(*args)
    if fig is None:
        return False
    _write(fig, data, fig_path, csv_path, fmt, dpi)
    return True


def figure_set(kind: str, out_dir: Path | str, opts: FigureOptions | None,
               log: logging.Logger | None) -> FigureSet:
    return FigureSet(kind, Path(out_dir), opts or FigureOptions(),
                     log or logging.getLogger(f"ombt_postmortem.figures.{kind}"))
