"""Bus and server resources against the load: the InfluxDB metric columns of the table.

The metric columns (``min_usage_idle_bus``, ``mem_used``, ``connections``...) are
those of the query set (the presets telegraf and qdr, ombt_postmortem/data/queries/):
each is one number per run, computed over the run's window by the InfluxDB stage. Absent columns or
all-NaN ones (e.g. no rabbitmq_* measurement with the qpid-dispatch router) are
left out; a figure with no metric at all is skipped.

Besides one figure per ``group_by`` combination, a campaign running several values
of ``compare`` (the driver: rabbitmq and qdr runs) gets one figure per combination
of ``group_by`` without ``compare``, one line per driver: the bus's CPU, memory and
connections of both drivers on the same panels, RabbitMQ's and the router's own
counters next to each other (:func:`resources_vs_load`);
:func:`resources_comparison` does the same across campaigns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..layout import INFLUX_NOTES
from .common import (
    MIB,
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


@dataclass(frozen=True)
class Metric:
    """How a metric column is shown: panel title, unit, factor from the column's unit."""

    title: str
    unit: str
    scale: float = 1.0
    percent: bool = False
    #: the y axis label (default: from the unit)
    axis: str = ""

    @property
    def ylabel(self) -> str:
        if self.axis:
            return self.axis
        return {"%": "CPU idle (%)", "MiB": "memory (MiB)"}.get(self.unit, self.unit)


#: the metric columns of the default query set (telegraf.yaml + qdr.yaml), in panel order:
#: both drivers', then RabbitMQ's, then the qdr router's. Cumulative counters only as
#: what the run did (``messages_delivered_in_run``, ``_rate``): the table's
#: ``messages_delivered``, the counter's maximum since the broker started, grows from
#: run to run and is not drawn.
METRICS: dict[str, Metric] = {
    "min_usage_idle_bus": Metric("bus: CPU idle of the busiest host", "%", percent=True),
    "min_usage_idle_ombt_server": Metric("ombt servers: CPU idle of the busiest host", "%",
                                         percent=True),
    "bus_container_cpu_max": Metric("bus containers: CPU (max)", "% of a core",
                                    axis="CPU (% of a core)"),
    "bus_container_mem_max": Metric("bus containers: memory (max)", "MiB", 1.0 / MIB),
    "bus_tcp_established_max": Metric("bus hosts: TCP connections established (max)", "count"),
    "mem_used": Metric("RabbitMQ: memory used (max)", "MiB", 1.0 / MIB),
    "connections": Metric("RabbitMQ: connections (max)", "count"),
    "consumers": Metric("RabbitMQ: consumers (max)", "count"),
    "queues": Metric("RabbitMQ: queues (max)", "count"),
    "exchanges": Metric("RabbitMQ: exchanges (max)", "count"),
    "fd_used": Metric("RabbitMQ: file descriptors used (max)", "count"),
    "sockets_used": Metric("RabbitMQ: sockets used (max)", "count"),
    "messages_delivered_in_run": Metric("RabbitMQ: messages delivered in the run", "count"),
    "messages_delivered_rate": Metric("RabbitMQ: messages delivered per second", "msg/s"),
    "qdr_deliveries_ingress": Metric("qdr: deliveries in (ingress) in the run", "count"),
    "qdr_deliveries_egress": Metric("qdr: deliveries out (egress) in the run", "count"),
    "qdr_deliveries_ingress_rate": Metric("qdr: deliveries in per second", "msg/s"),
    "qdr_deliveries_egress_rate": Metric("qdr: deliveries out per second", "msg/s"),
    "qdr_undelivered_max": Metric("qdr: undelivered on a link (max)", "count"),
    "qdr_unsettled_max": Metric("qdr: unsettled on a link (max)", "count"),
    "qdr_connections_max": Metric("qdr: connections of a router (max)", "count"),
    "qdr_links_max": Metric("qdr: links of a router (max)", "count"),
    "qdr_addresses_max": Metric("qdr: addresses of a router (max)", "count"),
}


#: the figure CSV's column: a 0 while the run's messages flowed, noted in influx_notes
#: (ombt_postmortem.influx.suspicious), drawn with a red cross
SUSPICIOUS = "suspicious_zero"
SUSPICIOUS_LABEL = "0 while messages flowed (see influx_notes)"


def suspicious_zero(sub: pd.DataFrame, col: str, values: pd.Series) -> pd.Series:
    """Per run: ``col`` is 0 and the run's influx_notes says it is suspicious."""
    if INFLUX_NOTES not in sub.columns:
        return pd.Series(False, index=sub.index)
    noted = sub[INFLUX_NOTES].fillna("").astype(str).str.contains(f"{col} 0 while ",
                                                                    regex=False)
    return (values == 0) & noted


def resource_data(sub: pd.DataFrame, keys: Mapping[str, Any], series: Sequence[str], x: str,
                  metrics: Mapping[str, Metric]) -> pd.DataFrame:
    """Long form: one row per run and metric with data; ``value`` = column x ``scale``."""
    parts = []
    for col, m in metrics.items():
        if col not in sub.columns:
            continue
        v = pd.to_numeric(sub[col], errors="coerce")
        if v.isna().all():
            continue
        d = pd.DataFrame({k: [val] * len(sub) for k, val in keys.items()}, index=sub.index)
        for c in [*series, x, "run_id", "status"]:
            d[c] = sub[c]
        d["metric"] = col
        d["unit"] = m.unit
        d["value"] = v * m.scale
        d[SUSPICIOUS] = suspicious_zero(sub, col, v)
        parts.append(d)
    if not parts:
        return pd.DataFrame()
    data = pd.concat(parts, ignore_index=True)
    data = data.loc[:, ~data.columns.duplicated()]
    order = {c: i for i, c in enumerate(metrics)}
    data["_m"] = data["metric"].map(order)
    data = sorted_by(data, ["_m", *series, x]).drop(columns="_m")
    return data.reset_index(drop=True)


@styled
def draw_resources(data: pd.DataFrame, x: str, series: Sequence[str], title: str,
                   metrics: Mapping[str, Metric]) -> Figure:
    """One panel per metric, one line per series, against ``x``."""
    names = list(dict.fromkeys(data["metric"]))
    styles = series_styles(data, series, None)
    ncols = 3 if len(names) > 4 else 2 if len(names) > 1 else 1
    fig, axes = new_figure(len(names), ncols=ncols, panel_size=(4.4, 3.0), legend_width=2.4)
    handles: dict[str, Any] = {}
    for ax, name in zip(axes, names, strict=True):
        drawn = draw_resource_panel(ax, data, name, x, series, metrics.get(name, Metric(name, "")),
                                    styles)
        for label, h in drawn.items():
            handles.setdefault(label, h)
    finish_x(axes, ncols, param_label(x))
    fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles.keys()), title=legend_title(series),
               loc="outside right center")
    return fig


def draw_resource_panel(ax: Axes, data: pd.DataFrame, name: str, x: str, series: Sequence[str],
                        m: Metric,
                        styles: Mapping[tuple[str, ...], Mapping[str, Any]] | None = None,
                        ) -> dict[str, Any]:
    """One metric's panel into ``ax``: metric ``name`` of :func:`resource_data`'s frame
    against ``x``, one line per ``series`` value. Returns the legend's handles."""
    if styles is None:
        styles = series_styles(data, series, None)
    numeric_x = pd.api.types.is_numeric_dtype(data[x])
    handles: dict[str, Any] = {}
    d = data[data["metric"] == name]
    if numeric_x:
        set_x(ax, data[x])
        steps = dodge_steps(d, x, series, "value")
    for key, s in d.groupby(list(series), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = line_label(dict(zip(series, key, strict=True)))
        xs = dodged(ax, s[x], steps.loc[s.index], frac=0.006) if numeric_x else s[x].astype(
            str)
        (h,) = ax.plot(xs, s["value"], label=label, clip_on=False,
                       **styles[norm_key(key)])
        if s["value"].notna().any():  # the legend lists the series drawn
            handles.setdefault(label, h)
        flagged = s[SUSPICIOUS].fillna(False).astype(bool).to_numpy() \
            if SUSPICIOUS in s.columns else None
        if flagged is not None and flagged.any():
            (z,) = ax.plot(np.asarray(xs)[flagged], s["value"].to_numpy()[flagged],
                           linestyle="none", marker="x", color="red", markersize=10,
                           markeredgewidth=2, clip_on=False, zorder=5)
            handles.setdefault(SUSPICIOUS_LABEL, z)
    ax.set_title(m.title)
    ax.set_ylabel(m.ylabel)
    if m.percent:
        ax.set_ylim(0, 100)
    else:
        set_y(ax, d["value"])
    return handles


def resources_vs_load(table: pd.DataFrame, out_dir: Path | str,
                      opts: FigureOptions | None = None, *,
                      params: Sequence[str] | None = None, title: str = "",
                      metrics: Mapping[str, Metric] | None = None,
                      log: logging.Logger | None = None) -> FigureSet:
    """One figure per ``group_by`` combination: each metric column against ``x``."""
    fs = figure_set("resources", out_dir, opts, log)
    o = fs.opts
    metrics = dict(METRICS if metrics is None else metrics)
    present = [c for c in metrics if c in table.columns]
    if not present:
        fs.skip("all", "no InfluxDB metric column in the campaign table "
                       f"(looked for {', '.join(metrics)}): InfluxDB stage off?")
        fs.write_manifest()
        return fs
    require_columns(table, "figures.x", o.x)
    pcols = param_columns(table, params)
    group_by = [g for g in o.group_by if g in table.columns]
    lines = [c for c in (o.lines,) if c in table.columns]
    for keys, sub in groups(table, group_by):
        name = stem_of(keys)
        series = series_columns(sub, pcols, lines, exclude=[o.x, *group_by])
        sub, series = with_repeat(sub, series, o.x)
        data = resource_data(sub, keys, series, o.x, metrics)
        if data.empty:
            fs.skip(name, f"every metric column ({', '.join(present)}) is NaN in its "
                          f"{len(sub)} run(s)")
            continue
        head = f"{title}: " if title else ""
        fig = draw_resources(data, o.x, series,
                             f"{head}bus and server resources, {describe(keys)}", metrics)
        fs.save(fig, data, name)
    _by_compare(fs, table, pcols, metrics, title)
    fs.write_manifest()
    return fs


def _by_compare(fs: FigureSet, table: pd.DataFrame, pcols: Sequence[str],
                metrics: Mapping[str, Metric], title: str) -> None:
    """The figures ``by_<compare>__<group>``: one per ``group_by`` combination without
    ``compare`` where two values of ``compare`` (drivers) ran, one line per value."""
    o = fs.opts
    if o.compare not in table.columns or table[o.compare].nunique(dropna=False) < 2:
        return  # a single driver: the figures above show it all
    group_by = [g for g in o.group_by if g in table.columns and g != o.compare]
    lines = [c for c in (o.lines,) if c in table.columns and c != o.compare]
    for keys, sub in groups(table, group_by):
        name = f"by_{o.compare}__{stem_of(keys)}"
        found = sub[o.compare].nunique(dropna=False)
        if found < 2:
            fs.skip(name, f"{describe(keys) or 'all runs'}: a single {o.compare}, "
                          f"nothing to compare")
            continue
        series = [o.compare, *series_columns(sub, pcols, lines,
                                             exclude=[o.x, o.compare, *group_by])]
        sub, series = with_repeat(sub, series, o.x)
        data = resource_data(sub, keys, series, o.x, metrics)
        if data.empty:
            fs.skip(name, f"every metric column is NaN in its {len(sub)} run(s)")
            continue
        head = f"{title}: " if title else ""
        what = describe(keys)
        fig = draw_resources(data, o.x, series, f"{head}bus and server resources by "
                             f"{o.compare}{', ' + what if what else ''}", metrics)
        fs.save(fig, data, name)


def resources_comparison(tables: Mapping[str, pd.DataFrame], out_dir: Path | str,
                         opts: FigureOptions | None = None, *,
                         params: Mapping[str, Sequence[str]] | None = None,
                         metrics: Mapping[str, Metric] | None = None,
                         log: logging.Logger | None = None) -> FigureSet:
    """The resources of several campaigns on one figure, one colour per campaign.

    One figure per combination of ``group_by`` without ``compare`` (campaigns
    usually differ by driver: a RabbitMQ campaign's panels next to a router's); a
    group present in a single campaign is skipped (nothing to compare).
    """
    fs = figure_set("comparison_resources", out_dir, opts, log)
    o = fs.opts
    metrics = dict(METRICS if metrics is None else metrics)
    table, pcols = stack_campaigns(
        tables, params, o.x,
        lambda name: fs.skip(name, f"campaign {name}: no column {o.x} (figures.x)"))
    if not any(c in table.columns for c in metrics):
        fs.skip("all", "no InfluxDB metric column in the campaign tables")
        fs.write_manifest()
        return fs
    group_by = [g for g in o.group_by if g in table.columns and g != o.compare]
    lines = [c for c in (o.lines,) if c in table.columns]
    for keys, name, sub in campaign_groups(fs, table, group_by):
        series = ["campaign", *series_columns(sub, pcols, lines,
                                              exclude=[o.x, "campaign", *group_by])]
        sub, series = with_repeat(sub, series, o.x)
        data = resource_data(sub, keys, series, o.x, metrics)
        if data.empty:
            fs.skip(name, f"every metric column is NaN in its {len(sub)} run(s)")
            continue
        what = describe(keys)
        fig = draw_resources(data, o.x, series, "campaign comparison: bus and server "
                             f"resources{', ' + what if what else ''}", metrics)
        fs.save(fig, data, name)
    fs.write_manifest()
    return fs
