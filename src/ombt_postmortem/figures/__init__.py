"""Figures of a campaign, callable from Python without Snakemake.

One function per figure kind; each writes its figures into a folder, next to
each figure the exact data it plots as a CSV, and a ``manifest.csv`` listing
the figures written and those skipped (with the reason):

- :func:`load_curves` rate and latency against the load (campaign table)
- :func:`resources_vs_load` InfluxDB metric columns against the load (campaign table)
- :func:`latency_histograms` per run: client/server latency histograms (latency_hist.parquet)
- :func:`latency_overlay` latency distributions of a parameter's values at equal load
- :func:`bus_timeseries` per run: bus CPU and memory over time (timeseries.parquet)
- :func:`message_timelines` per run: messages and latency per second (timeline.parquet)
- :func:`latency_nines` exact round-trip and one-way latency quantiles, one line per run
- :func:`campaign_comparison` load curves of several campaigns, one colour per campaign
- :func:`campaign_table_html` the campaign table as an HTML page

Each kind is drawn panel by panel by a function that draws into a given
matplotlib Axes (``draw_load_panel``, ``draw_resource_panel``,
``draw_histogram_panel``, ``draw_cdf_panel``, ``draw_timeseries_panel``): the
written figures are made of them, and :mod:`ombt_postmortem.results` redraws any
kind for chosen runs into the caller's Axes with them.

Example::

    import pandas as pd
    from ombt_postmortem.figures import FigureOptions, load_curves
    table = pd.read_parquet("results/example/campaign.parquet")
    load_curves(table, "figs/load_curves", FigureOptions(format="svg"), title="example")
"""

from .common import FigureOptions, FigureSet, Written
from .distributions import latency_histograms, latency_overlay
from .load_curves import campaign_comparison, load_curves
from .messages import latency_nines, message_timelines
from .resources import resources_comparison, resources_vs_load
from .table import campaign_table_html
from .timeseries import bus_timeseries

__all__ = [
    "FigureOptions",
    "FigureSet",
    "Written",
    "bus_timeseries",
    "campaign_comparison",
    "campaign_table_html",
    "latency_histograms",
    "latency_nines",
    "latency_overlay",
    "load_curves",
    "message_timelines",
    "resources_comparison",
    "resources_vs_load",
]
