"""The campaign table as a self-contained HTML page (for the report)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..layout import LABEL, STATUS_FAILED, STATUS_PARTIAL
from .common import param_columns

#: the columns shown first, after the varying parameters (the rest follow, all of them)
KEY_COLUMNS = [
    "status", "client_rate", "server_rate", "client_latency_mean_ms", "client_latency_p50_ms",
    "client_latency_p99_ms", "server_latency_mean_ms", "server_latency_p50_ms",
    "server_latency_p99_ms", "client_msgs_ok", "client_msgs_fail", "server_msgs_ok",
    "server_msgs_fail", "problems",
]

_CSS = """
body { font-family: sans-serif; font-size: 13px; margin: 8px; }
h1 { font-size: 16px; }
p { max-width: 60em; }
.wrap { overflow: auto; max-height: 85vh; border: 1px solid #ccc; }
table { border-collapse: collapse; white-space: nowrap; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
td.t { text-align: left; }
thead th { position: sticky; top: 0; background: #f0f0f0; z-index: 1; }
""" + f"""tr.{STATUS_PARTIAL} td {{ background: #fff6d5; }}
tr.{STATUS_FAILED} td {{ background: #fde0e0; }}
"""


def _cell(v: Any) -> tuple[str, bool]:
    """(text, is_text) of a value: numbers with 6 significant digits, NaN as 'NaN'."""
    if v is None or v is pd.NA:
        return "", True
    if isinstance(v, bool):
        return str(v), True
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return f"{int(v):,}", False
    if isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        f = float(v)
        return ("NaN" if math.isnan(f) else f"{f:.6g}"), False
    return str(v), True


def column_order(table: pd.DataFrame, params: Sequence[str] | None = None) -> list[str]:
    """The parameters that vary, the key results, the label, every other column, and the
    run_id (often 150 characters long) last."""
    pcols = param_columns(table, params)
    varying = [c for c in pcols if table[c].nunique(dropna=False) > 1]
    first = [*varying, *[c for c in KEY_COLUMNS if c in table.columns], LABEL]
    first = [c for c in dict.fromkeys(first) if c in table.columns and c != "run_id"]
    rest = [c for c in table.columns if c not in first and c != "run_id"]
    return [*first, *rest, *(["run_id"] if "run_id" in table.columns else [])]


def campaign_table_html(table: pd.DataFrame, path: Path | str, *, title: str = "",
                        params: Sequence[str] | None = None) -> Path:
    """Write every row and column of ``table`` as one HTML page (no external resource)."""
    cols = column_order(table, params)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for rec in table[cols].itertuples(index=False, name=None):
        status = str(rec[cols.index("status")]) if "status" in cols else ""
        cells = []
        for v in rec:
            text, is_text = _cell(v)
            cells.append(f'<td class="t">{html.escape(text)}</td>' if is_text
                         else f"<td>{html.escape(text)}</td>")
        rows.append(f'<tr class="{html.escape(status)}">{"".join(cells)}</tr>')
    counts = table["status"].value_counts().to_dict() if "status" in table.columns else {}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title or 'campaign table')}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title or 'campaign table')}</h1>
<p>{len(table)} runs ({html.escape(summary)}). One row per run of params.json, every column of
campaign.csv: the parameters that vary first, then rates (msg/s), latencies (ms), message
counts and the problems found, then all other columns, the run_id last (the meaning and unit
of every column: columns.csv). Partial runs are yellow, failed runs
red. Numbers are shown with 6 significant digits; the CSV holds them in full.</p>
<div class="wrap"><table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></div></body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
