"""The shared model of the synthetic campaigns: what to generate and a simulated run.

:mod:`ombt_postmortem.synth.campaign` simulates and writes the ombt files,
:mod:`ombt_postmortem.synth.influx` the InfluxDB backups; both take these
types from here, so neither imports the other's module at import time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CALL_TYPES = ("rpc-call", "rpc-cast", "rpc-fanout", "notify")
#: ``SynthSpec.layout``: ``default`` is what synth always wrote (our own collector's
#: database ``telegraf``, Telegraf every 2 s, cpu-total only); ``orchestrator`` is what
#: ombt-orchestrator 1.1.x backs up (see :mod:`ombt_postmortem.synth.orchestrator`).
LAYOUTS = ("default", "orchestrator")
BUS_TYPES = ("rabbitmq", "qdr")
#: ombt-orchestrator's default ombt image (orchestrator/constants.py, VERSION)
ORCHESTRATOR_VERSION = "msimonin/ombt:singleton"
TOPIC = "topic-0"
CONTROLLER_HOST = "enos-control-bus-0"
BUS_HOST = "enos-bus-0"


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. The sweep is call_types x clients x servers, in that order."""

    runs: int | None = None  # None: one run per combination
    clients: tuple[int, ...] = (1, 2, 4)
    servers: tuple[int, ...] = (1, 2)
    call_types: tuple[str, ...] = ("rpc-call", "rpc-cast")
    nbr_calls: int = 500
    pause: float = 0.0
    length: int = 1024
    executor: str = "threading"
    driver: str = "broker"  # anything else ("router"): no rabbitmq_* measurements
    timeout: int = 60
    #: None: "ombt-3.0.0" in the default layout, the orchestrator's docker image
    #: (msimonin/ombt:singleton) in the orchestrator layout
    version: str | None = None
    seed: int = 0
    fail_rate: float = 0.0  # probability that a client message fails
    #: every client latency multiplied by this (same draws: a "candidate" of the same
    #: seed that is uniformly slower or faster; 1.0 leaves the output byte-identical)
    latency_scale: float = 1.0
    influx: bool = True
    agent_logs: bool = False
    #: agent logs only (see :class:`LogFaults`); stagger_s also moves the clients' sends
    stagger_s: float = 0.0  # clients start spread over [0, stagger_s]: warm-up and cool-down
    lost_rate: float = 0.0  # probability that a receipt line is missing from a server log
    dup_rate: float = 0.0  # probability that a receipt is logged twice (redelivery)
    clock_skew_s: float = 0.0  # each host's clock off by uniform(-skew, +skew) seconds
    telegraf_interval_s: float = 2.0
    agents_per_host: int = 10
    start_time: float = 1_700_000_000.0  # epoch of the first run's deployment
    layout: str = "default"  # or "orchestrator" (see LAYOUTS)
    #: driver NAMES swept (outermost, as the orchestrator sorts them), each ``name`` or
    #: ``name=TYPE`` with TYPE ``rabbitmq``, ``qdr`` or ``qdr:N`` (N routers, complete
    #: graph); without a type: names starting with "router" are qdr (``router-4``: 4
    #: routers), the others rabbitmq. Empty: only ``driver``, not swept (as before).
    drivers: tuple[str, ...] = ()
    #: orchestrator layout: network constraints swept (params ``delay``, ``loss`` and
    #: ``traffic``); None: not in params.json (test cases without a traffic setting)
    delays: tuple[str | None, ...] | None = None
    losses: tuple[float, ...] | None = None
    #: orchestrator layout: the control bus's Telegraf ``rabbitmq`` input (its
    #: telegraf.conf.j2 enables it on every control-bus host, whatever the driver)
    control_bus_rabbitmq: bool = True

    def __post_init__(self) -> None:
        if self.runs is not None and self.runs < 1:
            raise ValueError("runs must be >= 1")
        for name in ("clients", "servers"):
            values = getattr(self, name)
            if not values or any(int(v) < 1 for v in values):
                raise ValueError(f"{name}: give at least one count >= 1")
        bad = [c for c in self.call_types if c not in CALL_TYPES]
        if not self.call_types or bad:
            raise ValueError(f"call types must be among {', '.join(CALL_TYPES)}: {bad}")
        if self.nbr_calls < 1:
            raise ValueError("nbr_calls must be >= 1")
        if not self.latency_scale > 0:
            raise ValueError("latency_scale must be > 0")
        if self.pause < 0 or not 0 <= self.fail_rate < 1:
            raise ValueError("pause must be >= 0 and fail_rate in [0, 1)")
        if self.stagger_s < 0 or self.clock_skew_s < 0:
            raise ValueError("stagger_s and clock_skew_s must be >= 0")
        if not (0 <= self.lost_rate < 1 and 0 <= self.dup_rate < 1):
            raise ValueError("lost_rate and dup_rate must be in [0, 1)")
        if self.telegraf_interval_s <= 0 or self.agents_per_host < 1:
            raise ValueError("telegraf_interval_s must be > 0 and agents_per_host >= 1")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}: {self.layout!r}")
        for d in self.drivers:
            bus_of(d)  # raises on a bad type
        if self.layout != "orchestrator" and (self.delays is not None
                                              or self.losses is not None):
            raise ValueError("delays and losses are params of the orchestrator layout")
        if self.losses is not None and any(not 0 <= x < 100 for x in self.losses):
            raise ValueError("losses are percentages in [0, 100)")

    @property
    def ombt_version(self) -> str:
        if self.version is not None:
            return self.version
        return ORCHESTRATOR_VERSION if self.layout == "orchestrator" else "ombt-3.0.0"

    @property
    def driver_names(self) -> tuple[str, ...]:
        """The driver names of the sweep (params.json's ``driver``)."""
        return tuple(bus_of(d).name for d in self.drivers) if self.drivers else (self.driver,)

    def bus(self, driver_name: str) -> Bus:
        """The bus behind a driver name (params.json's ``driver``)."""
        for d in self.drivers:
            b = bus_of(d)
            if b.name == driver_name:
                return b
        return bus_of(driver_name)


@dataclass(frozen=True)
class Bus:
    """A driver name and the bus it deploys (the ``drivers:`` section of a conf.yaml)."""

    name: str
    type: str  # rabbitmq or qdr
    routers: int = 1  # qdr: routers in a complete graph, all on the bus host


def bus_of(driver: str) -> Bus:
    """``broker`` -> rabbitmq; ``router``/``router-4`` -> qdr with 1/4 routers;
    ``name=rabbitmq``, ``name=qdr``, ``name=qdr:3`` say it explicitly."""
    name, _, kind = driver.partition("=")
    name = name.strip()
    if not name:
        raise ValueError(f"empty driver name in {driver!r}")
    if not kind:
        if name.startswith("router"):
            tail = name[len("router"):].lstrip("-_")
            return Bus(name, "qdr", int(tail) if tail.isdigit() and int(tail) > 0 else 1)
        return Bus(name, "rabbitmq")
    kind, _, n = kind.partition(":")
    if kind not in BUS_TYPES:
        raise ValueError(f"driver {name!r}: bus type must be one of {', '.join(BUS_TYPES)}")
    if n and (not n.isdigit() or int(n) < 1 or kind != "qdr"):
        raise ValueError(f"driver {name!r}: only qdr takes a router count (qdr:N, N >= 1)")
    return Bus(name, kind, int(n) if n else 1)


@dataclass
class Agent:
    """One simulated ombt client or server and what it reports."""

    side: str  # "client" or "server"
    kind: str  # RPCClient, RPCServer, Notifier, Listener
    ordinal: int
    host: str
    agent_id: str
    results: dict[str, Any] = field(default_factory=dict)
    #: client: send stamps ts and completion stamps done; server: message ts and handling time
    sent: np.ndarray | None = None
    stamp: np.ndarray | None = None
    #: client: the latencies recorded, in order (what Stats.update saw); server: per poll
    samples: list[np.ndarray] = field(default_factory=list)
    #: server: index of the sending client and sequence number of each message
    src: np.ndarray | None = None
    seq: np.ndarray | None = None
    msgid: str = ""  # client: the hex prefix of its message ids
    failed: np.ndarray | None = None


@dataclass
class RunSim:
    """A simulated run: parameters, agents in the order the controller wrote them, times."""

    index: int
    params: dict[str, Any]
    run_uuid: str
    controller_id: str
    clients: list[Agent]
    servers: list[Agent]
    deploy_time: float  # the run's services start (telegraf points from here)
    test_start: float
    test_end: float  # last server poll
    end_time: float  # backup taken (telegraf points up to here)
    polls: list[list[tuple[int, dict[str, Any]]]]  # per poll: (server ordinal, results) in order

    @property
    def backup_dir(self) -> str:
        return str(self.params["backup_dir"])

    @property
    def controller_log_name(self) -> str:
        return f"{CONTROLLER_HOST}_controller-0-{TOPIC}-{self.run_uuid}-0.log"

    def controller_lines(self) -> list[str]:
        """The two JSON lines of the controller's --output file."""
        return [json.dumps({a.agent_id: a.results for a in agents})
                for agents in (self.clients, self.servers)]
