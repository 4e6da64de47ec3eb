"""Synthetic ombt campaigns in the real on-disk format, for scale and performance work.

:func:`synth_campaign` writes what ombt-orchestrator backs up (see
``docs/DESIGN.md`` and the real fixture): ``params.json`` and, per run, the
controller's ``--output`` file, its ``_docker.log``, optionally the agents' own
logs, and a real ``influxdb-data.tar.gz`` (:mod:`ombt_postmortem.synth.influx`).

How the numbers are made, so that they are as consistent as ombt's own:

- every client sends ``nbr_calls`` messages one after the other; each latency
  is drawn from a per-call-type model calibrated on the real fixture (a floor
  plus a log-normal part growing with the load, rare spikes, a slow first
  message), and the client's clock readings ``ts``/``done`` are epoch floats, so
  the recorded value is ``(done - ts) * 1000`` exactly as ombt computes it;
- servers see the messages a client sent: rpc-call at a fraction of the round
  trip, rpc-cast/notify through a FIFO queue per server (round-robin between
  competing servers; a Lindley recursion with a per-message service time, which
  is how cast latencies reach seconds when servers fall behind), rpc-fanout
  through one queue per server receiving every message;
- each agent's ``Stats`` is accumulated exactly like ombt's ``Stats.update``:
  ``total`` and ``sum_of_squares`` are sequential float sums in sample order
  (``value ** 2`` with Python's ``pow``), decade ``int(log10(v))`` and bucket
  ``int(v / 10**decade)``, decade keys inserted in order of first occurrence
  (so they come out unsorted, as strings, like the real files);
- servers are polled by the controller every ~0.25 s once the clients are done;
  each poll returns (and resets) what a server gathered since the previous one,
  and the polls are merged with ombt's ``TestResults.merge`` semantics.

Everything is drawn from ``numpy.random.default_rng([seed, run_index])``: the
same seed gives byte-identical JSON and log files, and run ``i`` does not
depend on how many runs follow it (``--runs 201`` starts with the same 200 runs
as ``--runs 200``). Only the InfluxDB files inside the tars differ between two
generations (influxd writes them; the tar and gzip headers are deterministic).
"""

# ruff: noqa: UP031  (the text files copy ombt's printf formats, %f and all)
from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .model import (
    CONTROLLER_HOST,
    TOPIC,
    Agent,
    RunSim,
    SynthSpec,
)

if TYPE_CHECKING:
    from .influx import RunSeries

POLL_PERIOD_S = 0.25
#: 10**k as floats, for ombt's ``value / 10**log`` (int 10**k is exact as a float up to 1e22)
_POW10 = np.array([float(10**k) for k in range(0, 23)])


# --------------------------------------------------------------------------- the campaign


def backup_dir_name(params: dict[str, Any]) -> str:
    """ombt-orchestrator's run folder name: ``key__value`` by sorted key, joined by ``-``."""
    return "-".join(f"{k}__{params[k]}" for k in sorted(params))


def plan_runs(spec: SynthSpec) -> list[dict[str, Any]]:
    """The params.json entries: the sweep repeated (``iteration`` key) up to ``spec.runs``.

    The sweep is call types x clients x servers; with ``spec.drivers`` the driver
    names come first (ombt-orchestrator sorts its runs by driver, then call type),
    and in the orchestrator layout ``delays`` x ``losses`` come last.
    """
    if spec.layout == "orchestrator":
        from .orchestrator import plan_orchestrator_runs

        return plan_orchestrator_runs(spec)
    drivers = spec.driver_names
    combos = list(itertools.product(drivers, spec.call_types, spec.clients, spec.servers))
    n = spec.runs if spec.runs is not None else len(combos)
    repeated = n > len(combos)
    runs = []
    for i in range(n):
        driver, call_type, clients, servers = combos[i % len(combos)]
        p: dict[str, Any] = {
            "nbr_clients": int(clients),
            "nbr_servers": int(servers),
            "nbr_calls": int(spec.nbr_calls),
            "pause": _num(spec.pause),
            "call_type": call_type,
            "timeout": int(spec.timeout),
            "version": spec.ombt_version,
            "length": int(spec.length),
            "executor": spec.executor,
            "driver": driver,
        }
        if repeated:
            p["iteration"] = i // len(combos)
        p["backup_dir"] = backup_dir_name(p)
        runs.append(p)
    return runs


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


# --------------------------------------------------------------------------- ombt's Stats


def empty_stats() -> dict[str, Any]:
    """``Stats().to_dict()``: what a server that saw nothing reports."""
    return {"min": None, "max": None, "total": 0, "count": 0, "sum_of_squares": 0,
            "distribution": {}}


def decades_and_buckets(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ombt's ``log = int(math.log10(v)) if v >= 1.0 else 0`` and ``int(v / 10**log)``.

    numpy's log10 is used, then any value whose log10 lies within 1e-9 of an
    integer is recomputed with :func:`math.log10`, so that the decade is the
    one ombt computes even right at a power of ten.
    """
    log = np.zeros(len(values), dtype=np.int64)
    ge1 = values >= 1.0
    if ge1.any():
        lg = np.log10(values[ge1])
        dec = lg.astype(np.int64)
        frac = lg - np.floor(lg)
        near = np.flatnonzero((frac < 1e-9) | (frac > 1 - 1e-9))
        if len(near):
            sub = values[ge1][near]
            dec[near] = [int(math.log10(v)) for v in sub.tolist()]
        log[ge1] = dec
    index = (values / _POW10[log]).astype(np.int64)
    return log, index


def stats_of(values: np.ndarray) -> dict[str, Any]:
    """``Stats()`` after ``update(v)`` for every v of ``values`` in order, as ``to_dict()``.

    ``total`` and ``sum_of_squares`` are running sums in sample order (a
    cumulative sum is sequential, unlike ``sum``), squares use Python's ``pow``
    like ombt's ``value ** 2``; distribution keys are ints, in order of first
    occurrence (json.dumps makes them strings, as the controller does).
    """
    n = len(values)
    if n == 0:
        return empty_stats()
    if not bool(np.all(values > 0)):  # ombt's "if self.min" would then misbehave
        raise ValueError("latencies must be > 0")
    total = float(np.cumsum(values)[-1])
    squares = np.fromiter(map(pow, values.tolist(), repeat(2)), dtype=np.float64, count=n)
    sum_sq = float(np.cumsum(squares)[-1])
    log, index = decades_and_buckets(values)
    decades, first = np.unique(log, return_index=True)
    counts = np.bincount(log * 10 + index, minlength=(int(decades[-1]) + 1) * 10).reshape(-1, 10)
    dist = {int(d): counts[d].tolist() for d in decades[np.argsort(first, kind="stable")]}
    return {"min": float(values.min()), "max": float(values.max()), "total": total,
            "count": n, "sum_of_squares": sum_sq, "distribution": dist}


def test_results(start: float | None, stop: float | None, ok: int, fail: int,
                 latency: dict[str, Any], errors: dict[str, int] | None = None) -> dict[str, Any]:
    """``TestResults.to_dict()``, keys in ombt's order."""
    return {"start_time": start, "stop_time": stop, "msgs_ok": int(ok), "msgs_fail": int(fail),
            "latency": latency, "errors": dict(errors or {})}


def merge_stats(a: dict[str, Any], b: dict[str, Any]) -> None:
    """ombt's ``Stats.merge``: ``a`` absorbs ``b`` (in place)."""
    for key, pick in (("min", min), ("max", max)):
        if b[key] is not None and a[key] is not None:
            a[key] = pick(a[key], b[key])
        else:
            a[key] = a[key] or b[key]
    a["total"] += b["total"]
    a["count"] += b["count"]
    a["sum_of_squares"] += b["sum_of_squares"]
    dist = a["distribution"]
    for k, row in b["distribution"].items():
        dist[k] = [x + y for x, y in zip(row, dist[k], strict=True)] if k in dist else list(row)


def merge_results(a: dict[str, Any], b: dict[str, Any]) -> None:
    """ombt's ``TestResults.merge``: ``a`` absorbs ``b`` (in place)."""
    sa, sb = a["start_time"], b["start_time"]
    a["start_time"] = min(sa, sb) if sa and sb else (sa or sb)
    ea, eb = a["stop_time"], b["stop_time"]
    a["stop_time"] = max(ea, eb) if ea and eb else (ea or eb)
    a["msgs_ok"] += b["msgs_ok"]
    a["msgs_fail"] += b["msgs_fail"]
    merge_stats(a["latency"], b["latency"])
    for err, n in b["errors"].items():
        a["errors"][err] = a["errors"].get(err, 0) + n


def copy_results(r: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(r), object_pairs_hook=_int_keys)


def _int_keys(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
    d = dict(pairs)
    if pairs and all(k.isdigit() for k, _ in pairs) and all(isinstance(v, list) for _, v in pairs):
        return {int(k): v for k, v in pairs}  # a distribution, as from_dict re-keys it
    return d


# --------------------------------------------------------------------------- one run



def _kinds(call_type: str) -> tuple[str, str, str, str]:
    if call_type == "notify":
        return "Notifier", "Listener", "notifier", "listener"
    return "RPCClient", "RPCServer", "rpc-client", "rpc-server"


def _hex(rng: np.random.Generator) -> str:
    return rng.bytes(16).hex()


def _eff(n: int) -> float:
    """Load factor of n agents: linear up to 8, logarithmic beyond (bigger deployments)."""
    return float(n) if n <= 8 else 8.0 * (1.0 + math.log(n / 8.0))


def _client_latencies(rng: np.random.Generator, n: int, call_type: str, clients: int,
                      servers: int) -> np.ndarray:
    """True latencies (ms) of one client's n messages; calibrated on the real fixture."""
    c, s = _eff(clients), _eff(servers)
    if call_type == "rpc-call":
        floor = 1.6 + 0.05 * c
        lat = floor + rng.lognormal(math.log(1.2 * c**1.25 / s**0.2), 0.6, n)
        spike_p, spike_ms, first_ms = 0.004, 20.0, (3.0, 25.0)
    else:  # cast, fanout, notify: the time to publish
        lat = 0.4 + rng.lognormal(math.log(0.3 * c**1.4), 0.55, n)
        spike_p, spike_ms, first_ms = 0.003, 5.0, (1.0, 12.0)
    spikes = rng.random(n) < spike_p
    lat[spikes] += rng.exponential(spike_ms, int(spikes.sum()))
    lat[0] += rng.uniform(*first_ms)  # link set-up of the first message
    return lat


def _service_times(rng: np.random.Generator, n: int, clients: int, servers: int) -> np.ndarray:
    """Seconds a server spends per message (grows with the agents sharing the machines)."""
    return rng.lognormal(math.log(0.45e-3 * _eff(clients + servers) ** 0.95), 0.3, n)


def _fifo(arrival: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Handling start times of a FIFO single server: h_i = max(a_i, h_{i-1} + s_{i-1})."""
    if len(arrival) == 0:
        return arrival.copy()
    d = np.concatenate(([0.0], np.cumsum(service[:-1])))
    return d + np.maximum.accumulate(arrival - d)


def simulate_run(spec: SynthSpec, index: int, params: dict[str, Any],
                 deploy_time: float) -> RunSim:
    """Simulate one run: every client and server, the controller's polls, ombt's reports."""
    rng = np.random.default_rng([spec.seed, index])
    call_type = str(params["call_type"])
    n_clients, n_servers = int(params["nbr_clients"]), int(params["nbr_servers"])
    n_calls, pause = int(params["nbr_calls"]), float(params["pause"])
    timeout = float(params["timeout"])
    ckind, skind, _, _ = _kinds(call_type)
    run_uuid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
    pid = int(rng.integers(2000, 30000))
    controller_id = f"ombt-{TOPIC}-None-{CONTROLLER_HOST}-{pid + n_clients + n_servers}-{_hex(rng)}"
    aph = spec.agents_per_host

    def agent(side: str, kind: str, i: int, host_prefix: str, offset: int) -> Agent:
        host = f"{host_prefix}-{i // aph}"
        aid = f"ombt-{TOPIC}-{kind}-{host}-{pid + offset + i}-{_hex(rng)}"
        return Agent(side=side, kind=kind, ordinal=i, host=host, agent_id=aid)

    servers = [agent("server", skind, j, "enos-server", 0) for j in range(n_servers)]
    clients = [agent("client", ckind, i, "enos-client", n_servers) for i in range(n_clients)]
    test_start = deploy_time + 14.0 + float(rng.uniform(0.0, 1.0))

    # ---- clients: one message after the other, started up to stagger_s apart (own rng:
    # without stagger every draw is the same as before it existed)
    offsets = (np.random.default_rng([spec.seed, index, 3]).uniform(0.0, spec.stagger_s, n_clients)
               if spec.stagger_s > 0 else np.zeros(n_clients))
    for cl, offset in zip(clients, offsets.tolist(), strict=True):
        lat = _client_latencies(rng, n_calls, call_type, n_clients, n_servers)
        if spec.latency_scale != 1.0:  # same draws, scaled (SynthSpec.latency_scale)
            lat = lat * spec.latency_scale
        failed = rng.random(n_calls) < spec.fail_rate
        errors: dict[str, int] = {}
        if failed.any():
            idx = np.flatnonzero(failed)
            if call_type == "rpc-call":  # MessagingTimeout after `timeout` seconds
                lat[idx] = timeout * 1000.0 + rng.uniform(1.0, 30.0, len(idx))
                for _ in idx:
                    msg = f"Timed out waiting for a reply to message ID {_hex(rng)}"
                    errors[msg] = errors.get(msg, 0) + 1
            else:
                errors["[Errno 104] Connection reset by peer"] = len(idx)
        overhead = rng.lognormal(math.log(40e-6), 0.5, n_calls)
        step = lat / 1000.0 + overhead + pause
        if pause:
            step += rng.uniform(50e-6, 150e-6, n_calls)  # sleep() overshoots
        start = test_start + float(rng.uniform(0.0, 0.015)) + offset
        ts = start + float(rng.uniform(2e-6, 10e-6)) + np.concatenate(([0.0], np.cumsum(step[:-1])))
        done = ts + lat / 1000.0
        recorded = (done - ts) * 1000.0
        stop = float(ts[-1] + step[-1])
        cl.sent, cl.stamp, cl.failed, cl.msgid = ts, done, failed, _hex(rng)
        cl.samples = [recorded]
        n_fail = int(failed.sum())
        cl.results = test_results(float(start), stop, n_calls - n_fail, n_fail,
                                  stats_of(recorded), errors)

    # ---- servers: who handles which message, when
    oks = [(cl, ~cl.failed) for cl in clients]  # type: ignore[operator]
    m_ts = np.concatenate([cl.sent[k] for cl, k in oks])  # type: ignore[index]
    m_done = np.concatenate([cl.stamp[k] for cl, k in oks])  # type: ignore[index]
    m_src = np.concatenate([np.full(int(k.sum()), cl.ordinal) for cl, k in oks])
    m_seq = np.concatenate([np.flatnonzero(k) for _, k in oks])
    handled: list[tuple[np.ndarray, np.ndarray]] = []  # per server: (message index, time)
    if call_type == "rpc-call":
        frac = rng.uniform(0.45, 0.8, len(m_ts))
        h = m_ts + frac * (m_done - m_ts)
        order = np.argsort(m_ts, kind="stable")
        for j in range(n_servers):
            mine = order[j::n_servers]
            mine = mine[np.argsort(h[mine], kind="stable")]
            handled.append((mine, h[mine]))
    else:
        arrival = m_done + rng.lognormal(math.log(0.15e-3), 0.4, len(m_done))
        order = np.argsort(arrival, kind="stable")
        for j in range(n_servers):
            mine = order if call_type == "rpc-fanout" else order[j::n_servers]
            service = _service_times(rng, len(mine), n_clients, n_servers)
            handled.append((mine, _fifo(arrival[mine], service)))
    for sv, (mine, h) in zip(servers, handled, strict=True):
        sv.sent, sv.stamp, sv.src, sv.seq = m_ts[mine], h, m_src[mine], m_seq[mine]

    # ---- the controller: client results, then server polls every ~0.25 s
    clients.sort(key=lambda a: a.results["stop_time"])  # results arrive as clients finish
    poll_time = max(a.results["stop_time"] for a in clients) + float(rng.uniform(0.01, 0.05))
    expected = sum(len(s.stamp) for s in servers)  # type: ignore[arg-type]
    polls: list[list[tuple[int, dict[str, Any]]]] = []
    got = 0
    cut = [0] * n_servers
    per_server: dict[int, dict[str, Any]] = {}
    first_seen: list[int] = []
    while True:
        answer = []
        for j in rng.permutation(n_servers).tolist():
            sv = servers[j]
            snap = poll_time + float(rng.uniform(0.5e-3, 3e-3))
            end = int(np.searchsorted(sv.stamp, snap, side="right"))  # type: ignore[arg-type]
            seg = slice(cut[j], end)
            cut[j] = end
            h, ts = sv.stamp[seg], sv.sent[seg]  # type: ignore[index]
            recorded = (h - ts) * 1000.0
            sv.samples.append(recorded)
            start = float(h[0]) if len(h) else None
            stop = float(h[-1]) if len(h) else None
            r = test_results(start, stop, len(h), 0, stats_of(recorded))
            answer.append((j, r))
            got += len(h)
            if j not in per_server:
                per_server[j] = copy_results(r)
                first_seen.append(j)
            else:
                merge_results(per_server[j], copy_results(r))
        polls.append(answer)
        if got >= expected:
            break
        poll_time += POLL_PERIOD_S + float(rng.uniform(2e-3, 10e-3))
    for j, r in per_server.items():
        servers[j].results = r
    servers = [servers[j] for j in first_seen]
    test_end = poll_time + 0.01
    return RunSim(index=index, params=params, run_uuid=run_uuid, controller_id=controller_id,
                  clients=clients, servers=servers, deploy_time=deploy_time,
                  test_start=test_start, test_end=test_end, end_time=test_end + 20.0,
                  polls=polls)


# --------------------------------------------------------------------------- text files


_LOG_ERROR = """\
--- Logging error ---
Traceback (most recent call last):
  File "/usr/lib/python3.11/logging/__init__.py", line 1110, in emit
    msg = self.format(record)
  File "/usr/lib/python3.11/logging/__init__.py", line 377, in getMessage
    msg = msg % self.args
TypeError: not enough arguments for format string
Call stack:
  File "/opt/ombt/lib/python3.11/site-packages/ombt/__init__.py", line 1136, in client_result
    logging.debug("%s results received from %s", (kind, name))
Message: '%s results received from %s'
Arguments: (('{kind}', '{name}'),)"""
#: real controllers print one such traceback per result received; keep the first ones
MAX_LOGGING_ERRORS = 12


def _print_distribution(dist: dict[int, list[int]]) -> list[str]:
    lines = []
    for order in sorted(dist):
        row = dist[order]
        for index in range(0 if order == 0 else 1, len(row)):
            low, high = 10**order * index, 10**order * (index + 1)
            lines.append("[%d..<%d):  %d" % (low, high, row[index]))
    return lines


def print_results(r: dict[str, Any]) -> list[str]:
    """ombt's ``TestResults.print_results`` (stdout of the controller)."""
    out = []
    if r["msgs_fail"]:
        out.append("Error: %d message transfers failed" % r["msgs_fail"])
    if r["errors"]:
        out.append("Error: errors detected:")
        out.extend("  '%s' (occurred %d times)" % (e, n) for e, n in r["errors"].items())
    total = r["msgs_ok"] + r["msgs_fail"]
    out.append("Total Messages: %d" % total)
    if r["stop_time"] is None or r["start_time"] is None:  # ombt's controller dies here
        return [*out, "Traceback (most recent call last):",
                '  File "/opt/ombt/lib/python3.11/site-packages/ombt/__init__.py", line 355, '
                "in print_results",
                "    delta_time = self.stop_time - self.start_time",
                "TypeError: unsupported operand type(s) for -: 'NoneType' and 'NoneType'"]
    delta = r["stop_time"] - r["start_time"]
    out.append("Test Interval: %f - %f (%f secs)" % (r["start_time"], r["stop_time"], delta))
    if delta > 0.0:
        out.append("Aggregate throughput: %f msgs/sec" % (float(total) / delta))
    lat = r["latency"]
    if lat["count"]:
        avg = lat["total"] / float(lat["count"])
        std = math.sqrt(max(0.0, lat["sum_of_squares"] / float(lat["count"]) - avg**2))
        out.append("Latency %d samples (msecs): Average %f StdDev %f Min %f Max %f"
                   % (lat["count"], avg, std, lat["min"], lat["max"]))
        out.append("Latency Distribution: ")
        out.extend(_print_distribution(lat["distribution"]))
    return out


def docker_log(sim: RunSim) -> str:
    """The controller's stdout/stderr with --debug: some logging, then the results."""
    call_type = str(sim.params["call_type"])
    skind = _kinds(call_type)[1]
    lines = [
        f"DEBUG:root:{sim.controller_id} connecting to the control message bus...",
        "WARNING:oslo_messaging.rpc.client:Using RPCClient manually to instantiate client. "
        "Please use get_rpc_client to obtain an RPC client instance.",
        f"DEBUG:root:{sim.controller_id} is listening",
        "DEBUG:root:Polling for clients...",
    ]
    agents = sorted(sim.servers + sim.clients, key=lambda a: (a.side != "server", a.ordinal))
    for n, a in enumerate(agents, start=1):
        lines.append(f"DEBUG:root:New {a.kind} detected ({a.agent_id}) - {n} total clients found")
    errors = 0
    for a in sim.clients:
        if errors < MAX_LOGGING_ERRORS:
            lines.append(_LOG_ERROR.format(kind=a.kind, name=a.agent_id))
            errors += 1
    lines.append("DEBUG:root:Querying servers...")
    client_total = test_results(None, None, 0, 0, empty_stats())
    for a in sim.clients:
        merge_results(client_total, copy_results(a.results))
    server_total = test_results(None, None, 0, 0, empty_stats())
    for answer in sim.polls:
        for j, r in answer:
            if errors < MAX_LOGGING_ERRORS:
                lines.append(_LOG_ERROR.format(kind=skind, name=_server_id(sim, j)))
                errors += 1
            merge_results(server_total, copy_results(r))
    lines.append("DEBUG:root:... servers queried")
    nc, ns = len(sim.clients), len(sim.servers)
    if call_type == "notify":
        lines += ["Notification test results", "%d Notifiers, %d Listeners (%d total)"
                  % (nc, ns, nc + ns), "", "", "Aggregated Notifier (Client) results:",
                  "------------------------------------"]
        lines += print_results(client_total)
        lines += ["", "", "Aggregated Listener (Server) results:",
                  "-------------------------------------"]
    else:
        word = {"rpc-call": "call", "rpc-cast": "cast", "rpc-fanout": "fanout"}[call_type]
        lines += [f"RPC {word} test results", "%d RPC clients, %d RPC Servers (%d total)"
                  % (nc, ns, nc + ns), "", "", "Aggregated RPC Client results:",
                  "------------------------------"]
        lines += print_results(client_total)
        lines += ["", "", "Aggregated RPC Server results:", "------------------------------"]
    lines += print_results(server_total)
    if call_type == "rpc-fanout" and server_total["stop_time"] is not None:
        start, stop = client_total["start_time"], server_total["stop_time"]
        lines += ["", "", "Fanout propagation delay:", "-------------------------",
                  "  First client transmit time: %f" % start,
                  "  Last server receive time: %f" % stop,
                  "  Duration (secs): %f" % (stop - start)]
    lines.append("WARNING:amqp:Received method (60, 30) during closing channel 1. "
                 "This method will be ignored")
    return "\n".join(lines) + "\n"


def _server_id(sim: RunSim, ordinal: int) -> str:
    return next(s.agent_id for s in sim.servers if s.ordinal == ordinal)


def agent_log_name(sim: RunSim, a: Agent) -> str:
    _, _, cname, sname = _kinds(str(sim.params["call_type"]))
    name = cname if a.side == "client" else sname
    return f"{a.host}_{name}-{a.ordinal}-{TOPIC}-{sim.run_uuid}-0.log"


@dataclass(frozen=True)
class LogFaults:
    """Defects of the agents' logs only (the controller's results stay as simulated).

    Drawn from ``default_rng([seed, run index, 2, server ordinal])`` per server
    log and ``[seed, run index, 4]`` for the host clocks: the same seed gives the
    same files, and a zero rate draws nothing.
    """

    lost_rate: float = 0.0
    dup_rate: float = 0.0
    clock_skew_s: float = 0.0
    seed: int = 0

    @classmethod
    def of(cls, spec: SynthSpec) -> LogFaults:
        return cls(lost_rate=spec.lost_rate, dup_rate=spec.dup_rate,
                   clock_skew_s=spec.clock_skew_s, seed=spec.seed)

    def host_offsets(self, sim: RunSim) -> dict[str, float]:
        """Seconds each host's clock is ahead (0 everywhere without skew)."""
        hosts = sorted({a.host for a in [*sim.clients, *sim.servers]})
        if not self.clock_skew_s:
            return dict.fromkeys(hosts, 0.0)
        rng = np.random.default_rng([self.seed, sim.index, 4])
        skew = rng.uniform(-self.clock_skew_s, self.clock_skew_s, len(hosts))
        return dict(zip(hosts, skew.tolist(), strict=True))


NO_FAULTS = LogFaults()


def agent_log(sim: RunSim, a: Agent, faults: LogFaults = NO_FAULTS) -> str:
    """The agent's own --output file: one JSON object a line, per message (only the
    header line for notify: ombt 3.0.0's notifiers and listeners log no message).

    With ``faults``: stamps read on each host's (skewed) clock, server receipt
    lines lost (``lost_rate``) or logged twice, the copy a little later
    (``dup_rate``).
    """
    out = ['{"client-name": "%s", "kind": "%s"}' % (a.agent_id, a.kind)]
    call_type = sim.params["call_type"]
    if call_type == "notify":  # ombt 3.0.0's notifiers and listeners log no message
        return out[0] + "\n"
    clock = faults.host_offsets(sim)
    if a.side == "client":
        test = {"rpc-call": "test_call", "rpc-cast": "test_cast", "rpc-fanout": "test_fanout",
                "notify": "test_notify"}[call_type]
        ts, done, failed = a.sent, a.stamp, a.failed
        assert ts is not None and done is not None and failed is not None
        off = clock[a.host]
        out.append('{"test-name": "%s", "test-start": %f}'
                   % (test, a.results["start_time"] + off))
        for k, (t, d, f) in enumerate(zip((ts + off).tolist(), (done + off).tolist(),
                                          failed.tolist(), strict=True)):
            err = ', "error": "message transfer failed"' if f else ""
            out.append('{"id": "%s:%d", "start": %f, "stop": %f%s}' % (a.msgid, k, t, d, err))
        out.append('{"test-end": %f}' % (a.results["stop_time"] + off))
    else:
        by_ordinal = {c.ordinal: c.msgid for c in sim.clients}
        assert a.sent is not None and a.stamp is not None and a.src is not None
        assert a.seq is not None
        sender_off = np.array([clock[c.host] for c in sorted(sim.clients,
                                                              key=lambda c: c.ordinal)])
        sent, recv = a.sent + sender_off[a.src], a.stamp + clock[a.host]
        src, seq = a.src, a.seq
        if faults.lost_rate or faults.dup_rate:
            rng = np.random.default_rng([faults.seed, sim.index, 2, a.ordinal])
            copies = np.ones(len(sent), dtype=np.int64)
            if faults.lost_rate:
                copies[rng.random(len(sent)) < faults.lost_rate] = 0
            if faults.dup_rate:
                copies[(rng.random(len(sent)) < faults.dup_rate) & (copies > 0)] = 2
            pick = np.repeat(np.arange(len(sent)), copies)
            again = np.r_[False, pick[1:] == pick[:-1]]
            delay = np.where(again, rng.uniform(1e-3, 50e-3, len(pick)), 0.0)
            sent, recv, src, seq = sent[pick], recv[pick] + delay, src[pick], seq[pick]
        for t, h, s, q in zip(sent.tolist(), recv.tolist(), src.tolist(), seq.tolist(),
                              strict=True):
            out.append('{"id": "%s:%d", "start": %f, "recv": %f}' % (by_ordinal[s], q, t, h))
    return "\n".join(out) + "\n"


def write_run_files(folder: Path, sim: RunSim, *, agent_logs: bool = False,
                    faults: LogFaults = NO_FAULTS) -> list[Path]:
    """The run folder's text files: controller output, its docker log, the agents' logs."""
    folder.mkdir(parents=True, exist_ok=True)
    ctl = folder / sim.controller_log_name
    ctl.write_text("\n".join(sim.controller_lines()) + "\n", encoding="utf-8")
    docker = folder / ctl.name.replace(".log", "_docker.log")
    docker.write_text(docker_log(sim), encoding="utf-8")
    written = [ctl, docker]
    if agent_logs:
        for a in [*sim.clients, *sim.servers]:
            p = folder / agent_log_name(sim, a)
            p.write_text(agent_log(sim, a, faults), encoding="utf-8")
            written.append(p)
    return written


# --------------------------------------------------------------------------- the campaign


@dataclass
class SynthReport:
    out: Path
    runs: int
    agents: int
    messages: int
    influx_tars: int
    seconds: dict[str, float]


def simulate_campaign(spec: SynthSpec) -> Iterable[RunSim]:
    """The runs one after the other (each deployed ~10 s after the previous backup)."""
    t = spec.start_time
    for i, params in enumerate(plan_runs(spec)):
        sim = simulate_run(spec, i, params, t)
        yield sim
        gap = np.random.default_rng([spec.seed, i, 1]).uniform(8.0, 12.0)
        t = math.floor(sim.end_time + float(gap))


def series_of(sim: RunSim, spec: SynthSpec) -> RunSeries:
    """The points written into the run's influxdb-data.tar.gz, for either layout
    (line protocol, ms timestamps; ``.database`` says which database holds them)."""
    if spec.layout == "orchestrator":
        from .orchestrator import orchestrator_series

        return orchestrator_series(sim, spec).series
    from .influx import run_series

    return run_series(sim, spec)


def synth_campaign(out: Path | str, spec: SynthSpec, *, jobs: int = 1,
                   progress: Callable[[str], None] | None = None) -> SynthReport:
    """Write the campaign into ``out`` (created; existing files are overwritten).

    ``spec.layout == "orchestrator"`` writes what ombt-orchestrator 1.1.x backs up
    (:mod:`ombt_postmortem.synth.orchestrator`); the default layout is unchanged.
    """
    import time

    from .influx import InfluxWriter  # starts influxd: only when asked
    from .orchestrator import params_json, write_orchestrator_files

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    timings = {"ombt": 0.0, "influx": 0.0}
    params: list[dict[str, Any]] = []
    agents = messages = 0
    writer = InfluxWriter(jobs=jobs) if spec.influx else None
    try:
        for sim in simulate_campaign(spec):
            t = time.monotonic()
            folder = out / sim.backup_dir
            write_run_files(folder, sim, agent_logs=spec.agent_logs, faults=LogFaults.of(spec))
            if spec.layout == "orchestrator":
                write_orchestrator_files(folder, sim, spec)
            params.append(sim.params)
            agents += len(sim.clients) + len(sim.servers)
            messages += sum(a.results["msgs_ok"] + a.results["msgs_fail"] for a in sim.clients)
            timings["ombt"] += time.monotonic() - t
            if writer is not None:
                writer.submit(folder / "influxdb-data.tar.gz", series_of(sim, spec))
            if progress is not None:
                progress(f"run {sim.index + 1}: {sim.backup_dir}")
        text = (params_json(params) if spec.layout == "orchestrator"
                else json.dumps(params, indent=4) + "\n")
        (out / "params.json").write_text(text, encoding="utf-8")
        t = time.monotonic()
        tars = writer.wait() if writer is not None else 0
        timings["influx_wait"] = time.monotonic() - t
    finally:
        if writer is not None:
            writer.close()
    timings["total"] = time.monotonic() - t0
    return SynthReport(out=out, runs=len(params), agents=agents, messages=messages,
                       influx_tars=tars, seconds=timings)


def parse_counts(values: Sequence[str]) -> tuple[int, ...]:
    """``["1,2", "4"]`` -> (1, 2, 4): counts may be given space- or comma-separated."""
    out = []
    for v in values:
        out.extend(int(x) for x in str(v).split(",") if x.strip())
    return tuple(out)
