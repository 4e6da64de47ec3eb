"""Suspicious values of the InfluxDB stage: a zero where the run
clearly had traffic.

A RabbitMQ bus that delivered thousands of messages had connections, consumers and
sockets in use; its management API, sampled every 30 s by Telegraf's rabbitmq input
(ombt-orchestrator's roles/telegraf/templates/telegraf.conf.j2), can still say 0 for
the whole of a short run's window when its samples fell before the clients connected
or after they left, or when the broker restarted between runs; and RabbitMQ 3.7 and
later report ``sockets_used`` 0 whatever the connections (rabbitmq/rabbitmq-management
issue 652; the figure is gone in 4.0). Such a zero is kept
(it is what the backup says) with a note in ``influx_notes`` that names the column,
the run's message count (from its controller files) and the likely cause.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: columns (of the default query sets, config/queries/*.yaml) that cannot be 0 over the
#: window of a run whose messages flowed through the bus, and what 0 likely means
TRAFFIC_COLUMNS: dict[str, str] = {
    "connections": "RabbitMQ's management API may have been sampled between runs",
    "consumers": "RabbitMQ's management API may have been sampled between runs",
    # seen in the bundled example beside 7 to 35 connections: not a sampling gap there
    "sockets_used": "RabbitMQ 3.7 and later may report 0 sockets whatever the connections "
                    "(rabbitmq/rabbitmq-management#652), or its management API was "
                    "sampled between runs",
    "messages_delivered_in_run": "RabbitMQ's messages_delivered counter did not move "
                                 "between the samples read (stale management API?)",
    "bus_tcp_established_max": "netstat may have been sampled between runs",
    "qdr_connections_max": "collectd may have sampled the routers between runs",
    "qdr_links_max": "collectd may have sampled the routers between runs",
}


def run_messages(summary: Mapping[str, Any]) -> int:
    """The messages the run delivered, by its controller files: the servers' received
    count, else the clients' sent count (0 when neither is known)."""
    for key in ("server_msgs_ok", "client_msgs_ok"):
        v = summary.get(key)
        if isinstance(v, int | float) and math.isfinite(v) and v > 0:
            return int(v)
    return 0


def zero_notes(values: Mapping[str, float], summary: Mapping[str, Any]) -> list[str]:
    """One note per column of :data:`TRAFFIC_COLUMNS` that is exactly 0 while the run
    delivered messages (``summary``: the run's ombt summary row)."""
    n = run_messages(summary)
    if n == 0:
        return []
    return [f"{col} 0 while the run delivered {n} messages: {why}"
            for col, why in TRAFFIC_COLUMNS.items() if values.get(col) == 0]
