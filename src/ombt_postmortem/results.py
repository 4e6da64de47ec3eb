"""The results of a campaign from Python: what the workflow wrote, read back as pandas.

The API reads the files of ``<results>/<campaign>/`` (their names come from
:mod:`ombt_postmortem.layout`); it never recomputes anything. Example::

    import matplotlib.pyplot as plt
    from ombt_postmortem.results import open_campaign

    c = open_campaign("results/example")       # or open_campaign("results")
    c.table                                    # campaign.parquet, one row per run
    c.runs()                                   # run_id, label, status, problems, params
    rpc = c.select(call_type="rpc-call", nbr_servers=[1, 2])
    c.histogram(rpc["label"].iloc[0])          # a run by its label, run_id or run key
    fig, ax = plt.subplots()
    c.plot_load_curve(ax, rpc, metric="latency", side="client")

A run is named by its ``label`` (the parameters that vary within the campaign,
see :mod:`ombt_postmortem.labels`), its ``run_id`` (params.json's ``backup_dir``)
or its run key (its folder under ``runs/``). Every ``plot_*`` method draws one
panel of a figure kind of :mod:`ombt_postmortem.figures` into a given
matplotlib Axes, for the runs chosen (all runs by default); :meth:`CampaignResults.plot`
takes the figure kind by the name of its folder under ``figures/``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import layout
from .errors import OmbtPostmortemError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: how the plot_* methods accept runs: None (all), one run, several, or rows of the table
Runs = str | Iterable[str] | pd.DataFrame | pd.Series | None

#: what wrote each per-run file: said when one is missing
_WRITTEN_BY = {
    layout.OMBT: "rule run_logs",
    layout.AGENTS: "rule run_logs",
    layout.HIST: "rule run_logs",
    layout.METRICS: "rule influx_metrics, when influx.enabled is true",
    layout.TIMESERIES: "rule influx_metrics, when influx.enabled and "
                       "influx.export_timeseries are true",
    layout.MESSAGES: "rule run_logs, when messages.enabled is true",
    layout.TIMELINE: "rule run_logs, when messages.enabled is true",
    layout.PER_MESSAGE: "rule run_logs, when messages.keep_per_message is true",
}


class ResultsError(OmbtPostmortemError):
    """The results folder cannot be read as asked; the message says why and what to do."""


class NotAResultsFolder(ResultsError):
    """The folder does not exist or holds no campaign results."""


class LayoutMismatch(ResultsError):
    """The results were written by another version of the layout: run the workflow again."""


class MissingRunFile(ResultsError, FileNotFoundError):
    """A per-run file the workflow did not write (its stage off, or the run never processed)."""


class UnknownRun(ResultsError, LookupError):
    """No run of the campaign has this label, run_id or run key."""


class UnreadableFile(ResultsError):
    """A file of the results cannot be read (damaged, cut short, not parquet)."""


class OutsideResults(ResultsError):
    """A file of the results is a link leading out of the campaign's results folder."""


#: what every reading error ends with
_REWRITE = "remove it and run the workflow again to rewrite it"
#: the columns the API needs in campaign.parquet
_TABLE_COLUMNS = ("run_id", layout.LABEL, "status", "problems")


@dataclass(frozen=True)
class RunInfo:
    """One run of the campaign, as the campaign table has it."""

    run_id: str
    key: str
    label: str
    status: str
    problems: str
    params: dict[str, Any]


def open_campaign(path: Path | str, campaign: str | None = None) -> CampaignResults:
    """The results of one campaign: ``path`` is its folder (``results/<name>``) or the
    results folder (``results``) holding it; ``campaign`` names it when there are several.

    Raises :class:`NotAResultsFolder` when ``path`` does not exist or holds no campaign
    results, :class:`LayoutMismatch` when they were written by an older layout (no
    ``layout.json``, or another :data:`ombt_postmortem.layout.LAYOUT_VERSION`).
    """
    root = Path(path)
    if not root.exists():
        raise NotAResultsFolder(f"{root}: no such folder")
    if not root.is_dir():
        raise NotAResultsFolder(f"{root}: not a folder (give results/<campaign> or results)")
    if campaign is not None:
        if not _looks_like_campaign(root / campaign):
            found = ", ".join(_campaigns_in(root)) or "none"
            raise NotAResultsFolder(f"{root / campaign}: no results of campaign {campaign!r} "
                                    f"(found: {found})")
        return open_campaign(root / campaign)
    if _looks_like_campaign(root):
        return CampaignResults(layout.CampaignDir(root), _read_marker(root))
    if (root / layout.PARAMS_FILE).is_file():
        raise NotAResultsFolder(
            f"{root}: a campaign backup (it holds {layout.PARAMS_FILE}), not its results: "
            f"analyse it with the workflow, then open <results_dir>/<name>")
    found = _campaigns_in(root)
    if len(found) == 1:
        return open_campaign(root / found[0])
    if found:
        raise NotAResultsFolder(f"{root}: holds the results of {len(found)} campaigns "
                                f"({', '.join(found)}): say which, e.g. "
                                f"open_campaign({str(root)!r}, {found[0]!r})")
    raise NotAResultsFolder(f"{root}: not the results of a campaign (no {layout.LAYOUT_FILE} "
                            f"or {layout.CAMPAIGN_PARQUET} in it or in a folder below it)")


def _looks_like_campaign(folder: Path) -> bool:
    return (folder / layout.LAYOUT_FILE).is_file() or \
        (folder / layout.CAMPAIGN_PARQUET).is_file()


def _campaigns_in(root: Path) -> list[str]:
    """The folders of ``root`` that hold a campaign's results (any layout version)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _looks_like_campaign(p))


def _read_marker(root: Path) -> dict[str, Any]:
    marker = root / layout.LAYOUT_FILE
    rerun = "run the workflow again (snakemake --cores N) to rewrite it"
    if not marker.is_file():
        raise LayoutMismatch(f"{root}: no {layout.LAYOUT_FILE}: written by an older "
                             f"ombt-postmortem (this one reads layout version "
                             f"{layout.LAYOUT_VERSION}); {rerun}")
    real = marker.resolve()
    if not real.is_relative_to(root.resolve()):
        raise OutsideResults(f"{marker} leads to {real}, outside the campaign's results "
                             f"folder {root.resolve()}; refused ({rerun})")
    try:
        data = json.loads(real.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise LayoutMismatch(f"{marker}: unreadable ({exc}); {rerun}") from None
    except RecursionError:
        raise LayoutMismatch(f"{marker}: unreadable (nested too deeply); {rerun}") from None
    version = data.get("layout_version") if isinstance(data, dict) else None
    if version != layout.LAYOUT_VERSION:
        raise LayoutMismatch(f"{marker}: layout version {version!r}, this ombt-postmortem "
                             f"reads version {layout.LAYOUT_VERSION}; {rerun}")
    # the types the workflow writes (campaign.write.write_layout_marker)
    for key, ok, what in (
        ("campaign", lambda v: isinstance(v, str), "a string"),
        ("runs", lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
        ("params", lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
         "a list of column names"),
    ):
        if key in data and not ok(data[key]):
            raise LayoutMismatch(f"{marker}: {key!r} is {what}, not "
                                 f"{_short(repr(data[key]))}; {rerun}")
    if "params" not in data:  # the workflow always writes it
        raise LayoutMismatch(f"{marker}: no 'params' (the table's run-parameter columns); "
                             f"{rerun}")
    if not (root / layout.CAMPAIGN_PARQUET).is_file():
        raise NotAResultsFolder(f"{root}: {layout.CAMPAIGN_PARQUET} missing next to "
                                f"{layout.LAYOUT_FILE}; {rerun}")
    return data


class CampaignResults:
    """The results of one campaign (use :func:`open_campaign`)."""

    def __init__(self, cdir: layout.CampaignDir, marker: Mapping[str, Any]) -> None:
        self.dir = cdir
        self.marker = dict(marker)

    def __repr__(self) -> str:
        return f"<CampaignResults {self.name!r}: {len(self._table)} runs in {self.dir.root}>"

    # ------------------------------------------------------------------ the campaign

    @property
    def name(self) -> str:
        """The campaign's name (its folder under the results folder)."""
        return str(self.marker.get("campaign") or self.dir.root.name)

    @cached_property
    def _table(self) -> pd.DataFrame:
        path = self.dir.file(layout.CAMPAIGN_PARQUET)
        table = self._read_parquet(path, f"campaign {self.name}")
        missing = [c for c in _TABLE_COLUMNS if c not in table.columns]
        if missing:
            raise UnreadableFile(f"{path}: no column {', '.join(map(repr, missing))}: not a "
                                 f"campaign table of ombt-postmortem; {_REWRITE}")
        return table

    def _read_parquet(self, path: Path, who: str) -> pd.DataFrame:
        """A parquet file of this campaign's results: refused when it resolves outside
        the campaign's folder (a link to another campaign's file would pass for this
        one's), any reading error given as :class:`UnreadableFile` naming the file."""
        root = self.dir.root.resolve()
        real = path.resolve()
        if not real.is_relative_to(root):
            raise OutsideResults(f"{who}: {path} leads to {real}, outside the campaign's "
                                 f"results folder {root}; refused (remove it and run the "
                                 f"workflow again)")
        import pyarrow as pa

        try:
            return pd.read_parquet(real)
        except (OSError, ValueError, NotImplementedError, pa.ArrowException) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise UnreadableFile(f"{path}: unreadable as parquet ({_short(reason, 200)}); "
                                 f"{_REWRITE}") from None

    @property
    def table(self) -> pd.DataFrame:
        """``campaign.parquet``: one row per run of params.json, in its order (a copy)."""
        return self._table.copy()

    @property
    def params(self) -> list[str]:
        """The table's run-parameter columns, in params.json order (``backup_dir`` aside)."""
        names = self.marker["params"]  # a list of names: _read_marker checked it
        return [c for c in names if c != "backup_dir" and c in self._table.columns]

    @property
    def varying(self) -> list[str]:
        """The parameters whose values differ between runs (those the labels show)."""
        t = self._table
        return [c for c in self.params if t[c].map(_canonical).nunique() > 1]

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, label, status, problems, then every parameter."""
        cols = ["run_id", layout.LABEL, "status", "problems", *self.params]
        return self._table[list(dict.fromkeys(cols))].copy()

    def problems(self) -> pd.DataFrame:
        """The runs whose status is not ``ok`` (as problems.csv lists them)."""
        t = self._table
        return t.loc[t["status"] != layout.STATUS_OK,
                     ["run_id", layout.LABEL, "status", "problems"]].copy()

    def select(self, **params: Any) -> pd.DataFrame:
        """The rows of the table whose parameters have the values given, e.g.
        ``select(call_type="rpc-call", nbr_servers=2)``; a list, tuple or set of values
        means any of them (``nbr_clients=[1, 2]``); any other column may be given too
        (``status="ok"``). Numbers compare by value (2 == 2.0). No argument: every run."""
        t = self._table
        keep = pd.Series(True, index=t.index)
        for name, want in params.items():
            if name not in t.columns:
                raise ResultsError(f"campaign {self.name}: no parameter or column {name!r} "
                                   f"(parameters: {', '.join(self.params)})")
            wanted = list(want) if isinstance(want, list | tuple | set | frozenset) else [want]
            keep &= t[name].map(lambda v, w=wanted: any(_same(v, x) for x in w))
        return t[keep].copy()

    # ------------------------------------------------------------------ one run

    @cached_property
    def _index(self) -> dict[str, str]:
        """label, run_id and run key -> run_id."""
        out: dict[str, str] = {}
        for run_id, label in zip(self._table["run_id"], self._table[layout.LABEL], strict=True):
            out.setdefault(layout.run_key(run_id), run_id)
            out.setdefault(label, run_id)
        out.update({r: r for r in self._table["run_id"]})
        return out

    def run_id(self, run: str | pd.Series) -> str:
        """The run_id of a run given by its label, run_id, run key or table row."""
        ref = str(run["run_id"]) if isinstance(run, pd.Series) else run
        try:
            return self._index[ref]
        except (KeyError, TypeError):
            some = ", ".join(list(self._table[layout.LABEL])[:4])
            raise UnknownRun(f"campaign {self.name}: no run labelled, named or keyed "
                             f"{ref!r} (labels: {some}{', ...' if len(self._table) > 4 else ''}"
                             f")") from None

    def run(self, run: str | pd.Series) -> RunInfo:
        """A run's ids, label, status, problems and parameters."""
        run_id = self.run_id(run)
        row = self._table[self._table["run_id"] == run_id].iloc[0]
        return RunInfo(run_id=run_id, key=layout.run_key(run_id), label=str(row[layout.LABEL]),
                       status=str(row["status"]), problems=str(row["problems"] or ""),
                       params={c: row[c] for c in self.params})

    def file(self, run: str | pd.Series, name: str) -> Path:
        """The path of the run's file ``name`` (a :mod:`ombt_postmortem.layout` name)."""
        return self.dir.run_file(layout.run_key(self.run_id(run)), name)

    def read(self, run: str | pd.Series, name: str) -> pd.DataFrame:
        """The run's parquet file ``name``; :class:`MissingRunFile` naming it if absent."""
        path = self.file(run, name)
        info = self.run(run)
        if not path.is_file():
            raise MissingRunFile(f"run {info.label} ({info.run_id}): {path} not found; it is "
                                 f"written by {_WRITTEN_BY.get(name, 'the workflow')}")
        return self._read_parquet(path, f"run {info.label} ({info.run_id})")

    def summary(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``ombt.parquet``: its one-row summary of the ombt stage."""
        return self.read(run, layout.OMBT)

    def agents(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``agents.parquet``: one row per ombt agent (client or server)."""
        return self.read(run, layout.AGENTS)

    def histogram(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``latency_hist.parquet``: merged decade histogram, long form."""
        return self.read(run, layout.HIST)

    def metrics(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``metrics.parquet``: one row of InfluxDB metrics."""
        return self.read(run, layout.METRICS)

    def timeseries(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``timeseries.parquet``: the raw InfluxDB points, long form."""
        return self.read(run, layout.TIMESERIES)

    def messages(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``messages.parquet``: the per-message stage's one row of figures."""
        return self.read(run, layout.MESSAGES)

    def timeline(self, run: str | pd.Series) -> pd.DataFrame:
        """The run's ``timeline.parquet``: the per-message stage's per-second timeline."""
        return self.read(run, layout.TIMELINE)

    # ------------------------------------------------------------------ figures, one panel

    def run_ids(self, runs: Runs = None) -> list[str]:
        """The run_ids of ``runs`` (None: all, in the table's order)."""
        if runs is None:
            return list(self._table["run_id"])
        if isinstance(runs, pd.DataFrame):
            return [self.run_id(r) for r in runs["run_id"]]
        if isinstance(runs, str | pd.Series):
            return [self.run_id(runs)]
        return [self.run_id(r) for r in runs]

    def rows(self, runs: Runs = None) -> pd.DataFrame:
        """The table's rows of ``runs``, in the order given."""
        ids = self.run_ids(runs)
        if not ids:
            raise ResultsError(f"campaign {self.name}: no run chosen")
        return self._table.set_index("run_id", drop=False).loc[ids].reset_index(drop=True)

    def plot(self, kind: str, ax: Axes, runs: Runs = None, **options: Any) -> Axes:
        """Draw figure kind ``kind`` (a folder name under ``figures/``: load_curves,
        resources, latency_hist, latency_overlay, timeseries, latency_nines,
        message_timeline) for ``runs`` into ``ax``; ``options`` go to the matching
        ``plot_*`` method."""
        from .figspec import KINDS

        if kind not in KINDS:
            raise ResultsError(f"no figure kind {kind!r} (kinds: {', '.join(KINDS)})")
        method: Callable[..., Axes] = getattr(self, KINDS[kind].plot)
        return method(ax, runs, **options)

    def _series(self, rows: pd.DataFrame, first: Sequence[str], exclude: Sequence[str],
                ) -> tuple[pd.DataFrame, list[str]]:
        from .figures.common import series_columns, with_repeat

        series = series_columns(rows, self.params, [c for c in first if c in rows.columns],
                                exclude=exclude)
        if not series:
            series = [layout.LABEL]
        return with_repeat(rows, series, exclude[0])

    def plot_load_curve(self, ax: Axes, runs: Runs = None, *, metric: str = "rate",
                        side: str = "client", x: str | None = None,
                        lines: str | None = None) -> Axes:
        """A panel of the load curves: ``metric`` (``rate`` or ``latency``: mean with a
        p50-p99 bar) of ``side`` (client, server) against ``x`` (default figures.x), one
        line per value of ``lines`` (default figures.lines) and of every other parameter
        that varies among ``runs``."""
        from .figures.common import FigureOptions, legend_title, param_label, style
        from .figures.load_curves import draw_load_panel, load_curve_data

        _check_choice("metric", metric, ("rate", "latency"))
        _check_choice("side", side, layout.SIDES)
        opts = FigureOptions()
        x, lines = x or opts.x, lines or opts.lines
        rows = self.rows(runs)
        self._require(rows, x)
        rows, series = self._series(rows, [lines], [x])
        data = load_curve_data(rows, {}, series, x)
        with style():
            handles = draw_load_panel(ax, data, x, series, metric, side)
            ax.set_xlabel(param_label(x))
            _legend(ax, handles, legend_title(series))
        return ax

    def plot_resource(self, ax: Axes, runs: Runs = None, *, metric: str | None = None,
                      x: str | None = None, lines: str | None = None) -> Axes:
        """A panel of the resources figure: InfluxDB metric column ``metric`` (default the
        first with data, e.g. ``min_usage_idle_bus``) against ``x``, lines as
        :meth:`plot_load_curve`."""
        from .figures.common import FigureOptions, legend_title, param_label, style
        from .figures.resources import METRICS, Metric, draw_resource_panel, resource_data

        opts = FigureOptions()
        x, lines = x or opts.x, lines or opts.lines
        rows = self.rows(runs)
        self._require(rows, x)
        present = [c for c in METRICS if c in rows.columns and rows[c].notna().any()]
        if metric is None:
            if not present:
                raise ResultsError(f"campaign {self.name}: no InfluxDB metric with data in "
                                   f"the runs chosen (InfluxDB stage off?)")
            metric = present[0]
        self._require(rows, metric)
        spec = METRICS.get(metric, Metric(metric, ""))
        rows, series = self._series(rows, [lines], [x])
        data = resource_data(rows, {}, series, x, {metric: spec})
        if data.empty:
            raise ResultsError(f"campaign {self.name}: {metric} is NaN in every run chosen")
        with style():
            handles = draw_resource_panel(ax, data, metric, x, series, spec)
            ax.set_xlabel(param_label(x))
            _legend(ax, handles, legend_title(series))
        return ax

    def plot_histogram(self, ax: Axes, runs: Runs = None, *, side: str = "client") -> Axes:
        """``side``'s latency histogram: bars for one run, one outline per run for
        several (bar area, or area under the outline = share of the side's latencies)."""
        from .figures.common import PALETTE, style
        from .figures.distributions import draw_histogram_panel, histogram_data

        _check_choice("side", side, layout.SIDES)
        rows = self.rows(runs)
        drawn: list[tuple[str, pd.DataFrame]] = []
        for r in rows.itertuples():
            data = histogram_data(self.histogram(r.run_id))
            if (data["side"] == side).any():
                drawn.append((str(getattr(r, layout.LABEL)), data))
        self._check_drawn(drawn, rows, f"{side}-side latencies in {layout.HIST}")
        nz = pd.concat([d[(d["side"] == side) & (d["count"] > 0)] for _, d in drawn])
        limits = (float(nz["drawn_lower_ms"].min()), float(nz["upper_ms"].max()))
        with style():
            for i, (label, data) in enumerate(drawn):
                draw_histogram_panel(ax, data, side, PALETTE[i % len(PALETTE)], limits,
                                     label=label, outline=len(drawn) > 1)
            ax.set_xlabel("latency (ms, log scale)")
            ax.legend(title="run", loc="best")
        return ax

    def plot_cdf(self, ax: Axes, runs: Runs = None, *, side: str = "client") -> Axes:
        """``side``'s cumulative latency distributions (the latency overlay's curves),
        one curve per run, at the exact bucket edges."""
        from .figures.common import style
        from .figures.distributions import cdf_data, draw_cdf_panel

        _check_choice("side", side, layout.SIDES)
        rows = self.rows(runs)
        parts = []
        for r in rows.itertuples():
            c = cdf_data(self.histogram(r.run_id))
            c = c[c["side"] == side]
            if not c.empty:
                parts.append((str(getattr(r, layout.LABEL)), c.assign(run=getattr(
                    r, layout.LABEL))))
        self._check_drawn(parts, rows, f"{side}-side latencies in {layout.HIST}")
        data = pd.concat([p for _, p in parts], ignore_index=True)
        with style():
            handles = draw_cdf_panel(ax, data, ["run"])
            ax.set_title(f"{side} side: latency distribution")
            ax.set_xlabel("latency (ms, log scale)")
            _legend(ax, handles, "run")
        return ax

    def plot_timeseries(self, ax: Axes, runs: Runs = None, *, panel: str = "cpu",
                        roles: Sequence[str] = ("bus",)) -> Axes:
        """A panel of the per-run time series: ``cpu`` (idle %) or ``memory`` (MiB) of the
        ``roles`` hosts against the seconds since each run's test start, its test window
        shaded; several runs share the Axes, one colour per run."""
        from .figures.common import PALETTE, style
        from .figures.timeseries import draw_timeseries_panel, timeseries_data
        from .ombt.run import run_window

        _check_choice("panel", panel, ("cpu", "memory"))
        rows = self.rows(runs)
        drawn = []
        for _, row in rows.iterrows():
            window = run_window(row.to_dict())
            ts = self.timeseries(row["run_id"])
            data = timeseries_data(ts, window, roles) if window and not ts.empty else None
            if data is not None and not data.empty and (data["panel"] == panel).any():
                drawn.append((str(row[layout.LABEL]), data))
        self._check_drawn(drawn, rows, f"{panel} points of role {'/'.join(roles)} in "
                                       f"{layout.TIMESERIES} (or no test window)")
        several = len(drawn) > 1
        handles: dict[str, Any] = {}
        with style():
            for i, (label, data) in enumerate(drawn):
                handles.update(draw_timeseries_panel(
                    ax, data, panel, prefix=f"{label}: " if several else "",
                    colours=[PALETTE[i % len(PALETTE)]] if several else None))
            ax.set_xlabel("time since the test start (s)")
            _legend(ax, handles, "run: host: series" if several else "host: series")
        return ax

    def plot_nines(self, ax: Axes, runs: Runs = None, *, which: str = "rtt") -> Axes:
        """A panel of latency_nines: the exact quantiles (50 % ... 99.9 %, max) of the
        client time (``which="rtt"``) or of the one-way time (``"oneway"``), one line
        per run."""
        kind = which
        from .figures.common import style
        from .figures.messages import KINDS, draw_nines_panel, nines_data

        _check_choice("which", kind, list(KINDS))
        rows = self.rows(runs)
        self._require(rows, f"{kind}_p50_ms")
        data = nines_data(rows, {}, [layout.LABEL])
        drawn = data[(data["kind"] == kind) & data["latency_ms"].notna()]
        self._check_drawn(list(drawn.groupby(layout.LABEL)), rows,
                          f"{kind}_* quantiles (messages stage) in the table")
        with style():
            handles = draw_nines_panel(ax, data, [layout.LABEL], kind)
            _legend(ax, handles, "run")
        return ax

    def plot_message_timeline(self, ax: Axes, runs: Runs = None, *, panel: str = "rate",
                              side: str = "client") -> Axes:
        """A panel of message_timeline: messages completed per second (``rate``) or the
        p50 (solid) and p99 (dashed) latency of each second (``latency``) of ``side``,
        against the seconds since each run's first message; every second drawn (a silent
        one: 0 msg/s, a gap in the latency), one colour per run."""
        from .figures.common import PALETTE, style
        from .figures.messages import timeline_data

        _check_choice("panel", panel, ("rate", "latency"))
        _check_choice("side", side, layout.SIDES)
        rows = self.rows(runs)
        drawn = []
        for r in rows.itertuples():
            tl = self.timeline(r.run_id)
            if tl.empty:
                continue
            d = timeline_data(tl, float(tl["second"].min()))
            d = d[d["side"] == side]
            if not d.empty:
                drawn.append((str(getattr(r, layout.LABEL)), d))
        self._check_drawn(drawn, rows, f"{side} rows in {layout.TIMELINE}")
        handles: dict[str, Any] = {}
        with style():
            for i, (label, d) in enumerate(drawn):
                colour = PALETTE[i % len(PALETTE)]
                marker = "." if len(d) <= 60 else None
                if panel == "rate":
                    (h,) = ax.plot(d["t_s"], d["count"], color=colour, marker=marker)
                    ax.set_ylabel("messages / s")
                else:
                    (h,) = ax.plot(d["t_s"], d["p50_ms"], color=colour, marker=marker)
                    ax.plot(d["t_s"], d["p99_ms"], color=colour, linestyle="--",
                            marker=marker)
                    ax.set_ylabel("latency (ms; solid p50, dashed p99)")
                handles[label] = h
            ax.set_xlabel("time since the first message (s)")
            ax.set_title(f"{side} side: "
                         + ("messages completed per second" if panel == "rate"
                            else "latency of the messages completed in each second"))
            _legend(ax, handles, "run")
        return ax

    def _require(self, rows: pd.DataFrame, *cols: str) -> None:
        missing = [c for c in cols if c not in rows.columns]
        if missing:
            raise ResultsError(f"campaign {self.name}: no column {', '.join(missing)} in "
                               f"{layout.CAMPAIGN_PARQUET}")

    def _check_drawn(self, drawn: Sequence[tuple[str, Any]], rows: pd.DataFrame,
                     what: str) -> None:
        labels = {label for label, _ in drawn}
        left = [str(x) for x in rows[layout.LABEL] if str(x) not in labels]
        if not drawn:
            raise ResultsError(f"campaign {self.name}: nothing to draw: no {what} for run(s) "
                               f"{', '.join(left)}")
        if left:
            warnings.warn(f"campaign {self.name}: not drawn, no {what}: {', '.join(left)}",
                          stacklevel=3)


def _legend(ax: Axes, handles: Mapping[str, Any], title: str) -> None:
    if handles:
        ax.legend(list(handles.values()), list(handles.keys()), title=title, loc="best")


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ResultsError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _canonical(v: Any) -> str:
    return "nan" if _isnan(v) else json.dumps(v.item() if hasattr(v, "item") else v,
                                               sort_keys=True, default=str)


def _isnan(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _same(value: Any, wanted: Any) -> bool:
    """A table cell equals a wanted value: numbers by value (4 == 4.0), NaN/None alike."""
    if _isnan(value) or _isnan(wanted):
        return _isnan(value) and _isnan(wanted)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or isinstance(wanted, bool):  # True is not 1 here
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    return bool(value == wanted)
