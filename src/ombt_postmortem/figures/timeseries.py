"""Per run: the bus hosts' CPU and memory over time (each run's timeseries.parquet).

The time series are the raw Telegraf points exported by the InfluxDB stage in
long form (measurement, field, host, role, other tags, time, value). The test
window [min(client, server start), max(client, server stop)] of the campaign
table is shaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..layout import TIMESERIES
from ..ombt.run import run_window
from .common import (
    LINESTYLES,
    MARKERS,
    MIB,
    PALETTE,
    FigureOptions,
    FigureSet,
    describe,
    figure_set,
    finish_x,
    new_figure,
    run_frame,
    run_name,
    set_y,
    shown_params,
    styled,
)

#: a figure needs at least this many distinct sample times (Telegraf's interval is
#: typically 2-10 s; the exported window is the test window +- influx.export_margin_s)
MIN_TIMES = 2


@dataclass(frozen=True)
class Series:
    """A (measurement, field) drawn on a panel, with its unit conversion."""

    panel: str
    measurement: str
    field: str
    label: str
    unit: str
    scale: float = 1.0


#: what is drawn, per panel (in order)
SERIES = (
    Series("cpu", "cpu", "usage_idle", "CPU idle (cpu-total)", "%"),
    Series("memory", "mem", "used", "host memory used", "MiB", 1.0 / MIB),
    Series("memory", "rabbitmq_node", "mem_used", "RabbitMQ memory used", "MiB", 1.0 / MIB),
)
PANEL_TITLES = {"cpu": "CPU idle (lower is busier)", "memory": "memory used"}
PANEL_UNITS = {"cpu": "CPU idle (%)", "memory": "memory used (MiB)"}


def timeseries_data(ts: pd.DataFrame, window: tuple[float, float],
                    roles: Sequence[str] = ("bus",)) -> pd.DataFrame:
    """The plotted points: panel, measurement, field, host, role, time (UTC), t_s (seconds
    since the test start), value (in the panel's unit), unit; then two ``test window`` rows
    (start, stop). Only hosts whose ``role`` tag is in ``roles``; CPU from ``cpu-total``
    when the ``cpu`` tag exists."""
    parts = []
    t0 = pd.Timestamp(window[0], unit="s", tz="UTC")
    for spec in SERIES:
        d = ts[(ts["measurement"] == spec.measurement) & (ts["field"] == spec.field)]
        if "role" in d.columns:
            d = d[d["role"].isin(list(roles)).fillna(False).astype(bool)]
        if spec.measurement == "cpu" and "cpu" in d.columns and (d["cpu"] == "cpu-total").any():
            d = d[(d["cpu"] == "cpu-total").fillna(False).astype(bool)]
        if d.empty:
            continue
        host = d["host"].astype("string").fillna("n/a") if "host" in d.columns else "n/a"
        role = d["role"].astype("string").fillna("n/a") if "role" in d.columns else "n/a"
        out = pd.DataFrame({"panel": spec.panel, "measurement": spec.measurement,
                            "field": spec.field, "host": host, "role": role,
                            "time": d["time"]})
        # several points of a host at one time (e.g. per-cpu rows without cpu-total): mean
        out["value"] = d["value"].astype(float) * spec.scale
        out = out.groupby(["panel", "measurement", "field", "host", "role", "time"],
                          as_index=False, sort=True)["value"].mean()
        out["unit"] = spec.unit
        parts.append(out)
    if not parts:
        return pd.DataFrame()
    data = pd.concat(parts, ignore_index=True)
    data["t_s"] = (data["time"] - t0).dt.total_seconds()
    win = pd.DataFrame({
        "panel": "test window", "measurement": "", "field": ["start", "stop"], "host": "",
        "role": "", "time": [t0, pd.Timestamp(window[1], unit="s", tz="UTC")],
        "value": np.nan, "unit": "s",
    })
    win["t_s"] = [0.0, window[1] - window[0]]
    data = pd.concat([data, win], ignore_index=True)
    data["time"] = data["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return data[["panel", "measurement", "field", "host", "role", "time", "t_s", "value",
                 "unit"]]


def draw_timeseries_panel(ax: Axes, data: pd.DataFrame, panel: str, *,
                          hosts: Sequence[str] | None = None,
                          kinds: Sequence[tuple[str, str]] | None = None,
                          xlim: tuple[float, float] | None = None, prefix: str = "",
                          colours: Sequence[Any] | None = None,
                          window: bool = True) -> dict[str, Any]:
    """One panel (``cpu`` or ``memory``) of :func:`timeseries_data`'s frame into ``ax``:
    one line per host and series against the seconds since the test start, the test
    window shaded (``window``). ``hosts``/``kinds`` fix the colour of each host and the
    marker of each (measurement, field); ``colours`` replaces the host colours (e.g. one
    colour per run when several runs share the Axes), ``prefix`` starts each line's label.
    Returns the legend's handles."""
    pts = data[data["panel"] == panel]
    win = data[data["panel"] == "test window"]["t_s"].tolist()
    hosts = list(hosts if hosts is not None else dict.fromkeys(pts["host"]))
    kinds = list(kinds if kinds is not None
                 else dict.fromkeys(zip(pts["measurement"], pts["field"], strict=True)))
    palette = list(colours) if colours else PALETTE
    handles: dict[str, Any] = {}
    if window and len(win) == 2:
        ax.axvspan(win[0], win[1], color="0.85", zorder=0)
    for (meas, fld, host), s in pts.groupby(["measurement", "field", "host"], sort=False):
        j = kinds.index((meas, fld))
        spec = next(x for x in SERIES if x.measurement == meas and x.field == fld)
        label = f"{prefix}{host}: {spec.label}"
        (h,) = ax.plot(s["t_s"], s["value"], label=label,
                       color=palette[hosts.index(host) % len(palette)],
                       marker=MARKERS[j % len(MARKERS)],
                       linestyle=LINESTYLES[j % len(LINESTYLES)])
        handles.setdefault(label, h)
    ax.set_title(PANEL_TITLES[panel])
    ax.set_ylabel(PANEL_UNITS[panel])
    if panel == "cpu":
        ax.set_ylim(0, 100)
    else:
        set_y(ax, pts["value"])
    if xlim is not None:
        ax.set_xlim(*xlim)
    return handles


@styled
def draw_timeseries(data: pd.DataFrame, title: str) -> Figure:
    panels = [p for p in ("cpu", "memory") if (data["panel"] == p).any()]
    win = data[data["panel"] == "test window"]["t_s"].tolist()
    fig, axes = new_figure(len(panels), ncols=1, panel_size=(8.5, 2.8), legend_width=2.6)
    pts = data[data["panel"].isin(panels)]
    hosts = list(dict.fromkeys(pts["host"]))
    kinds = list(dict.fromkeys(zip(pts["measurement"], pts["field"], strict=True)))
    lo, hi = min(pts["t_s"].min(), win[0]), max(pts["t_s"].max(), win[1])
    pad = (hi - lo) * 0.03 or 1.0
    handles: dict[str, Any] = {}
    for ax, panel in zip(axes, panels, strict=True):
        drawn = draw_timeseries_panel(ax, data, panel, hosts=hosts, kinds=kinds,
                                      xlim=(lo - pad, hi + pad))
        for label, h in drawn.items():
            handles.setdefault(label, h)
    finish_x(axes, 1, "time since the test start (s)")
    fig.suptitle(title)
    labels = list(handles)
    fig.legend([*handles.values(), Patch(color="0.85")], [*labels, "test window"],
               title="host: series", loc="outside right center")
    return fig


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def bus_timeseries(table: pd.DataFrame, files: Mapping[str, Path | str] | None,
                   out_dir: Path | str,
                   opts: FigureOptions | None = None, *, params: Sequence[str] | None = None,
                   title: str = "", roles: Sequence[str] = ("bus",),
                   series: Mapping[str, pd.DataFrame] | None = None, workers: int = 1,
                   log: logging.Logger | None = None) -> FigureSet:
    """One figure per run (named by its label, see :func:`.common.run_name`): CPU and memory
    of the ``roles`` hosts.

    ``files`` maps run_id to its timeseries.parquet; ``series`` (run_id -> frame) may
    be given instead. ``workers`` > 1 draws in that many processes.
    """
    fs = figure_set("timeseries", out_dir, opts, log)
    shown = shown_params(table, params, fs.opts)
    for _, row in table.iterrows():
        run_id = row["run_id"]
        name = run_name(row)
        ts = run_frame(run_id, files, series)
        if ts is None:
            fs.skip(name, f"no {TIMESERIES}")
            continue
        window = run_window(row.to_dict())
        if window is None:
            fs.skip(name, "test window unknown (no client/server start and "
                          "stop times)")
            continue
        data = timeseries_data(ts, window, roles) if not ts.empty else pd.DataFrame()
        pts = data[data["panel"] != "test window"] if not data.empty else data
        if pts.empty:
            fs.skip(name, f"no cpu/mem/rabbitmq_node point of role "
                          f"{'/'.join(roles)} in {TIMESERIES}")
            continue
        n_times = pts["time"].nunique()
        if n_times < MIN_TIMES:
            fs.skip(name, f"{n_times} sample time(s) of role {'/'.join(roles)} "
                          f"in the exported window, too few for a time series (widen it "
                          f"with influx.export_margin_s)")
            continue
        what = describe({c: row[c] for c in shown})
        head = f"{title}: " if title else ""
        fs.draw_later(name, draw_timeseries,
                      (data, f"{head}{'/'.join(roles)} CPU and memory over time\n"
                             f"run {what}; test start {_utc(window[0])}"), data)
    fs.flush(workers)
    fs.write_manifest()
    return fs
