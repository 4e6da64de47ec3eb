"""What the figures stage is asked to draw and where: light to import.

No matplotlib, no pandas: the workflow reads this module while it builds the
DAG, at every snakemake start and in every cluster job; the drawing code in
:mod:`ombt_postmortem.figures` is imported only by the jobs that draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import config
from .errors import ConfigError
from .layout import COMPARISON, FIGURES_DIR

#: the defaults of the ``figures`` section, read from the configuration schema (their one home)
_DEFAULTS = config.defaults("figures")
#: png, svg, pdf: the schema's ``figures.format`` choices
FORMATS = tuple(config.schema("figures")["properties"]["format"]["anyOf"][0]["enum"])


@dataclass(frozen=True)
class FigureOptions:
    """The ``figures`` section of the workflow config (all keys optional).

    Keys, types and defaults are those of the configuration schema
    (:mod:`ombt_postmortem.config`): the defaults below are read from it and every
    instance is checked against it.
    """

    #: one of :data:`FORMATS`, or several (a list: each figure written in each)
    format: str | tuple[str, ...] = _DEFAULTS["format"]
    dpi: int = _DEFAULTS["dpi"]
    #: x axis of the load curves and of the resources figures
    x: str = _DEFAULTS["x"]
    #: one line per value of this parameter
    lines: str = _DEFAULTS["lines"]
    #: one figure per combination of these parameters
    group_by: tuple[str, ...] = tuple(_DEFAULTS["group_by"])
    #: the latency overlay and the campaign comparison compare this parameter's values
    compare: str = _DEFAULTS["compare"]
    #: per-run figures (latency histograms, bus time series): one job per campaign
    per_run: bool = _DEFAULTS["per_run"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_by", tuple(self.group_by))
        if not isinstance(self.format, str):
            object.__setattr__(self, "format", tuple(self.format))
        config.validate({k: getattr(self, k) for k in self.__dataclass_fields__}, "figures")
        if self.x == self.lines or self.x in self.group_by or self.lines in self.group_by:
            raise ConfigError(f"figures: x ({self.x}), lines ({self.lines}) and group_by "
                              f"{list(self.group_by)} must be different parameters")
        if self.compare == self.x:
            raise ConfigError(f"figures: compare ({self.compare}) must differ from x "
                              f"({self.x}): the overlay compares its values at equal x")

    @property
    def formats(self) -> tuple[str, ...]:
        """The figure formats, the first being the report's."""
        return (self.format,) if isinstance(self.format, str) else tuple(self.format)

    @classmethod
    def from_config(cls, d: Mapping[str, Any] | None) -> FigureOptions:
        """From the config's ``figures`` mapping: missing or null keys take the defaults,
        an unknown key is a :class:`~ombt_postmortem.errors.ConfigError` naming it."""
        given = {k: v for k, v in dict(d or {}).items() if v is not None}
        return cls(**config.validate(given, "figures"))


@dataclass(frozen=True)
class FigureKind:
    """One kind of figure: its folder under ``figures/``, the rule that draws it, the
    rule's output name for it, its place and title in the report, what it needs, and
    the :class:`~ombt_postmortem.results.CampaignResults` method that redraws it."""

    kind: str
    rule: str
    output: str
    title: str
    #: one figure per run (drawn only with ``figures.per_run``)
    per_run: bool
    #: ``"timeseries"`` (exported InfluxDB series), ``"messages"`` (the messages stage) or ""
    needs: str
    plot: str

    @property
    def caption(self) -> str:
        """Its caption, relative to ``workflow/rules/``."""
        return f"../report/{self.kind}.rst"


#: Every figure kind of a campaign, in the report's order (its subcategories are numbered
#: from 1; 0 is the campaign table). The one list read by figures.smk, `rule all`
#: (:func:`figure_paths`), the report and ``results.CampaignResults.plot``.
FIGURE_KINDS: tuple[FigureKind, ...] = (
    FigureKind("load_curves", "figures_campaign", "load_curves", "load curves", False, "",
               "plot_load_curve"),
    FigureKind("resources", "figures_campaign", "resources", "resources against load", False,
               "", "plot_resource"),
    FigureKind("latency_overlay", "figures_latency", "overlay", "latency overlay", False, "",
               "plot_cdf"),
    FigureKind("latency_hist", "figures_latency", "hist", "latency per run", True, "",
               "plot_histogram"),
    FigureKind("timeseries", "figures_timeseries", "timeseries", "bus CPU and memory per run",
               True, "timeseries", "plot_timeseries"),
    FigureKind("latency_nines", "figures_messages", "nines", "exact latency quantiles", False,
               "messages", "plot_nines"),
    FigureKind("message_timeline", "figures_messages", "timelines",
               "messages over time per run", True, "messages", "plot_message_timeline"),
)
KINDS: dict[str, FigureKind] = {k.kind: k for k in FIGURE_KINDS}


def subcategory(kind: str) -> str:
    """The report's subcategory of ``kind``: its number and title (``1. load curves``)."""
    return f"{FIGURE_KINDS.index(KINDS[kind]) + 1}. {KINDS[kind].title}"


def drawn_kinds(opts: FigureOptions, *, timeseries: bool, messages: bool) -> list[FigureKind]:
    """The kinds drawn with these options and stages."""
    have = {"": True, "timeseries": timeseries, "messages": messages}
    return [k for k in FIGURE_KINDS if have[k.needs] and (opts.per_run or not k.per_run)]


def figure_paths(results: str, name: str, *, campaigns: Sequence[str], opts: FigureOptions,
                 timeseries: bool, messages: bool = False) -> list[str]:
    """The figure folders (and table page) of campaign ``name``.

    The comparison folder goes with the first campaign when there are several.
    """
    base = f"{results}/{name}/{FIGURES_DIR}"
    out = [f"{base}/campaign_table.html"]
    out += [f"{base}/{k.kind}" for k in drawn_kinds(opts, timeseries=timeseries,
                                                    messages=messages)]
    if len(campaigns) > 1 and name == campaigns[0]:
        out.append(f"{results}/{COMPARISON}/load_curves")
        out.append(f"{results}/{COMPARISON}/resources")
    return out
