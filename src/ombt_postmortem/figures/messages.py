"""Figures of the per-message stage: each run over time, and exact latency quantiles.

- :func:`message_timelines`, one figure per run from its timeline.parquet: messages
  completed per second (client side by the reply's ``stop``, server side by ``recv``)
  with the seconds that had errors marked, and the p50/p99 latency of each second
  (client: round trip, server: one way); the steady window (every client sending)
  is shaded.
- :func:`latency_nines`, one figure per ``group_by`` combination from the campaign
  table: the exact round-trip and one-way quantiles of each run on an x axis in
  "nines" (50 %, 90 %, 99 %, 99.9 %, then the maximum), one line per run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..layout import STATUS_OK, TIMELINE
from ..messages.timeline import MAX_FILL_S
from .common import (
    PALETTE,
    SIDES,
    FigureOptions,
    FigureSet,
    add_repeat,
    describe,
    figure_set,
    finish_x,
    groups,
    legend_title,
    line_label,
    new_figure,
    norm_key,
    param_columns,
    run_frame,
    run_name,
    series_columns,
    series_styles,
    set_y,
    shown_params,
    stem_of,
    styled,
)

#: the timeline's columns (one row per integer epoch second and side)
TIMELINE_COLUMNS = ("second", "side", "count", "errors", "p50_ms", "p99_ms", "max_ms")
SIDE_NAMES = {"client": "client side (round trip, by reply time)",
              "server": "server side (one way, by receipt time)"}

#: the quantiles of the nines plot: (campaign-table column suffix, quantile); the
#: maximum is drawn one step past the last quantile
RTT_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
ONEWAY_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
KINDS = {"rtt": ("round trip (client)", RTT_QUANTILES),
         "oneway": ("one way (client send to server receipt)", ONEWAY_QUANTILES)}


def nines(q: float) -> float:
    """The x position of quantile ``q``: -log10(1 - q) (50 % -> 0.3, 99 % -> 2)."""
    return -math.log10(1.0 - q)


def _pct(q: float) -> str:
    return f"{q * 100:g}%"


# --------------------------------------------------------------------------- per run


def timeline_data(timeline: pd.DataFrame, t0: float) -> pd.DataFrame:
    """The plotted numbers: the timeline with ``t_s`` = second - t0 (its middle), every
    second from the first to the last of the timeline a row of each side (count 0, NaN
    latency: a timeline.parquet written before the stage filled its silent seconds reads
    the same), sides in :data:`SIDES` order."""
    d = timeline[[c for c in TIMELINE_COLUMNS if c in timeline.columns]].copy()
    if not d.empty:
        lo, hi = int(d["second"].min()), int(d["second"].max())
        parts = []
        for side in [s for s in SIDES if (d["side"] == s).any()]:
            part = d[d["side"] == side].set_index("second")
            if hi - lo <= MAX_FILL_S:
                part = part.reindex(range(lo, hi + 1))
                part["side"] = side
                for k in ("count", "errors"):
                    if k in part.columns:
                        part[k] = part[k].fillna(0).astype("int64")
            parts.append(part.rename_axis("second").reset_index())
        d = pd.concat(parts, ignore_index=True)
    d["t_s"] = d["second"].astype(float) + 0.5 - t0
    order = {s: i for i, s in enumerate(SIDES)}
    return d.sort_values(["side", "second"], key=lambda c: c.map(order) if c.name == "side"
                         else c).reset_index(drop=True)


ERROR_SHADE = "red"

#: at most this many points of a latency line get a marker each (beyond, isolated points
#: only: a point between two silent seconds would be invisible as a line)
MARKED_POINTS = 60


def _isolated(v: pd.Series) -> np.ndarray:
    """Finite values whose neighbours are both NaN (or absent): drawn as markers."""
    f = np.isfinite(v.to_numpy(dtype=float))
    before = np.r_[False, f[:-1]]
    after = np.r_[f[1:], False]
    return f & ~before & ~after


@styled
def draw_timeline(data: pd.DataFrame, steady: tuple[float, float] | None, title: str
                  ) -> Figure | None:
    """Throughput and latency over time, one colour per side (see the module's doc).

    Every second is a point: a silent second is a count of 0 and a gap in the latency
    lines (never bridged); a latency line of few points, or a point between two silent
    seconds, has markers; the seconds with errors are shaded red on both panels and
    their error counts marked."""
    if data.empty:
        return None
    fig, axes = new_figure(2, ncols=1, panel_size=(8.5, 2.8), legend_width=2.8)
    rate_ax, lat_ax = axes
    handles: dict[str, Any] = {}
    error_seconds = sorted(set(data.loc[data["errors"] > 0, "t_s"].tolist()))
    for t in error_seconds:
        for ax in axes:
            ax.axvspan(t - 0.5, t + 0.5, color=ERROR_SHADE, alpha=0.3, zorder=0.5,
                       linewidth=0)
    if error_seconds:
        handles["seconds with errors"] = Patch(color=ERROR_SHADE, alpha=0.3)
    for i, side in enumerate(SIDES):
        d = data[data["side"] == side]
        if d.empty:
            continue
        colour = PALETTE[i]
        marker = "." if len(d) <= MARKED_POINTS else None
        (h,) = rate_ax.plot(d["t_s"], d["count"], color=colour, marker=marker,
                            linewidth=1.2)
        handles.setdefault(SIDE_NAMES[side], h)
        err = d[d["errors"] > 0]
        if not err.empty:
            h = rate_ax.scatter(err["t_s"], err["errors"], color="red", marker="x", zorder=3)
            handles.setdefault("errors in that second (count)", h)
        for col, style, name in (("p50_ms", "-", "p50 (solid)"), ("p99_ms", "--",
                                                                   "p99 (dashed)")):
            n_finite = int(np.isfinite(d[col].to_numpy(dtype=float)).sum())
            mk = "o" if n_finite <= MARKED_POINTS else None
            (h,) = lat_ax.plot(d["t_s"], d[col], color=colour, linewidth=1.2 if style == "-"
                               else 1.0, linestyle=style, marker=mk, markersize=3)
            lone = _isolated(d[col])
            if mk is None and lone.any():
                lat_ax.plot(d["t_s"][lone], d[col][lone], color=colour, linestyle="none",
                            marker="o", markersize=3)
            handles.setdefault(name, h)
    for ax in axes:
        if steady is not None:
            ax.axvspan(steady[0], steady[1], color="0.88", zorder=0)
    rate_ax.set_title("messages completed per second (0: nothing completed)")
    rate_ax.set_ylabel("messages / s")
    set_y(rate_ax, data["count"])
    lat_ax.set_title("latency of the messages completed in each second (a gap: none completed)")
    lat_ax.set_ylabel("latency (ms)")
    lat = data[["p50_ms", "p99_ms"]].to_numpy(dtype=float).ravel()
    if np.isfinite(lat).any():
        set_y(lat_ax, lat)
    finish_x(axes, 1, "time since the first message (s)")
    fig.suptitle(title)
    labels = list(handles)
    extra = [Patch(color="0.88")] if steady is not None else []
    fig.legend([*handles.values(), *extra],
               [*labels, *(["steady window (all clients sending)"] if extra else [])],
               loc="outside right center")
    return fig


def message_timelines(table: pd.DataFrame, files: Mapping[str, Path | str] | None,
                      out_dir: Path | str, opts: FigureOptions | None = None, *,
                      params: Sequence[str] | None = None, title: str = "",
                      timelines: Mapping[str, pd.DataFrame] | None = None, workers: int = 1,
                      log: logging.Logger | None = None) -> FigureSet:
    """One figure per run (named by its label, see :func:`.common.run_name`) from its
    timeline.parquet.

    ``files`` maps run_id to its timeline.parquet; ``timelines`` (run_id -> frame)
    may be given instead. The steady window comes from the table's ``steady_start``
    and ``steady_stop``.
    """
    fs = figure_set("message_timeline", out_dir, opts, log)
    shown = shown_params(table, params, fs.opts)
    for _, row in table.iterrows():
        run_id = row["run_id"]
        name = run_name(row)
        tl = run_frame(run_id, files, timelines)
        if tl is None:
            fs.skip(name, f"no {TIMELINE}")
            continue
        if tl.empty:
            fs.skip(name, "no per-message line in the agents' logs (none written, as for "
                          "notify, or no agent log)")
            continue
        t0 = float(tl["second"].min())
        steady = _steady(row, t0)
        data = timeline_data(tl, t0)
        what = describe({c: row[c] for c in shown})
        head = f"{title}: " if title else ""
        fs.draw_later(name, draw_timeline,
                      (data, steady, f"{head}messages over time\nrun {what or name}"), data)
    fs.flush(workers)
    fs.write_manifest()
    return fs


def _steady(row: Mapping[str, Any], t0: float) -> tuple[float, float] | None:
    lo, hi = row.get("steady_start"), row.get("steady_stop")
    try:
        lo_f, hi_f = float(lo), float(hi)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or hi_f <= lo_f:
        return None
    return lo_f - t0, hi_f - t0


# --------------------------------------------------------------------------- campaign


def nines_data(sub: pd.DataFrame, keys: Mapping[str, Any], series: Sequence[str]
               ) -> pd.DataFrame:
    """Long form: one row per run, kind (rtt, oneway) and quantile (max included).

    Columns: the group's keys, the series columns, run_id, kind, quantile (label),
    x (its nines position), latency_ms (from ``<kind>_<q>_ms`` of the table).
    """
    rows = []
    for _, r in sub.iterrows():
        for kind, (_name, qs) in KINDS.items():
            points = [(_pct(q), nines(q), f"{kind}_{col}_ms") for col, q in qs]
            points.append(("max", nines(qs[-1][1]) + 1.0, f"{kind}_max_ms"))
            for label, x, col in points:
                v = pd.to_numeric(r.get(col), errors="coerce")
                rows.append({**keys, **{c: r[c] for c in series}, "run_id": r["run_id"],
                             "status": r.get("status", ""),
                             "msg_errors": r.get("msg_errors", math.nan),
                             "kind": kind, "quantile": label, "x": x,
                             "latency_ms": float(v) if pd.notna(v) else math.nan})
    return pd.DataFrame(rows)


@styled
def draw_nines(data: pd.DataFrame, series: Sequence[str], title: str) -> Figure | None:
    kinds = [k for k in KINDS if data.loc[data["kind"] == k, "latency_ms"].notna().any()]
    if not kinds:
        return None
    styles = series_styles(data, series, None)
    fig, axes = new_figure(len(kinds), ncols=len(kinds), panel_size=(5.2, 3.6), sharex=False,
                           legend_width=2.8)
    handles: dict[str, Any] = {}
    for ax, kind in zip(axes, kinds, strict=True):
        for label, h in draw_nines_panel(ax, data, series, kind, styles).items():
            handles.setdefault(label, h)
    fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles.keys()), title=legend_title(series),
               loc="outside right center")
    return fig


def draw_nines_panel(ax: Any, data: pd.DataFrame, series: Sequence[str], kind: str,
                     styles: Mapping[tuple[str, ...], Mapping[str, Any]] | None = None
                     ) -> dict[str, Any]:
    """One panel of :func:`draw_nines` (``kind``: rtt or oneway) into ``ax``; returns the
    legend's handles of the lines drawn."""
    if styles is None:
        styles = series_styles(data, series, None)
    handles: dict[str, Any] = {}
    d = data[data["kind"] == kind]
    for key, s in d.groupby(list(series), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        st = styles[norm_key(key)]
        label = line_label(dict(zip(series, key, strict=True)))
        s = s.sort_values("x")
        if "status" in s.columns and (s["status"].astype(str) != STATUS_OK).any():
            # a partial run: hollow markers, and its errors in the legend
            errors = pd.to_numeric(s["msg_errors"], errors="coerce").max() \
                if "msg_errors" in s.columns else math.nan
            label += " (partial" + (f": {int(errors)} errors" if errors == errors
                                    else "") + ")"
            st = {**st, "markerfacecolor": "white"}
        (h,) = ax.plot(s["x"], s["latency_ms"], **st)
        if s["latency_ms"].notna().any():
            handles.setdefault(label, h)
    ticks = d.drop_duplicates("x").sort_values("x")
    ax.set_xticks(ticks["x"].tolist(), ticks["quantile"].tolist())
    ax.set_title(KINDS[kind][0])
    ax.set_ylabel("latency (ms)")
    vals = d["latency_ms"].to_numpy(dtype=float)
    if np.isfinite(vals).any() and np.nanmin(vals) > 0 \
            and np.nanmax(vals) / np.nanmin(vals) > 20:
        ax.set_yscale("log")
    else:
        set_y(ax, vals)
    ax.set_xlabel("quantile (exact, from every message)")
    return handles


def latency_nines(table: pd.DataFrame, out_dir: Path | str, opts: FigureOptions | None = None,
                  *, params: Sequence[str] | None = None, title: str = "",
                  log: logging.Logger | None = None) -> FigureSet:
    """One figure per ``group_by`` combination: exact latency quantiles, one line per run."""
    fs = figure_set("latency_nines", out_dir, opts, log)
    o = fs.opts
    pcols = param_columns(table, params)
    needed = [f"{k}_{c}_ms" for k, (_n, qs) in KINDS.items() for c, _q in qs]
    if not any(c in table.columns for c in needed):
        fs.skip("all", "no per-message latency column in the campaign table (the messages "
                       "stage did not run)")
        fs.write_manifest()
        return fs
    group_by = [g for g in o.group_by if g in table.columns]
    for keys, sub in groups(table, group_by):
        name = stem_of(keys)
        series = series_columns(sub, pcols, [c for c in (o.x, o.lines) if c in sub.columns],
                                exclude=group_by)
        sub, series = add_repeat(sub, series)  # one line per run, repeats numbered
        data = nines_data(sub, keys, series)
        head = f"{title}: " if title else ""
        what = describe(keys)
        fig = draw_nines(data, series, f"{head}exact latency quantiles"
                                       f"{', ' + what if what else ''}")
        if fig is None:
            fs.skip(name, f"no per-message latency in the {len(sub)} run(s) of "
                          f"{what or 'the campaign'}")
            continue
        fs.save(fig, data, name)
    fs.write_manifest()
    return fs
