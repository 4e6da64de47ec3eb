"""The campaign_table stage: every run's per-run files -> one campaign table and its files.

- :mod:`.table`: the table from the runs' rows (pure: reads and writes nothing);
- :mod:`.legacy`: the seed notebook's ``params_calculated.json`` and ``all_stats.json``
  (the post-mortem notebook this product replaces), same keys;
- :mod:`.write`: reading the runs' files, writing the campaign's files, the end summary.
"""

from .legacy import all_stats, params_calculated
from .table import PARAM_COLUMNS, build_table, combine_status, headline_latency
from .write import (
    RunOutputs,
    problems_summary,
    short_problem,
    split_problems,
    write_campaign,
    write_campaign_outputs,
    write_layout_marker,
    write_table,
)

__all__ = [
    "PARAM_COLUMNS",
    "RunOutputs",
    "all_stats",
    "build_table",
    "combine_status",
    "headline_latency",
    "params_calculated",
    "problems_summary",
    "short_problem",
    "split_problems",
    "write_campaign",
    "write_campaign_outputs",
    "write_layout_marker",
    "write_table",
]
