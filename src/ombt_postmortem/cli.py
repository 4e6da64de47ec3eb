"""ombt-postmortem: quick looks at campaign data and results without the workflow."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .compare.command import add_parser as add_compare_parser
from .errors import RunDataError
from .ombt.parse import parse_run_folder
from .ombt.printout import format_results
from .ombt.stats import merge_agents


def cmd_show(args: argparse.Namespace) -> int:
    folder = Path(args.run_folder)
    try:
        parsed = parse_run_folder(folder, folder.name)
    except RunDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clients = [a for a in parsed.agents if a.side == "client"]
    servers = [a for a in parsed.agents if a.side == "server"]
    print(f"Run folder: {folder}")
    print("Controller files: " + ", ".join(p.name for p in parsed.files))
    print(f"{_count(len(clients), 'client')}, {_count(len(servers), 'server')} "
          f"({len(clients) + len(servers)} total)")
    for title, agents in (("Client", clients), ("Server", servers)):
        print()
        print()
        heading = f"Aggregated {title} results:"
        print(heading)
        print("-" * len(heading))
        if agents:
            print("\n".join(format_results(merge_agents(agents), kinds=not args.raw_errors)))
        else:
            print(f"(no {title.lower()} results)")
    for problem in parsed.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 1 if parsed.problems else 0


def _count(n: int, what: str) -> str:
    """``1 client``, ``2 clients``."""
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


#: defaults of the synth options (argparse's own defaults are None: "not given")
SYNTH_DEFAULTS: dict[str, Any] = {
    "runs": None, "clients": ["1,2,4"], "servers": ["1,2"], "call_types": ["rpc-call,rpc-cast"],
    "calls": 500, "pause": 0.0, "length": 1024, "driver": "broker", "timeout": 60, "seed": 0,
    "fail_rate": 0.0, "agent_logs": False, "telegraf_interval": 2.0, "agents_per_host": 10,
    "start_time": 1_700_000_000.0, "stagger": 0.0, "lost_rate": 0.0, "dup_rate": 0.0,
    "clock_skew": 0.0, "layout": "default", "drivers": None, "delays": None, "losses": None,
}

#: ``--preset NAME``: other defaults; any option given on the command line wins.
#: realistic: 300 agents (200 clients, 100 servers, 3 per host) on 104 hosts sampled
#: every second by Telegraf, 1200 calls per client 0.25 s apart: a test of ~5.5 min
#: (~6 min of points per run), 240 000 messages, every agent's log.
SYNTH_PRESETS: dict[str, dict[str, Any]] = {
    "realistic": {
        "runs": 4, "clients": ["200"], "servers": ["100"], "call_types": ["rpc-call"],
        "calls": 1200, "pause": 0.25, "agents_per_host": 3, "telegraf_interval": 1.0,
        "agent_logs": True,
    },
}


def synth_options(args: argparse.Namespace) -> dict[str, Any]:
    """The synth options: the defaults, then the preset's, then those given."""
    preset = SYNTH_PRESETS[args.preset] if args.preset else {}
    given = {k: getattr(args, k) for k in SYNTH_DEFAULTS if getattr(args, k) is not None}
    return {**SYNTH_DEFAULTS, **preset, **given}


def _listed(values: Sequence[str] | None) -> tuple[str, ...]:
    """``["a,b", "c"]`` -> ("a", "b", "c")."""
    return tuple(x.strip() for v in values or () for x in str(v).split(",") if x.strip())


def _delays(values: Sequence[str] | None) -> tuple[str | None, ...] | None:
    """``--delays null 10ms``: "null" (or "none") is params.json's null."""
    if not values:
        return None
    return tuple(None if x.lower() in ("null", "none") else x for x in _listed(values))


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth import CALL_TYPES, SynthSpec, parse_counts, synth_campaign

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        print(f"error: {out} exists and is not empty (--overwrite writes over its files)",
              file=sys.stderr)
        return 2
    try:
        o = synth_options(args)
        call_types = tuple(c for v in o["call_types"] for c in str(v).split(",") if c)
        spec = SynthSpec(
            runs=o["runs"], clients=parse_counts(o["clients"]),
            servers=parse_counts(o["servers"]), call_types=call_types,
            nbr_calls=o["calls"], pause=o["pause"], length=o["length"], driver=o["driver"],
            timeout=o["timeout"], seed=o["seed"], fail_rate=o["fail_rate"],
            influx=not args.no_influx, agent_logs=o["agent_logs"],
            telegraf_interval_s=o["telegraf_interval"], agents_per_host=o["agents_per_host"],
            start_time=o["start_time"], stagger_s=o["stagger"], lost_rate=o["lost_rate"],
            dup_rate=o["dup_rate"], clock_skew_s=o["clock_skew"], layout=o["layout"],
            drivers=_listed(o["drivers"]), delays=_delays(o["delays"]),
            losses=tuple(float(x) for x in _listed(o["losses"])) if o["losses"] else None,
            control_bus_rabbitmq=not args.no_control_bus_rabbitmq)
    except ValueError as exc:
        print(f"error: {exc} (call types: {', '.join(CALL_TYPES)})", file=sys.stderr)
        return 2
    progress = (lambda msg: print(msg, file=sys.stderr)) if args.verbose else None
    report = synth_campaign(out, spec, jobs=args.jobs, progress=progress)
    print(f"wrote {_count(report.runs, 'run')} ({_count(report.agents, 'agent')}, "
          f"{_count(report.messages, 'client message')}, "
          f"{_count(report.influx_tars, 'InfluxDB backup')}) to {out} in "
          f"{report.seconds['total']:.1f} s")
    return 0


#: the ``runs`` listing's problems column, cut to this many characters
RUNS_PROBLEM_CHARS = 100


def runs_lines(results: Path | str, campaign: str | None = None) -> list[str]:
    """``ombt-postmortem runs``: a header, then one line per run of the campaign table:
    label, status, client rate (msg/s), client p50/p99 (ms; ``~`` marks histogram
    estimates), problems (the first, cut; ``+N`` more)."""
    from .campaign import short_problem
    from .results import open_campaign

    c = open_campaign(results, campaign)
    t = c.table
    rows = []
    for r in t.to_dict("records"):
        est = "~" if r.get("client_latency_quantiles") == "estimate" else ""
        text = short_problem(str(r.get("problems") or ""), RUNS_PROBLEM_CHARS)
        rows.append((str(r.get("label") or r["run_id"]), str(r.get("status", "")),
                     _num(r.get("client_rate"), "{:.1f}"),
                     est + _num(r.get("client_latency_p50_ms"), "{:.2f}"),
                     est + _num(r.get("client_latency_p99_ms"), "{:.2f}"), text))
    head = ("label", "status", "rate/s", "p50_ms", "p99_ms", "problems")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(5)]
    out = [f"campaign {c.name}: {len(rows)} {'run' if len(rows) == 1 else 'runs'} "
           f"(client side; ~: estimated from ombt's histogram, else exact)"]
    for x in [head, *rows]:
        cells = [x[0].ljust(widths[0]), x[1].ljust(widths[1]),
                 *(x[i].rjust(widths[i]) for i in (2, 3, 4)), x[5]]
        out.append("  ".join(cells).rstrip())
    return out


def _num(v: Any, fmt: str) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else fmt.format(f)


def cmd_runs(args: argparse.Namespace) -> int:
    from .results import ResultsError

    try:
        lines = runs_lines(args.results, args.campaign)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ombt-postmortem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print a run's merged client and server results "
                          "as the ombt controller prints them")
    show.add_argument("run_folder", help="a run's backup folder (holding the controller log)")
    show.add_argument("--raw-errors", action="store_true",
                      help="list every distinct error text as the controller does (default: "
                      "grouped into kinds, ids and numbers taken out, one example each)")
    show.set_defaults(func=cmd_show)

    runs = sub.add_parser("runs", help="one line per run of a campaign's results: label, "
                          "status, client rate, p50/p99, problems")
    runs.add_argument("results", help="a campaign's results folder (results/<name>), or "
                      "the results folder holding it")
    runs.add_argument("--campaign", default=None,
                      help="the campaign, when the results folder holds several")
    runs.set_defaults(func=cmd_runs)

    synth = sub.add_parser(
        "synth", help="write a synthetic campaign in the real format (params.json, controller "
        "logs, real influxdb-data.tar.gz), deterministic from --seed",
        description="Write a synthetic ombt campaign: the sweep call types x clients x "
        "servers, repeated up to --runs. Same seed, same params.json and log files.")
    synth.add_argument("out", help="campaign folder to create")
    synth.add_argument("--preset", choices=sorted(SYNTH_PRESETS), default=None,
                       help="realistic: 200 clients + 100 servers on 104 hosts, Telegraf every "
                       "1 s over ~6 min per run, agent logs, 4 runs; the options given "
                       "next to it override its sizes (e.g. --runs 1 --calls 50)")
    synth.add_argument("--runs", type=int, default=None,
                       help="number of runs (default: one per combination of the sweep)")
    synth.add_argument("--clients", nargs="+", default=None,
                       help="client counts swept, e.g. 1 2 4 or 1,2,4 (default 1,2,4)")
    synth.add_argument("--servers", nargs="+", default=None,
                       help="server counts swept (default 1,2)")
    synth.add_argument("--call-types", nargs="+", default=None,
                       help="among rpc-call, rpc-cast, rpc-fanout, notify "
                       "(default rpc-call,rpc-cast)")
    synth.add_argument("--calls", type=int, default=None, help="nbr_calls per client (500)")
    synth.add_argument("--pause", type=float, default=None, help="pause between calls, s (0)")
    synth.add_argument("--length", type=int, default=None, help="message length (1024)")
    synth.add_argument("--driver", default=None,
                       help="broker (RabbitMQ metrics) or router (none) (default broker)")
    synth.add_argument("--layout", choices=["default", "orchestrator"], default=None,
                       help="default: as synth always wrote (database telegraf, Telegraf every "
                       "--telegraf-interval s, cpu-total only); orchestrator: what "
                       "ombt-orchestrator 1.1.x backs up (database ombt-orchestrator beside an "
                       "empty telegraf, Telegraf every 10 s with per-core cpu and docker "
                       "containers, netstat and rabbitmq every 30 s, collectd qdr counters for "
                       "router drivers, broker log tarballs, fping outputs, one-line "
                       "params.json, no agent logs unless --agent-logs)")
    synth.add_argument("--drivers", nargs="+", default=None, metavar="NAME[=TYPE]",
                       help="driver names swept (params.json's driver), e.g. broker router "
                       "router-4 or broker,router: names starting with router are qdr "
                       "(router-4: 4 routers), others rabbitmq; or say it: fast=qdr:2, "
                       "rmq=rabbitmq (replaces --driver)")
    synth.add_argument("--delays", nargs="+", default=None,
                       help="orchestrator layout: params delay swept, e.g. null 10ms 50ms "
                       "(adds delay, loss and traffic to params.json; fping sees 2x the delay "
                       "between the bus and the server hosts)")
    synth.add_argument("--losses", nargs="+", default=None,
                       help="orchestrator layout: params loss swept, percentages, e.g. 0 0.5 1")
    synth.add_argument("--no-control-bus-rabbitmq", action="store_true",
                       help="orchestrator layout: no rabbitmq_* points of the control bus "
                       "(upstream's telegraf.conf.j2 collects them on every control-bus host)")
    synth.add_argument("--timeout", type=int, default=None, help="ombt timeout, s (60)")
    synth.add_argument("--seed", type=int, default=None, help="random seed (0)")
    synth.add_argument("--fail-rate", type=float, default=None,
                       help="probability that a message fails (0)")
    synth.add_argument("--no-influx", action="store_true",
                       help="no influxdb-data.tar.gz (no influxd needed)")
    synth.add_argument("--agent-logs", action="store_true", default=None,
                       help="also write every agent's per-message log")
    synth.add_argument("--stagger", type=float, default=None,
                       help="clients start spread over this many seconds: warm-up and "
                       "cool-down in the agent logs (0)")
    synth.add_argument("--lost-rate", type=float, default=None,
                       help="agent logs: probability that a receipt line is missing (0)")
    synth.add_argument("--dup-rate", type=float, default=None,
                       help="agent logs: probability that a receipt is logged twice (0)")
    synth.add_argument("--clock-skew", type=float, default=None,
                       help="agent logs: each host's clock off by up to +-this many s (0)")
    synth.add_argument("--telegraf-interval", type=float, default=None,
                       help="seconds between Telegraf points (2)")
    synth.add_argument("--agents-per-host", type=int, default=None,
                       help="ombt agents per client/server host (10)")
    synth.add_argument("--start-time", type=float, default=None,
                       help="epoch of the first run (1700000000)")
    synth.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                       help="influxd servers writing backups in parallel (CPU count)")
    synth.add_argument("--overwrite", action="store_true",
                       help="write into a non-empty folder (files are overwritten, none deleted)")
    synth.add_argument("--verbose", "-v", action="store_true", help="one line per run")
    synth.set_defaults(func=cmd_synth)
    add_compare_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader left (`... | head`): no traceback; stdout goes to /dev/null so that
        # Python's own flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a tool killed by the signal
    return code


if __name__ == "__main__":
    raise SystemExit(main())
