"""Latency distributions from the merged decade histograms (each run's latency_hist.parquet).

ombt counts latencies in decade buckets: bucket i of decade d holds
[i*10^d, (i+1)*10^d) ms, and bucket 0 of decade 0 everything below 1 ms.
Bucket 0 of a decade d >= 1 ([0, 10^d)) overlaps the decades below and is
always empty in ombt's own output; empty ones are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..layout import HIST, SIDES
from .common import (
    PALETTE,
    FigureOptions,
    FigureSet,
    describe,
    figure_set,
    finish_x,
    fmt_value,
    groups,
    legend_title,
    line_label,
    log_ticks,
    new_figure,
    norm_key,
    param_columns,
    param_label,
    run_frame,
    run_name,
    series_styles,
    shown_params,
    sorted_by,
    stem_of,
    styled,
    with_repeat,
)


def histogram_data(hist: pd.DataFrame) -> pd.DataFrame:
    """The plotted buckets of one run: side, decade, bucket, lower_ms, upper_ms, count,
    ``drawn_lower_ms`` (the left edge on the log axis: upper/10 for a bucket starting
    at 0 ms), ``share_pct`` (count / the side's total count x 100) and the bar height
    ``density_pct_per_decade`` = share_pct / log10(upper_ms / drawn_lower_ms)."""
    h = hist.copy()
    h = h[~((h["lower_ms"] <= 0) & (h["decade"] >= 1) & (h["count"] == 0))]
    h = h.sort_values(["side", "lower_ms", "upper_ms"], kind="stable")
    h["drawn_lower_ms"] = np.where(h["lower_ms"] > 0, h["lower_ms"], h["upper_ms"] / 10.0)
    totals = h.groupby("side")["count"].transform("sum")
    h["share_pct"] = np.where(totals > 0, h["count"] / totals.where(totals > 0, 1) * 100.0,
                              np.nan)
    h = h[totals > 0]
    # on a log axis the buckets have unequal widths (1-2 ms: 0.30 decade, 9-10 ms: 0.05):
    # bar height = share per decade of width, so that bar AREA is the bucket's share
    h["density_pct_per_decade"] = h["share_pct"] / np.log10(h["upper_ms"] / h["drawn_lower_ms"])
    order = {s: i for i, s in enumerate(SIDES)}
    h = h.sort_values(["side", "lower_ms", "upper_ms"], key=lambda c: c.map(order)
                      if c.name == "side" else c, kind="stable")
    cols = ["side", "decade", "bucket", "lower_ms", "upper_ms", "drawn_lower_ms", "count",
            "share_pct", "density_pct_per_decade"]
    return h[cols].reset_index(drop=True)


def cdf_data(hist: pd.DataFrame) -> pd.DataFrame:
    """Cumulative share of each side's latencies at the bucket edges (exact: no interpolation).

    Points: (lower edge of the first non-empty bucket, 0 %) when that edge is > 0,
    then (upper edge, share of latencies below it) for each bucket up to the last
    non-empty one. Columns: side, latency_ms, cum_count, cum_share_pct.
    """
    rows = []
    for side in SIDES:
        h = hist[hist["side"] == side]
        h = h[~((h["lower_ms"] <= 0) & (h["decade"] >= 1) & (h["count"] == 0))]
        h = h.sort_values(["upper_ms", "lower_ms"], kind="stable")
        total = int(h["count"].sum())
        if total == 0:
            continue
        nz = np.flatnonzero(h["count"].to_numpy() > 0)
        h = h.iloc[nz[0]: nz[-1] + 1]
        first_lower = float(h["lower_ms"].iloc[0])
        if first_lower > 0:
            rows.append({"side": side, "latency_ms": first_lower, "cum_count": 0,
                         "cum_share_pct": 0.0})
        cum = 0
        for upper, count in zip(h["upper_ms"], h["count"], strict=True):
            cum += int(count)
            rows.append({"side": side, "latency_ms": float(upper), "cum_count": cum,
                         "cum_share_pct": cum / total * 100.0})
    return pd.DataFrame(rows, columns=["side", "latency_ms", "cum_count", "cum_share_pct"])


def _latency_axis(ax: Any, lo: float, hi: float) -> None:
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.3, hi * 1.3)
    log_ticks(ax.xaxis, hi / lo)


def draw_histogram_panel(ax: Axes, data: pd.DataFrame, side: str, colour: Any,
                         limits: tuple[float, float] | None = None, label: str | None = None,
                         outline: bool = False) -> bool:
    """One side's histogram of :func:`histogram_data`'s frame into ``ax``: bars (area =
    share of the side's latencies), or with ``outline`` a step line (to overlay several
    runs; ``label`` names it in a legend). ``limits``: the latency axis (ms), default the
    side's buckets. True when the bucket below 1 ms holds latencies (drawn hatched)."""
    d = data[data["side"] == side]
    if limits is None:
        nz = d[d["count"] > 0]
        limits = (float(nz["drawn_lower_ms"].min()), float(nz["upper_ms"].max()))
    open_low = d["lower_ms"] <= 0
    height = d["density_pct_per_decade"]
    below_one = False
    if outline:
        edges = np.append(d["drawn_lower_ms"].to_numpy(float), float(d["upper_ms"].iloc[-1]))
        ax.stairs(height.to_numpy(float), edges, color=colour, label=label, linewidth=1.6)
    else:
        ax.bar(d["drawn_lower_ms"], height, width=d["upper_ms"] - d["drawn_lower_ms"],
               align="edge", color=colour, edgecolor="white", linewidth=0.5, label=label)
        if (open_low & (d["count"] > 0)).any():
            below_one = True
            lows = d[open_low]
            ax.bar(lows["drawn_lower_ms"], lows["density_pct_per_decade"],
                   width=lows["upper_ms"] - lows["drawn_lower_ms"], align="edge",
                   color="none", edgecolor="0.2", hatch="///", linewidth=0.5)
    n = int(d["count"].sum())
    ax.set_title(f"{side} side: {n:,} latencies")
    ax.set_ylabel("% of latencies\nper decade")
    top = max(float(height.max()) * 1.1, 1.0)
    ax.set_ylim(0, max(top, ax.get_ylim()[1]) if outline else top)
    _latency_axis(ax, *limits)
    return below_one


@styled
def draw_histogram(data: pd.DataFrame, title: str) -> Figure | None:
    """One panel per side with latencies: bars of the share of latencies per bucket."""
    sides = [s for s in SIDES if (data["side"] == s).any()]
    if not sides:
        return None
    fig, axes = new_figure(len(sides), ncols=1, panel_size=(8.0, 2.9), legend_width=0.3)
    nz = data[data["count"] > 0]
    lo, hi = float(nz["drawn_lower_ms"].min()), float(nz["upper_ms"].max())
    below_one = False
    for ax, side, colour in zip(axes, sides, PALETTE, strict=False):
        below_one = draw_histogram_panel(ax, data, side, colour, (lo, hi)) or below_one
    finish_x(axes, 1, "latency (ms, log scale); bars: ombt's buckets, bar area = share of "
                      "the side's latencies")
    fig.suptitle(title)
    if below_one:
        fig.legend([Patch(facecolor="none", edgecolor="0.2", hatch="///")],
                   ["everything below 1 ms\n(drawn over 0.1-1 ms)"], loc="outside lower right",
                   title="hatched bucket")
    return fig


def draw_cdf_panel(ax: Axes, data: pd.DataFrame, series: Sequence[str],
                   styles: Mapping[tuple[str, ...], Mapping[str, Any]] | None = None,
                   limits: tuple[float, float] | None = None) -> dict[str, Any]:
    """Cumulative latency distributions into ``ax``: one curve per ``series`` value of
    ``data`` (rows of :func:`cdf_data` plus the ``series`` columns). ``limits``: the
    latency axis (ms), default the data's. Returns the legend's handles."""
    if styles is None:
        styles = series_styles(data, series, None)
    if limits is None:
        limits = (float(data["latency_ms"].min()), float(data["latency_ms"].max()))
    handles: dict[str, Any] = {}
    for key, s in data.groupby(list(series), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = line_label(dict(zip(series, key, strict=True)))
        (h,) = ax.plot(s["latency_ms"], s["cum_share_pct"], label=label, markersize=3,
                       **styles[norm_key(key)])
        handles.setdefault(label, h)
    ax.set_ylim(0, 101)
    ax.set_yticks([0, 25, 50, 75, 90, 99])
    ax.set_ylabel("latencies below (%)")
    _latency_axis(ax, *limits)
    return handles


@styled
def draw_overlay(facets: Sequence[tuple[Any, str, pd.DataFrame]], x: str,
                 series: Sequence[str], colour_by: str, title: str) -> Figure:
    """One panel per (x value, panel label, data): the runs' cumulative distributions."""
    all_series = pd.concat([d for _, _, d in facets])
    styles = series_styles(all_series, series, colour_by)
    ncols = 2 if len(facets) == 4 else min(3, len(facets))
    fig, axes = new_figure(len(facets), ncols=ncols, panel_size=(4.3, 3.2), legend_width=2.4)
    lo = float(all_series["latency_ms"].min())
    hi = float(all_series["latency_ms"].max())
    handles: dict[str, Any] = {}
    for ax, (xv, panel, d) in zip(axes, facets, strict=True):
        for label, h in draw_cdf_panel(ax, d, series, styles, (lo, hi)).items():
            handles.setdefault(label, h)
        ax.set_title(f"{param_label(x)} = {fmt_value(xv)}" + (f"\n{panel}" if panel else ""))
    finish_x(axes, ncols, "latency (ms, log scale)")
    for i, ax in enumerate(axes):
        if i % ncols:
            ax.set_ylabel("")
    fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles.keys()), title=legend_title(series),
               loc="outside right center")
    return fig


def _read_hists(table: pd.DataFrame, files: Mapping[str, Path | str] | None,
                hists: Mapping[str, pd.DataFrame] | None,
                fs: FigureSet) -> dict[str, pd.DataFrame]:
    if hists is not None:
        return dict(hists)
    out = {}
    for run_id in table["run_id"]:
        h = run_frame(run_id, files, None)
        if h is not None:
            out[run_id] = h
        else:
            fs.log.info("figures %s: run %s: no %s", fs.kind, run_id, HIST)
    return out


def _run_title(prefix: str, row: pd.Series, shown: Sequence[str]) -> str:
    what = describe({c: row[c] for c in shown})
    head = f"{prefix}: latency distribution" if prefix else "latency distribution"
    return f"{head}\nrun {what}" if what else f"{head}\nrun {run_name(row)}"


def latency_histograms(table: pd.DataFrame, files: Mapping[str, Path | str] | None,
                       out_dir: Path | str,
                       opts: FigureOptions | None = None, *,
                       params: Sequence[str] | None = None, title: str = "",
                       hists: Mapping[str, pd.DataFrame] | None = None, workers: int = 1,
                       log: logging.Logger | None = None) -> FigureSet:
    """One figure per run (named by its label, see :func:`.common.run_name`): client and
    server latency histograms.

    ``files`` maps run_id to its latency_hist.parquet; ``hists`` (run_id ->
    histogram frame) may be given instead. ``workers`` > 1 draws in that many processes.
    """
    fs = figure_set("latency_hist", out_dir, opts, log)
    hists = _read_hists(table, files, hists, fs)
    shown = shown_params(table, params, fs.opts)
    for _, row in table.iterrows():
        name = run_name(row)
        if row["run_id"] not in hists:
            fs.skip(name, f"no latency histogram ({HIST} missing)")
            continue
        data = histogram_data(hists[row["run_id"]])
        if data.empty:
            fs.skip(name, f"no latency recorded (status {row['status']})")
            continue
        fs.draw_later(name, draw_histogram, (data, _run_title(title, row, shown)), data)
    fs.flush(workers)
    fs.write_manifest()
    return fs


def compare_from_data(table: pd.DataFrame, pcols: Sequence[str], o: FigureOptions
                      ) -> str | None:
    """When ``figures.compare`` has a single value in ``table``, the first parameter (in
    params.json order, not x) with several values among runs of equal x; else None."""
    if table[o.compare].nunique(dropna=False) >= 2 or o.x not in table.columns:
        return None
    for c in pcols:
        if c in (o.x, o.compare) or c not in table.columns:
            continue
        if any(at[c].nunique(dropna=False) >= 2 for _, at in table.groupby(o.x, dropna=False)):
            return c
    return None


def latency_overlay(table: pd.DataFrame, files: Mapping[str, Path | str] | None,
                    out_dir: Path | str,
                    opts: FigureOptions | None = None, *,
                    params: Sequence[str] | None = None, title: str = "",
                    hists: Mapping[str, pd.DataFrame] | None = None,
                    log: logging.Logger | None = None) -> FigureSet:
    """The latency distributions of ``compare``'s values overlaid at equal ``x``.

    One figure per side and combination of ``group_by`` without ``compare``; one
    panel per x value where at least two values of ``compare`` were run; one
    cumulative curve per run there. ``files`` maps run_id to its latency_hist.parquet;
    ``hists`` (run_id -> histogram frame) may be given instead.
    """
    fs = figure_set("latency_overlay", out_dir, opts, log)
    o = fs.opts
    if o.compare not in table.columns or o.x not in table.columns:
        missing = [c for c in (o.compare, o.x) if c not in table.columns]
        fs.skip("all", f"column(s) {missing} not in the campaign table")
        fs.write_manifest()
        return fs
    pcols = param_columns(table, params)
    note = ""
    alt = compare_from_data(table, pcols, o)
    if alt is not None:
        note = (f"figures.compare {o.compare} has a single value: compared {alt}, the first "
                f"parameter with several values at equal {o.x}")
        fs.log.info("figures latency_overlay: %s", note)
        o = replace(o, compare=alt)
    hists = _read_hists(table, files, hists, fs)
    group_by = [g for g in o.group_by if g != o.compare and g in table.columns]
    for keys, sub in groups(table, group_by):
        values = sorted_by(sub[[o.compare]].drop_duplicates(), [o.compare])[o.compare].tolist()
        if len(values) < 2:
            fs.skip(stem_of(keys), f"a single {o.compare} "
                                   f"({fmt_value(values[0]) if values else 'none'}), "
                                   f"nothing to compare")
            continue
        at_xs = [(xk[o.x], at) for xk, at in groups(sub, [o.x])
                 if at[o.compare].nunique(dropna=False) >= 2]
        fixed = [o.x, o.compare, *group_by]
        # the lines of a panel: compare, then what else varies inside a panel; what varies
        # only between panels (e.g. nbr_servers tied to nbr_clients) goes to panel titles
        inner = [c for c in pcols if c not in fixed
                 and any(at[c].nunique(dropna=False) > 1 for _, at in at_xs)]
        between = [c for c in pcols if c not in (*fixed, *inner)
                   and sub[c].nunique(dropna=False) > 1]
        series = [o.compare, *inner]
        if any(at.duplicated(series).any() for _, at in at_xs):
            sub, series = with_repeat(sub, series, o.x)
            at_xs = [(xk[o.x], at) for xk, at in groups(sub, [o.x])
                     if at[o.compare].nunique(dropna=False) >= 2]
        for side in SIDES:
            name = stem_of({**keys, "side": side})
            facets = []
            for xv, at_x in at_xs:
                parts = []
                for _, r in sorted_by(at_x, series).iterrows():
                    h = hists.get(r["run_id"])
                    c = cdf_data(h) if h is not None else pd.DataFrame()
                    c = c[c["side"] == side] if not c.empty else c
                    if c.empty:
                        continue
                    c = c.assign(**{k: r[k] for k in [*keys, o.x, *between, *series]},
                                 run_id=r["run_id"])
                    parts.append(c)
                if len({p[o.compare].iloc[0] for p in parts}) < 2:
                    continue
                d = pd.concat(parts, ignore_index=True)
                label = describe({c: d[c].iloc[0] for c in between})
                facets.append((xv, label, d))
            if not facets:
                fs.skip(name, f"no {o.x} value with {side}-side latencies of two "
                              f"{o.compare} values")
                continue
            data = pd.concat([d for _, _, d in facets], ignore_index=True)
            data = data[[*keys, o.x, *between, *series, "run_id", "side", "latency_ms",
                         "cum_count", "cum_share_pct"]]
            head = f"{title}: " if title else ""
            what = describe(keys)
            fig = draw_overlay(facets, o.x, series, o.compare,
                               f"{head}{side}-side latency distributions by {o.compare}"
                               f"{', ' + what if what else ''}")
            fs.save(fig, data, name)
            if note:
                fs.notes[name] = note
    fs.write_manifest()
    return fs
