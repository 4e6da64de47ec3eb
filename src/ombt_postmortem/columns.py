"""The data dictionary: every column of the campaign table, its meaning, unit and the
stage that computes it. The one source of ``results/<name>/columns.csv`` and of the
docs/reference.md's table (:func:`markdown`; ``tests/unit/test_columns.py`` checks it is up to
date and that every column of the example's table is described).

Light like :mod:`.layout` (no pandas): plain tuples.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .layout import SIDES, STATUS_FAILED, STATUS_OK, STATUS_PARTIAL

#: stages, as the workflow's rules name them
PARAMS, OMBT, MESSAGES, INFLUX, CAMPAIGN = ("params.json", "ombt_stats", "messages",
                                            "influx_metrics", "campaign")


@dataclass(frozen=True)
class Column:
    name: str  # "<side>_..." stands for client_... and server_...
    meaning: str  # "{side}" is replaced by the side
    unit: str
    stage: str


_SIDE_LATENCY = ("the {side}'s latency as ombt measures it: the client's time per call (a "
                 "round trip for rpc-call, the send time alone for rpc-cast), the server's "
                 "from the client's send to its receipt")

DICTIONARY: tuple[Column, ...] = (
    Column("run_id", "the run's backup_dir in params.json (its folder)", "", PARAMS),
    Column("label", "the run named by the parameters that vary in the campaign "
           "(key=value joined by __)", "", CAMPAIGN),
    Column("status", f"{STATUS_OK}, {STATUS_PARTIAL} (a fault, some numbers kept) or "
           f"{STATUS_FAILED} (no ombt numbers)",
           "", CAMPAIGN),
    Column("problems", "the faults, run and file named, '; '-joined", "", CAMPAIGN),
    Column("n_clients", "client agents in the controller's files", "agents", OMBT),
    Column("n_servers", "server agents in the controller's files", "agents", OMBT),
    Column("<side>_msgs_ok", "messages the {side}s counted as ok", "messages", OMBT),
    Column("<side>_msgs_fail", "messages the {side}s counted as failed", "messages", OMBT),
    Column("<side>_start_time", "first start of the {side}s", "s (epoch)", OMBT),
    Column("<side>_stop_time", "last stop of the {side}s", "s (epoch)", OMBT),
    Column("<side>_duration_s", "stop - start of the {side}s", "s", OMBT),
    Column("<side>_rate", "(ok + failed) / duration: what the clients sent, what the "
           "servers processed", "msg/s", OMBT),
    Column("<side>_latency_count", "latency samples of the {side}s", "messages", OMBT),
    Column("<side>_latency_total_ms", "sum of the {side}s' latencies", "ms", OMBT),
    Column("<side>_latency_sum_of_squares", "sum of the squared latencies", "ms^2", OMBT),
    Column("<side>_latency_mean_ms", "mean of " + _SIDE_LATENCY, "ms", OMBT),
    Column("<side>_latency_std_ms", "population std of the {side}'s latency", "ms", OMBT),
    Column("<side>_latency_min_ms", "smallest {side} latency", "ms", OMBT),
    Column("<side>_latency_max_ms", "largest {side} latency", "ms", OMBT),
    *(Column(f"<side>_latency_{q}_est_ms", f"{q} of the {{side}}'s latency ESTIMATED from "
             "ombt's merged decade histogram (linear inside a bucket)", "ms", OMBT)
      for q in ("p50", "p90", "p99")),
    *(Column(f"<side>_latency_{q}_ms", f"THE {q} of the {{side}}'s latency: exact "
             "(every message of the agents' logs: rtt_* for the client, oneway_* for the "
             "server) where the messages stage read them, else the estimate",
             "ms", CAMPAIGN) for q in ("p50", "p90", "p99")),
    Column("<side>_latency_quantiles", "where <side>_latency_p*_ms come from: exact or "
           "estimate", "", CAMPAIGN),
    Column("<side>_errors", "errors the {side}s counted", "messages", OMBT),
    *(Column(f"<side>_{w}_per_agent_{s}", f"{s} over the {{side}}s of the messages "
             f"{'ok' if w == 'ok' else 'failed'} per agent", "messages", OMBT)
      for w in ("ok", "fail") for s in ("min", "mean", "max")),
    Column("controller_files", "the controller files read, ';'-joined", "", OMBT),
    Column("<side>_errors_detail", "the controller's raw error dict (text -> count), JSON",
           "", OMBT),
    Column("<side>_error_kinds", "the errors grouped into kinds (ids, numbers taken out): "
           "JSON list of kind, count, example", "", OMBT),
    Column("net_rtt_ms_min", "network check: smallest ping round trip", "ms", OMBT),
    Column("net_rtt_ms_mean", "network check: mean ping round trip", "ms", OMBT),
    Column("net_rtt_ms_max", "network check: largest ping round trip", "ms", OMBT),
    Column("net_loss_pct", "network check: pings without reply", "%", OMBT),
    Column("backup_notes", "what the backup's other files told", "", OMBT),
    Column("min_usage_idle_ombt_server", "CPU idle of the least idle ombt-server host "
           "(mean over the window per host)", "%", INFLUX),
    Column("min_usage_idle_bus", "CPU idle of the least idle bus host (mean over the window "
           "per host)", "%", INFLUX),
    Column("messages_delivered", "RabbitMQ's messages_delivered, max over the window: a "
           "cumulative counter (since the broker started), not the run's", "messages",
           INFLUX),
    Column("queues", "RabbitMQ queues, max over the window", "queues", INFLUX),
    Column("connections", "RabbitMQ connections, max over the window", "connections",
           INFLUX),
    Column("consumers", "RabbitMQ consumers, max over the window", "consumers", INFLUX),
    Column("exchanges", "RabbitMQ exchanges, max over the window", "exchanges", INFLUX),
    Column("mem_used", "RabbitMQ node memory used, max over the window", "bytes", INFLUX),
    Column("fd_used", "RabbitMQ node file descriptors used, max over the window",
           "descriptors", INFLUX),
    Column("sockets_used", "RabbitMQ node sockets used, max over the window", "sockets",
           INFLUX),
    Column("messages_delivered_in_run", "RabbitMQ messages delivered during the run: the "
           "counter's increase from a sample before the run to one after it", "messages",
           INFLUX),
    Column("messages_delivered_rate", "messages_delivered_in_run per second of the run's "
           "window", "msg/s", INFLUX),
    Column("bus_container_cpu_max", "CPU of the broker or router containers (docker input), "
           "max over the window", "% of a core", INFLUX),
    Column("bus_container_mem_max", "memory of the broker or router containers (docker "
           "input), max over the window", "bytes", INFLUX),
    Column("bus_tcp_established_max", "established TCP connections of a bus host (netstat), "
           "max over the window", "connections", INFLUX),
    *(Column(f"qdr_deliveries_{k}", f"qdr routers' deliveries ({k}) during the run, summed "
             "over routers and addresses: each counter's increase from a sample before the "
             "run to one after it", "messages", INFLUX) for k in ("ingress", "egress")),
    *(Column(f"qdr_deliveries_{k}_rate", f"qdr_deliveries_{k} per second of the run's window",
             "msg/s", INFLUX) for k in ("ingress", "egress")),
    Column("qdr_undelivered_max", "messages waiting for credit on a qdr link, max over the "
           "window", "messages", INFLUX),
    Column("qdr_unsettled_max", "deliveries not yet settled on a qdr link, max over the "
           "window", "messages", INFLUX),
    Column("qdr_connections_max", "connections of a qdr router, max over the window",
           "connections", INFLUX),
    Column("qdr_links_max", "links of a qdr router, max over the window", "links", INFLUX),
    Column("qdr_addresses_max", "addresses of a qdr router, max over the window",
           "addresses", INFLUX),
    Column("influx_notes", "what the InfluxDB stage noticed", "", INFLUX),
    Column("msg_clients_logged", "client agent logs found", "logs", MESSAGES),
    Column("msg_servers_logged", "server agent logs found", "logs", MESSAGES),
    Column("msg_sent", "client message lines (a repeated id counted once)", "messages",
           MESSAGES),
    Column("msg_errors", "client message lines with an error", "messages", MESSAGES),
    Column("msg_received", "server message lines (receipts)", "messages", MESSAGES),
    Column("msg_unreceived", "receipts missing over the ids sent", "messages", MESSAGES),
    Column("msg_unreceived_ok", "the part of msg_unreceived whose client line has no error",
           "messages", MESSAGES),
    Column("msg_duplicates", "receipts beyond those expected", "messages", MESSAGES),
    Column("msg_unknown", "receipts of ids no client logged", "messages", MESSAGES),
    Column("msg_bad_lines", "lines that are not JSON (skipped)", "lines", MESSAGES),
    Column("rtt_mean_ms", "mean client time (stop - start) of the lines without error: a "
           "round trip for rpc-call, the send time for rpc-cast", "ms", MESSAGES),
    *(Column(f"rtt_{q}_ms", f"exact {q} of the client time (round trip for rpc-call, send "
             "time for rpc-cast)", "ms", MESSAGES) for q in ("p50", "p90", "p99", "p999")),
    Column("rtt_max_ms", "largest client time", "ms", MESSAGES),
    *(Column(f"oneway_{q}_ms", f"exact {q} of the one-way time (server receipt - client "
             "send)", "ms", MESSAGES) for q in ("p50", "p90", "p99")),
    Column("oneway_max_ms", "largest one-way time", "ms", MESSAGES),
    Column("oneway_negative", "receipts before their send (hosts' clocks disagree)",
           "messages", MESSAGES),
    Column("steady_start", "steady window's start: the last client's first send",
           "s (epoch)", MESSAGES),
    Column("steady_stop", "steady window's stop: the first client's last reply",
           "s (epoch)", MESSAGES),
    Column("steady_s", "steady window's length", "s", MESSAGES),
    Column("steady_rate", "client lines without error completed in the steady window, per "
           "second", "msg/s", MESSAGES),
    Column("steady_rtt_p99_ms", "exact p99 client time of the lines sent and answered in "
           "the steady window", "ms", MESSAGES),
    Column("msg_notes", "what the messages stage noticed", "", MESSAGES),
)

HEADER = ("column", "meaning", "unit", "stage")


def expanded() -> dict[str, tuple[str, str, str]]:
    """column name -> (meaning, unit, stage), every ``<side>`` spelled out."""
    out: dict[str, tuple[str, str, str]] = {}
    for c in DICTIONARY:
        sides = SIDES if c.name.startswith("<side>_") else (None,)
        for side in sides:
            name = c.name.replace("<side>", side) if side else c.name
            meaning = c.meaning.replace("{side}", side or "side").replace(
                "<side>", side or "<side>")
            out[name] = (meaning, c.unit, c.stage)
    return out


def describe(columns: Iterable[str], params: Sequence[str] = (),
             metrics: Iterable[str] = ()) -> list[tuple[str, str, str, str]]:
    """One row (column, meaning, unit, stage) per column of a campaign table, in its order.

    ``params``: the run-parameter columns (from params.json, as the table names them:
    ``param_<key>`` when a key is named like a computed column); ``metrics``: the
    InfluxDB query columns the runs gave. A column known to none of them is described
    as such (meaning ``not described``), which the tests forbid for the example.
    """
    known = expanded()
    params, metrics = set(params), set(metrics)
    rows = []
    for col in columns:
        if col in params:
            key = col[len("param_"):] if col.startswith("param_") and col not in known \
                else col
            rows.append((col, f"run parameter {key!r} of params.json", "", PARAMS))
        elif col in known:
            rows.append((col, *known[col]))
        elif col in metrics:
            rows.append((col, "InfluxDB query of the configured query set (influx.queries)",
                         "", INFLUX))
        else:
            rows.append((col, "not described", "", ""))
    return rows


def write_csv(rows: Sequence[tuple[str, str, str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)


def markdown() -> str:
    """docs/reference.md's table: every column of :data:`DICTIONARY` (``<side>`` kept)."""
    out = io.StringIO()
    out.write("| column | meaning | unit | stage |\n|---|---|---|---|\n")
    for c in DICTIONARY:
        meaning = c.meaning.replace("{side}", "side").replace("|", "\\|")
        out.write(f"| `{c.name}` | {meaning} | {c.unit} | {c.stage} |\n")
    out.write("| *params.json keys* | the run's parameters, one column each (`param_<key>` "
              "when a key is named like a column above) | | params.json |\n")
    out.write("| *other InfluxDB queries* | one column per query of the configured set "
              "(`influx.queries`) | | influx_metrics |\n")
    return out.getvalue()
