#!/usr/bin/env python3
"""Benchmark of the run-by-run comparison (``compare``): the block bootstrap's cost.

Simulates (``synth``'s model, in memory: no files) ``--runs`` rpc-call runs per side
of ``--clients`` clients x ``--calls`` calls (``--pause`` s apart, so that a run lasts
tens of seconds: tens of one-second blocks), the candidate's latencies scaled by
``--scale``; then times, ``--repeat`` times each, the comparison of every matched
pair (``compare_pair``: the round-trip and one-way p50/p99/p99.9, throughput and
errors of both runs, ``--replicates`` bootstrap replicates each) and the writing of
the runs' .hgrm files. Prints a table (median and min of the repeats) and the
verdicts of the last repeat. Usage::

    .venv/bin/python bench/bench_compare.py [--runs 8 --clients 2 --calls 1500
        --replicates 1000 --repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from ombt_postmortem.compare import CompareOptions, compare_pair  # noqa: E402
from ombt_postmortem.compare.samples import RunSamples, samples_of  # noqa: E402
from ombt_postmortem.hgrm import write_hgrm  # noqa: E402
from ombt_postmortem.synth import SynthSpec, plan_runs, simulate_run  # noqa: E402


def run_samples(spec: SynthSpec, index: int) -> RunSamples:
    sim = simulate_run(spec, index, plan_runs(spec)[index], spec.start_time)
    cl, sv = sim.clients, sim.servers
    start = np.concatenate([c.sent for c in cl] + [s.sent for s in sv])
    stop = np.concatenate([c.stamp for c in cl] + [np.full(len(s.sent), np.nan) for s in sv])
    recv = np.concatenate([np.full(len(c.sent), np.nan) for c in cl] + [s.stamp for s in sv])
    err = [("x" if f else None) for c in cl for f in c.failed.tolist()]
    err += [None] * sum(len(s.sent) for s in sv)
    t = pa.table({"start": start, "stop": stop, "recv": recv,
                  "error": pa.array(err, type=pa.string())})
    return samples_of(t, "sim", max(float(c.sent[0]) for c in cl),
                      min(float(c.stamp[-1]) for c in cl))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--pause", type=float, default=0.01)
    ap.add_argument("--scale", type=float, default=1.2)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    spec = SynthSpec(runs=a.runs, clients=(a.clients,), servers=(1,),
                     call_types=("rpc-call",), nbr_calls=a.calls, pause=a.pause, influx=False)
    base = [run_samples(spec, i) for i in range(a.runs)]
    cand = [run_samples(dataclasses.replace(spec, latency_scale=a.scale), i)
            for i in range(a.runs)]
    opts = CompareOptions(replicates=a.replicates)
    row = pd.Series({"msg_sent": 1})
    t_cmp, t_hgrm = [], []
    out: list[list[dict]] = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = [compare_pair(row, row, b, c, opts, (i,))
               for i, (b, c) in enumerate(zip(base, cand, strict=True))]
        t_cmp.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for s in base:
            for smp in (s.rtt, s.oneway):
                write_hgrm(smp.values, io.StringIO())
        t_hgrm.append(time.perf_counter() - t0)
    msgs = [s.rtt.n for s in base]
    blocks = [s.rtt.n_blocks for s in base]
    print(f"{a.runs} pairs, {statistics.median(msgs):.0f} round trips per run "
          f"({statistics.median(blocks):.0f} one-second blocks), {a.replicates} replicates, "
          f"{a.repeat} repeats")
    print(f"{'step':<34} {'median s':>9} {'min s':>8} {'per pair s':>11}")
    for name, t in (("compare_pair, all pairs", t_cmp), (".hgrm of every baseline run", t_hgrm)):
        print(f"{name:<34} {statistics.median(t):>9.3f} {min(t):>8.3f} "
              f"{statistics.median(t) / a.runs:>11.3f}")
    print()
    print("verdicts (last repeat), metric: worse/better/same/n/a counts over the pairs")
    for metric in ("throughput", "p50", "p99", "p999", "oneway_p50", "oneway_p99"):
        v = [r["verdict"] for rows in out for r in rows if r["metric"] == metric]
        print(f"  {metric:<12} " + " ".join(f"{k}={v.count(k)}"
                                            for k in ("worse", "better", "same", "n/a")))


if __name__ == "__main__":
    main()
