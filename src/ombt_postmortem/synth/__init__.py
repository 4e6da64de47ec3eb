"""Synthetic ombt campaigns in the real on-disk format, for tests, scale and performance work.

- :mod:`.model`: what a run is (:class:`SynthSpec`, the simulated run and its agents);
- :mod:`.campaign`: the ombt files (controller output, agents' logs) and the campaign
  (:func:`synth_campaign`, the ``ombt-postmortem synth`` command's work);
- :mod:`.influx`: each run's InfluxDB backup, written by a real influxd;
- :mod:`.orchestrator`: the layout ombt-orchestrator 1.1.x backs up (``--layout
  orchestrator``); :mod:`.rewrite` turns a campaign into that layout.

The names below are the public ones; the rest is private to the package.
"""

from .campaign import (
    decades_and_buckets,
    parse_counts,
    plan_runs,
    series_of,
    simulate_campaign,
    simulate_run,
    synth_campaign,
)
from .model import CALL_TYPES, RunSim, SynthSpec

__all__ = [
    "CALL_TYPES",
    "RunSim",
    "SynthSpec",
    "decades_and_buckets",
    "parse_counts",
    "plan_runs",
    "series_of",
    "simulate_campaign",
    "simulate_run",
    "synth_campaign",
]
