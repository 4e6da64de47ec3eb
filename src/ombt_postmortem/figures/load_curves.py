"""Load curves: message rate and latency against the load, client and server side.

One figure per combination of ``group_by`` (driver x call type by default),
one line per value of ``lines`` (nbr_servers) against ``x`` (nbr_clients),
all taken from the campaign table. :func:`campaign_comparison` draws the same
curves for several campaigns, one colour per campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..layout import STATUS_OK
from .common import (
    SIDES,
    FigureOptions,
    FigureSet,
    campaign_groups,
    describe,
    dodge_steps,
    dodged,
    figure_set,
    finish_x,
    groups,
    legend_title,
    line_label,
    new_figure,
    norm_key,
    param_columns,
    param_label,
    require_columns,
    series_columns,
    series_styles,
    set_x,
    set_y,
    sorted_by,
    stack_campaigns,
    stem_of,
    styled,
    with_repeat,
)

#: the values plotted, per side: campaign-table column = f"{side}_{value}"
LOAD_VALUES = ("rate", "latency_mean_ms", "latency_p50_ms", "latency_p99_ms")
#: per side, ``<side>_msgs_fail``: a partial run's failed messages, in the CSV
MSGS_FAIL = "msgs_fail"
#: the legend entry of the hollow markers of partial runs
PARTIAL_LABEL = "hollow: partial ({n}, {fail} failed calls)"
#: per side, ``<side>_latency_quantiles``: ``exact`` or ``estimate`` (campaign/table.py)
QUANTILE_SOURCE = "latency_quantiles"
#: the latency panels' title, by the sources of their bars
BAR_TITLES = {
    frozenset({"exact"}): "bar: exact p50-p99",
    frozenset({"estimate"}): "bar: p50-p99 est. (histogram)",
    frozenset({"exact", "estimate"}): "bar: exact p50-p99, dotted: est.",
}
#: the campaign-table column of the steady-window rate (per-message stage)
STEADY = "steady_rate"
STEADY_LABEL = "dotted: steady-window rate\n(all clients sending)"
PANEL_TITLES = {
    ("rate", "client"): "client side: messages sent per second",
    ("rate", "server"): "server side: messages processed per second",
    ("latency", "client"): "client side: latency (marker: mean, {bar})",
    ("latency", "server"): "server side: latency (marker: mean, {bar})",
}


def load_curve_data(sub: pd.DataFrame, keys: Mapping[str, Any], series: Sequence[str],
                    x: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The plotted numbers, long form: one row per run and side.

    Columns: the group's keys, the series columns, ``x``, ``run_id``, ``status``,
    ``side``, then ``rate`` (msg/s) and ``latency_mean_ms``, ``latency_p50_ms``,
    ``latency_p99_ms``, copied from ``<side>_<value>`` of the campaign table, and
    ``steady_rate`` (client side: the rate inside the steady window, from the agents'
    per-message logs; NaN elsewhere or when the table has no such column), and
    ``latency_quantiles``: ``exact`` (p50/p99 of every message, from the agents' logs) or
    ``estimate`` (from ombt's decade histogram), from ``<side>_latency_quantiles``.
    """
    parts = []
    for side in SIDES:
        d = pd.DataFrame({k: [v] * len(sub) for k, v in keys.items()}, index=sub.index)
        for c in [*series, *extra, x, "run_id", "status"]:
            d[c] = sub[c] if c in sub.columns else pd.NA
        d["side"] = side
        for v in LOAD_VALUES:
            col = f"{side}_{v}"
            d[v] = pd.to_numeric(sub[col], errors="coerce") if col in sub.columns else float("nan")
        d[STEADY] = pd.to_numeric(sub[STEADY], errors="coerce") \
            if side == "client" and STEADY in sub.columns else float("nan")
        fail = f"{side}_msgs_fail"
        d[MSGS_FAIL] = pd.to_numeric(sub[fail], errors="coerce") if fail in sub.columns \
            else float("nan")
        src = f"{side}_{QUANTILE_SOURCE}"
        # a table of an older layout has estimates only
        d[QUANTILE_SOURCE] = sub[src].fillna("").astype(str) if src in sub.columns \
            else "estimate"
        parts.append(d)
    data = pd.concat(parts, ignore_index=True)
    data = data.loc[:, ~data.columns.duplicated()]
    return sorted_by(data, ["side", *series, x]).reset_index(drop=True)


@styled
def draw_load_curves(data: pd.DataFrame, x: str, series: Sequence[str], title: str,
                     colour_by: str | None = None) -> Figure | None:
    """Rate and latency panels (client, server) from :func:`load_curve_data`'s frame.

    Panels without any value are left out; None when no panel has data.
    """
    panels = []
    for metric, cols in (("rate", ["rate"]), ("latency", list(LOAD_VALUES[1:]))):
        for side in SIDES:
            d = data[data["side"] == side]
            if d[cols].notna().any().any():
                panels.append((metric, side))
    if not panels:
        return None
    styles = series_styles(data, series, colour_by)
    ncols = 2
    fig, axes = new_figure(len(panels), ncols=ncols, panel_size=(5.2, 3.5), legend_width=2.6)
    handles: dict[str, Line2D] = {}
    for ax, (metric, side) in zip(axes, panels, strict=True):
        for label, h in draw_load_panel(ax, data, x, series, metric, side, styles).items():
            handles.setdefault(label, h)
    finish_x(axes, ncols, param_label(x))
    fig.suptitle(title)
    steady = handles.pop(STEADY_LABEL, None)  # last in the legend, whatever its place
    if steady is not None:
        handles[STEADY_LABEL] = steady
    fig.legend(list(handles.values()), list(handles.keys()), title=legend_title(series),
               loc="outside right center")
    return fig


def draw_load_panel(ax: Axes, data: pd.DataFrame, x: str, series: Sequence[str], metric: str,
                    side: str, styles: Mapping[tuple[str, ...], Mapping[str, Any]] | None = None,
                    ) -> dict[str, Line2D]:
    """One panel of the load curves into ``ax``: ``metric`` (``rate``, or ``latency``: the
    mean with a p50-p99 bar) of ``side`` against ``x``, one line per ``series`` value, from
    :func:`load_curve_data`'s frame. Returns the legend's handles of the series drawn."""
    if styles is None:
        styles = series_styles(data, series, None)
    numeric_x = pd.api.types.is_numeric_dtype(data[x])
    handles: dict[str, Line2D] = {}
    d = data[data["side"] == side]
    if numeric_x:
        set_x(ax, data[x])
        steps = dodge_steps(d, x, series, "latency_mean_ms")
    for key, s in d.groupby(list(series), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        st = styles[norm_key(key)]
        label = line_label(dict(zip(series, key, strict=True)))
        if metric == "rate":
            xs = s[x] if numeric_x else s[x].astype(str)
            (h,) = ax.plot(xs, s["rate"], label=label, clip_on=False, **st)
            if s[STEADY].notna().any():
                ax.plot(xs, s[STEADY], clip_on=False, color=st["color"], marker=st["marker"],
                        markerfacecolor="none", linestyle=":", linewidth=1.0)
                handles[STEADY_LABEL] = Line2D([], [], color="0.3", marker="o",
                                               markerfacecolor="none", linestyle=":",
                                               linewidth=1.0)
        else:
            # a bar from p50 to p99 (the mean may lie outside it), then the mean;
            # series sharing an x value are spread sideways a little
            xs = dodged(ax, s[x], steps.loc[s.index]) if numeric_x else s[x].astype(str)
            est = (s[QUANTILE_SOURCE] == "estimate").to_numpy() \
                if QUANTILE_SOURCE in s.columns else np.ones(len(s), dtype=bool)
            xa = np.asarray(xs)
            for mask, style, width in ((~est, "solid", 2.6), (est, "dotted", 2.0)):
                if mask.any():
                    ax.vlines(xa[mask], s["latency_p50_ms"][mask], s["latency_p99_ms"][mask],
                              color=st["color"], linewidth=width, alpha=0.45,
                              linestyles=style)
            (h,) = ax.plot(xs, s["latency_mean_ms"], label=label, **st)
        _mark_partial(ax, s, xs, "rate" if metric == "rate" else "latency_mean_ms", st)
        cols = ["rate"] if metric == "rate" else list(LOAD_VALUES[1:])
        if s[cols].notna().any().any():  # the legend lists the series drawn
            handles.setdefault(label, h)
    # one legend entry for the figure: the partial runs and their clients' failed messages
    c = data[data["side"] == "client"]
    partial = c[c["status"].astype(str) != STATUS_OK] if "status" in c.columns else c.iloc[:0]
    if len(partial):
        n = partial["run_id"].nunique()
        fail = int(pd.to_numeric(partial.get(MSGS_FAIL), errors="coerce").fillna(0).sum()) \
            if MSGS_FAIL in partial.columns else 0
        handles[PARTIAL_LABEL.format(n=f"{n} run{'s' if n != 1 else ''}", fail=fail)] = \
            Line2D([], [], color="0.3", marker="o", markerfacecolor="white", linestyle="none")
    sources = frozenset(str(v) for v in d.get(QUANTILE_SOURCE, pd.Series(["estimate"]))
                        if v in ("exact", "estimate")) or frozenset({"estimate"})
    ax.set_title(PANEL_TITLES[(metric, side)].format(bar=BAR_TITLES[sources]))
    if metric == "rate":
        ax.set_ylabel("rate (msg/s)")
        set_y(ax, pd.concat([d["rate"], d[STEADY]]))
    else:
        ax.set_ylabel("latency (ms)")
        set_y(ax, d[list(LOAD_VALUES[1:])].to_numpy().ravel())
    return handles


def _mark_partial(ax: Axes, s: pd.DataFrame, xs: Any, col: str,
                  st: Mapping[str, Any]) -> None:
    """Hollow markers over the points of runs that are not ``ok`` (partial: some
    messages failed, or a stage had a problem): never read as clean runs."""
    if "status" not in s.columns:
        return
    bad = (s["status"].astype(str) != STATUS_OK).to_numpy()
    if not bad.any():
        return
    x = np.asarray(xs)[bad]
    ax.plot(x, s[col].to_numpy()[bad], linestyle="none", marker=st.get("marker", "o"),
            markerfacecolor="white", markeredgecolor=st["color"], markersize=7,
            markeredgewidth=1.6, zorder=4, clip_on=False)


#: the series column of :func:`choose_lines`'s fallbacks
RATIO_SUFFIX, ONE_LINE = "_per_", "all runs"


def _min_points(sub: pd.DataFrame, series: Sequence[str], x: str) -> tuple[int, int]:
    """(lines, points of the shortest line): distinct ``x`` per ``series`` value."""
    if not series:
        return 1, int(sub[x].nunique())
    sizes = sub.groupby(list(series), dropna=False)[x].nunique()
    return len(sizes), int(sizes.min()) if len(sizes) else 0


def choose_lines(sub: pd.DataFrame, pcols: Sequence[str], lines: Sequence[str], x: str,
                 group_by: Sequence[str]) -> tuple[pd.DataFrame, list[str], str]:
    """The series of a load-curve figure, and a note when the configured line variable
    does not fit the data.

    With ``lines`` (e.g. nbr_servers) a line per value, plus any other parameter that
    varies; when that gives several lines of which one has fewer than 2 points (the
    servers grow with the clients: every line a dot), the lines are ``<lines>_per_<x>``
    (e.g. servers per client) if that gives lines of 2 points or more, else one line
    (``all runs``); the note says which (the manifest's ``reason``). The configured
    variable stays in the figure's CSV."""
    series = series_columns(sub, pcols, lines, exclude=[x, *group_by])
    n, shortest = _min_points(sub, series, x)
    if n <= 1 or shortest >= 2 or len(lines) != 1 or sub[x].nunique() < 2:
        return sub, series, ""
    line = lines[0]
    why = f"lines by {line} would have {shortest} point(s)"
    num_l, num_x = (pd.to_numeric(sub[c], errors="coerce") for c in (line, x))
    if num_l.notna().all() and num_x.notna().all() and (num_x != 0).all():
        ratio = f"{line}{RATIO_SUFFIX}{x}"
        tried = sub.assign(**{ratio: (num_l / num_x).round(6)})
        r_series = series_columns(tried, [*pcols, ratio], [ratio], exclude=[x, line, *group_by])
        rn, r_short = _min_points(tried, r_series, x)
        if r_short >= 2 and rn < n:
            return tried, r_series, f"{why}: one line per {line} / {x} instead"
    one = sub.assign(**{"line": f"{ONE_LINE} ({line} varies with {x})"})
    o_series = series_columns(one, [*pcols, "line"], ["line"], exclude=[x, line, *group_by])
    return one, o_series, f"{why} ({line} varies with {x}): one line, {line} in the CSV"


def load_curves(table: pd.DataFrame, out_dir: Path | str, opts: FigureOptions | None = None,
                *, params: Sequence[str] | None = None, title: str = "",
                log: logging.Logger | None = None) -> FigureSet:
    """One load-curve figure (+ CSV) per ``group_by`` combination of ``table``.

    ``params``: the run-parameter columns (keys of params.json); ``title``: a
    prefix of every figure title (e.g. the campaign's name).
    """
    fs = figure_set("load_curves", out_dir, opts, log)
    o = fs.opts
    require_columns(table, "figures.x", o.x)
    pcols = param_columns(table, params)
    group_by = _present(fs, table, o.group_by, "group_by")
    lines = _present(fs, table, (o.lines,), "lines")
    for keys, sub in groups(table, group_by):
        name = stem_of(keys)
        sub, series, note = choose_lines(sub, pcols, lines, o.x, group_by)
        sub, series = with_repeat(sub, series, o.x)
        data = load_curve_data(sub, keys, series, o.x, extra=lines)
        if note:
            fs.notes[name] = note
            fs.log.info("figures load_curves: %s: %s", name, note)
        fig = draw_load_curves(data, o.x, series,
                               _title(title, "load curves", keys))
        if fig is None:
            fs.skip(name, f"no rate or latency value in the {len(sub)} run(s) of "
                          f"{describe(keys)} (runs failed?)")
            continue
        fs.save(fig, data, name)
    if table.empty:
        fs.skip("all", "the campaign table has no run")
    fs.write_manifest()
    return fs


def campaign_comparison(tables: Mapping[str, pd.DataFrame], out_dir: Path | str,
                        opts: FigureOptions | None = None, *,
                        params: Mapping[str, Sequence[str]] | None = None,
                        log: logging.Logger | None = None) -> FigureSet:
    """The load curves of several campaigns on one figure, one colour per campaign.

    One figure per combination of ``group_by`` without ``compare`` (campaigns
    usually differ by driver: rabbitmq against the router): per call type by
    default. A group present in a single campaign is skipped (nothing to compare).
    """
    fs = figure_set("comparison", out_dir, opts, log)
    o = fs.opts
    table, pcols = stack_campaigns(
        tables, params, o.x,
        lambda name: require_columns(tables[name], f"figures.x (campaign {name})", o.x))
    group_by = [g for g in _present(fs, table, o.group_by, "group_by") if g != o.compare]
    lines = _present(fs, table, (o.lines,), "lines")
    for keys, name, sub in campaign_groups(fs, table, group_by):
        inner = [c for c in pcols if c not in (o.x, *lines, *group_by)
                 and any(s[c].nunique(dropna=False) > 1 for _, s in sub.groupby("campaign"))]
        series = ["campaign", *lines, *inner]
        sub, series = with_repeat(sub, series, o.x)
        data = load_curve_data(sub, keys, series, o.x)
        what = describe(keys)
        fig = draw_load_curves(data, o.x, series,
                               f"campaign comparison: load curves{', ' + what if what else ''}",
                               colour_by="campaign")
        if fig is None:
            fs.skip(name, f"no rate or latency value for {what}")
            continue
        fs.save(fig, data, name)
    fs.write_manifest()
    return fs


def _present(fs: FigureSet, table: pd.DataFrame, cols: Sequence[str], what: str) -> list[str]:
    missing = [c for c in cols if c not in table.columns]
    if missing and not table.empty:
        fs.log.info("figures %s: %s column(s) %s absent from the table: ignored", fs.kind, what,
                    missing)
    return [c for c in cols if c in table.columns]


def _title(prefix: str, what: str, keys: Mapping[str, Any]) -> str:
    head = f"{prefix}: {what}" if prefix else what
    return f"{head}, {describe(keys)}" if keys else head
