"""``ombt-postmortem synth --preset realistic``: its sizes, and a small version of it."""

from __future__ import annotations

import json
from pathlib import Path

from ombt_postmortem.cli import build_parser, main, synth_options
from ombt_postmortem.synth import SynthSpec, parse_counts, plan_runs, simulate_run


def _spec(argv: list[str]) -> SynthSpec:
    o = synth_options(build_parser().parse_args(["synth", "/nowhere", *argv]))
    return SynthSpec(runs=o["runs"], clients=parse_counts(o["clients"]),
                     servers=parse_counts(o["servers"]),
                     call_types=tuple(c for v in o["call_types"] for c in v.split(",")),
                     nbr_calls=o["calls"], pause=o["pause"], agent_logs=o["agent_logs"],
                     telegraf_interval_s=o["telegraf_interval"],
                     agents_per_host=o["agents_per_host"])


def test_the_realistic_preset_has_realistic_sizes() -> None:
    spec = _spec(["--preset", "realistic"])
    assert spec.telegraf_interval_s == 1.0 and spec.agent_logs
    params = plan_runs(spec)[0]
    sim = simulate_run(spec, 0, params, 1_700_000_000.0)
    agents = [*sim.clients, *sim.servers]
    hosts = {a.host for a in agents}
    assert len(agents) >= 200
    assert len(hosts) + 3 >= 100  # + the bus, control-bus and control hosts
    results = [r for line in sim.controller_lines() for r in json.loads(line).values()]
    test_s = max(r["stop_time"] for r in results) - min(r["start_time"] for r in results)
    assert test_s >= 300
    assert sim.end_time - sim.deploy_time >= test_s


def test_options_given_override_the_preset() -> None:
    spec = _spec(["--preset", "realistic", "--clients", "6", "--calls", "40"])
    assert spec.clients == (6,) and spec.nbr_calls == 40
    assert spec.servers == (100,) and spec.pause == 0.25  # still the preset's
    assert _spec([]).clients == (1, 2, 4)  # no preset: the usual defaults


def test_a_small_realistic_campaign(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["synth", str(out), "--preset", "realistic", "--runs", "1", "--clients", "4",
                 "--servers", "2", "--calls", "30", "--no-influx"]) == 0
    (entry,) = json.loads((out / "params.json").read_text())
    assert (entry["nbr_clients"], entry["nbr_servers"], entry["nbr_calls"],
            entry["pause"], entry["call_type"]) == (4, 2, 30, 0.25, "rpc-call")
    run = out / entry["backup_dir"]
    agent_logs = [p for p in run.glob("*.log") if "_controller-" not in p.name]
    assert len(agent_logs) == 6
