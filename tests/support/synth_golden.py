"""Digests of the default synth layout, to pin it byte for byte across changes.

``tests/support/data/synth_default_golden.json`` was written by this module run against
the code before ``--layout orchestrator`` existed (main at ebc6034)::

    PYTHONPATH=src:tests/support python -m synth_golden tests/support/data/synth_default_golden.json

It imports only what that code already had, so it can be run against any
revision to compare.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from ombt_postmortem.synth import SynthSpec, simulate_campaign, synth_campaign
from ombt_postmortem.synth.influx import run_series

SPECS = {
    "sweep": dict(runs=5, clients=(1, 3), servers=(1, 2),
                  call_types=("rpc-call", "rpc-cast", "rpc-fanout", "notify"), nbr_calls=60,
                  seed=5, agent_logs=True, fail_rate=0.05),
    "router": dict(runs=3, clients=(2,), servers=(1,), nbr_calls=40, seed=1, driver="router"),
    "faults": dict(runs=2, clients=(4,), servers=(2,), call_types=("rpc-cast",), nbr_calls=80,
                   seed=9, agent_logs=True, stagger_s=0.5, lost_rate=0.02, dup_rate=0.01,
                   clock_skew_s=0.003, pause=0.001, telegraf_interval_s=1.0),
}


def digests() -> dict[str, str]:
    """sha256 of every file synth writes (no InfluxDB tars) and of each run's points."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, kwargs in SPECS.items():
            spec = SynthSpec(influx=False, **kwargs)  # type: ignore[arg-type]
            d = Path(tmp) / key
            synth_campaign(d, spec)
            for p in sorted(d.rglob("*")):
                if p.is_file():
                    out[f"{key}/{p.relative_to(d)}"] = hashlib.sha256(p.read_bytes()).hexdigest()
            for sim in simulate_campaign(spec):
                lines = "\n".join(run_series(sim, spec).lines).encode()
                out[f"{key}/points-{sim.index}"] = hashlib.sha256(lines).hexdigest()
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n")
