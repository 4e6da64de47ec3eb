"""The seed notebook's files, ``params_calculated.json`` and ``all_stats.json``, with the
same keys as the post-mortem notebook this product replaces (not in this repository)
wrote them, so that the scripts reading them keep working. Pure: the JSON text from the
campaign table; :mod:`.write` writes it. Its known defects are not reproduced (client
latency uses the clients' own count).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..layout import STATUS_FAILED
from ..params import Run

#: The seed notebook grouped its InfluxDB metrics by measurement in params_calculated.json:
#: column -> measurement (a metric column not listed here goes to the ``influx`` group).
LEGACY_METRIC_GROUPS = {
    "min_usage_idle_ombt_server": "cpu",
    "min_usage_idle_bus": "cpu",
    "messages_delivered": "rabbitmq_overview",
    "queues": "rabbitmq_overview",
    "connections": "rabbitmq_overview",
    "consumers": "rabbitmq_overview",
    "exchanges": "rabbitmq_overview",
    "mem_used": "rabbitmq_node",
    "fd_used": "rabbitmq_node",
    "sockets_used": "rabbitmq_node",
}
#: the group of a metric column the seed notebook did not have
OTHER_METRIC_GROUP = "influx"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return _clean(v.item())
    return v


#: one side's merged latency histogram as the seed notebook wrote it: decade -> 10 bucket counts
Distribution = dict[str, list[int]]


def distributions(hist: Mapping[str, Sequence[Any]]) -> dict[str, Distribution]:
    """side -> the seed notebook's ``distribution`` from a latency_hist table's columns
    (``side``, ``decade``, ``bucket``, ``count``), decades in increasing order."""
    by_side: dict[str, dict[int, list[int]]] = {}
    for side, decade, bucket, count in zip(hist["side"], hist["decade"], hist["bucket"],
                                           hist["count"], strict=True):
        row = by_side.setdefault(str(side), {}).setdefault(int(decade), [0] * 10)
        row[int(bucket)] = int(count)
    return {side: {str(d): rows[d] for d in sorted(rows)} for side, rows in by_side.items()}


def agg_results(row: Mapping[str, Any], dist: Distribution, side: str) -> dict[str, Any]:
    """The seed notebook's ``_agg_clients`` / ``_agg_servers``: merged TestResults + rate."""
    p = f"{side}_"
    count = _clean(row.get(p + "latency_count"))
    return {
        "start_time": _clean(row.get(p + "start_time")),
        "stop_time": _clean(row.get(p + "stop_time")),
        "msgs_ok": _clean(row.get(p + "msgs_ok")),
        "msgs_fail": _clean(row.get(p + "msgs_fail")),
        "latency": {
            "min": _clean(row.get(p + "latency_min_ms")),
            "max": _clean(row.get(p + "latency_max_ms")),
            "total": _clean(row.get(p + "latency_total_ms")),
            "count": count,
            "sum_of_squares": _clean(row.get(p + "latency_sum_of_squares")),
            "distribution": dist,
        },
        "errors": json.loads(str(row.get(p + "errors_detail") or "{}")),
        "rate": _clean(row.get(p + "rate")),
    }


def _per_agent(row: Mapping[str, Any], side: str, what: str) -> dict[str, Any]:
    p = f"{side}_{what}_per_agent_"
    return {"mean": _clean(row.get(p + "mean")), "min": _clean(row.get(p + "min")),
            "max": _clean(row.get(p + "max"))}


def params_calculated(
    runs: Sequence[Run], table: pd.DataFrame, dists: Mapping[str, Mapping[str, Distribution]],
    metric_groups: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``params_calculated.json`` as the seed notebook wrote it (every run, failed ones too).

    ``dists`` maps run_id to :func:`distributions` of the run's latency histogram.
    """
    by_id = {r["run_id"]: r for r in table.to_dict("records")}
    out = []
    for run in runs:
        row = by_id.get(run.run_id, {})
        d = dict(run.params)
        d["_ombt_clients"] = _clean(row.get("n_clients"))
        d["_ombt_servers"] = _clean(row.get("n_servers"))
        d["_ombt_msgs_sent_ok"] = _per_agent(row, "client", "ok")
        d["_ombt_msgs_received_ok"] = _per_agent(row, "server", "ok")
        d["_ombt_msgs_sent_fail"] = _per_agent(row, "client", "fail")
        d["_ombt_msgs_received_fail"] = _per_agent(row, "server", "fail")
        dist = dists.get(run.run_id, {})
        d["_agg_servers"] = agg_results(row, dist.get("server", {}), "server")
        d["_agg_clients"] = agg_results(row, dist.get("client", {}), "client")
        for column, measurement in (metric_groups or {}).items():
            if column in row:
                d.setdefault(f"_{measurement}", {})[column] = _clean(row[column])
        d["_status"] = row.get("status", STATUS_FAILED)
        d["_problems"] = row.get("problems", "")
        out.append(d)
    return out


def all_stats(table: pd.DataFrame, metric_columns: Sequence[str] = ()) -> pd.DataFrame:
    """The seed notebook's ``all_stats.json`` frame (client latency fixed: clients' own
    count)."""
    t = table
    rows = []
    for r in t.to_dict("records"):
        rows.append({
            "_ombt_clients": r.get("n_clients"),
            "_ombt_servers": r.get("n_servers"),
            "executor": r.get("executor"),
            "call_type": r.get("call_type"),
            "pause": r.get("pause"),
            "version": r.get("version"),
            "server_rate": r.get("server_rate"),
            "server_ok": r.get("server_msgs_ok"),
            "server_fail": r.get("server_msgs_fail"),
            "server_latency": r.get("server_latency_mean_ms"),
            "client_latency": r.get("client_latency_mean_ms"),
            "client_rate": r.get("client_rate"),
            "client_ok": r.get("client_msgs_ok"),
            "client_fail": r.get("client_msgs_fail"),
            "per_client_ok": _per_agent(r, "client", "ok"),
            "per_client_fail": _per_agent(r, "client", "fail"),
            "per_server_ok": _per_agent(r, "server", "ok"),
            "per_server_fail": _per_agent(r, "server", "fail"),
            **{c: r.get(c) for c in metric_columns},
        })
    return pd.DataFrame(rows)


def legacy_files(runs: Sequence[Run], table: pd.DataFrame,
                 dists: Mapping[str, Mapping[str, Distribution]],
                 metric_columns: set[str]) -> tuple[str, str]:
    """The text of ``params_calculated.json`` and of ``all_stats.json`` for the campaign
    ``table``; ``metric_columns``: the InfluxDB metric columns the runs' rows hold."""
    groups = [c for c in LEGACY_METRIC_GROUPS if c in table.columns]
    extra = [c for c in table.columns if c in metric_columns]
    calculated = params_calculated(
        runs, table, dists, {c: LEGACY_METRIC_GROUPS.get(c, OTHER_METRIC_GROUP) for c in extra})
    stats = all_stats(table, groups or extra)
    return (json.dumps(calculated, indent=1, default=_clean) + "\n",
            stats.to_json(double_precision=15) + "\n")
