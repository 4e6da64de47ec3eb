"""What the figures stage is asked to draw and where: light to import.

No matplotlib, no pandas: the workflow reads this module while it builds the
DAG, at every snakemake start and in every cluster job; the drawing code in
:mod:`ombt_postmortem.figures` is imported only by the jobs that draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .layout import COMPARISON, FIGURES_DIR

FORMATS = ("png", "svg", "pdf")


@dataclass(frozen=True)
class FigureOptions:
    """The ``figures`` section of the workflow config (all keys optional)."""

    format: str = "png"
    dpi: int = 110
    #: x axis of the load curves and of the resources figures
    x: str = "nbr_clients"
    #: one line per value of this parameter
    lines: str = "nbr_servers"
    #: one figure per combination of these parameters
    group_by: tuple[str, ...] = ("driver", "call_type")
    #: the latency overlay and the campaign comparison compare this parameter's values
    compare: str = "driver"
    #: per-run figures (latency histograms, bus time series): one job per campaign
    per_run: bool = True

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"figures.format must be one of {FORMATS}, not {self.format!r}")
        if not isinstance(self.dpi, int) or isinstance(self.dpi, bool) or self.dpi < 30:
            raise ValueError(f"figures.dpi must be an integer >= 30: {self.dpi!r}")
        object.__setattr__(self, "group_by", tuple(self.group_by))
        if self.x == self.lines or self.x in self.group_by or self.lines in self.group_by:
            raise ValueError(f"figures: x ({self.x}), lines ({self.lines}) and group_by "
                             f"{list(self.group_by)} must be different parameters")
        if self.compare == self.x:
            raise ValueError(f"figures: compare ({self.compare}) must differ from x ({self.x}): "
                             f"the overlay compares its values at equal x")

    @classmethod
    def from_config(cls, d: Mapping[str, Any] | None) -> FigureOptions:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in dict(d or {}).items() if k in known and v is not None})


def figure_paths(results: str, name: str, *, campaigns: Sequence[str], opts: FigureOptions,
                 timeseries: bool) -> list[str]:
    """The figure folders (and table page) of campaign ``name``.

    The comparison folder goes with the first campaign when there are several.
    """
    base = f"{results}/{name}/{FIGURES_DIR}"
    out = [
        f"{base}/campaign_table.html",
        f"{base}/load_curves",
        f"{base}/resources",
        f"{base}/latency_overlay",
    ]
    if opts.per_run:
        out.append(f"{base}/latency_hist")
    if opts.per_run and timeseries:
        out.append(f"{base}/timeseries")
    if len(campaigns) > 1 and name == campaigns[0]:
        out.append(f"{results}/{COMPARISON}/load_curves")
    return out
