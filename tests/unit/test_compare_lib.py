"""Comparison of simulated runs at the library level (issue 24): a slower candidate is
found worse with an interval around the true ratio; two runs of the same model are
found the same; matching lists the runs of one side only; histogram-only pairs have
no interval and say so."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ombt_postmortem.compare import CompareOptions, Side, compare_pair, match_runs
from ombt_postmortem.compare.samples import samples_of
from ombt_postmortem.synth import RunSim, SynthSpec, plan_runs, simulate_run

SPEC = SynthSpec(clients=(2,), servers=(1,), call_types=("rpc-call",), nbr_calls=1500,
                 pause=0.01, influx=False)
ROW = pd.Series({"msg_sent": 1})  # both sides have per-message data


def simulate(spec: SynthSpec) -> RunSim:
    return simulate_run(spec, 0, plan_runs(spec)[0], spec.start_time)


def per_message(sim: RunSim) -> tuple[pa.Table, float, float]:
    """The per-message lines the agents would log (client: start/stop/error, server:
    start/recv), straight from the simulation, and the steady window's bounds."""
    cl, sv = sim.clients, sim.servers
    nan = [np.full(len(a.sent), np.nan) for a in sv]  # type: ignore[arg-type]
    start = np.concatenate([c.sent for c in cl] + [s.sent for s in sv])  # type: ignore[misc]
    stop = np.concatenate([c.stamp for c in cl] + nan)  # type: ignore[misc]
    recv = np.concatenate([np.full(len(c.sent), np.nan) for c in cl]  # type: ignore[arg-type]
                          + [s.stamp for s in sv])  # type: ignore[misc]
    err = [("failed" if f else None) for c in cl for f in c.failed.tolist()]  # type: ignore[union-attr]
    err += [None] * sum(len(s.sent) for s in sv)  # type: ignore[arg-type]
    t = pa.table({"start": start, "stop": stop, "recv": recv,
                  "error": pa.array(err, type=pa.string())})
    steady_start = max(float(c.sent[0]) for c in cl)  # type: ignore[index]
    steady_stop = min(float(c.stamp[-1]) for c in cl)  # type: ignore[index]
    return t, steady_start, steady_stop


def rows(base: RunSim, cand: RunSim, pair: int = 0, **opts: Any) -> dict[str, dict[str, Any]]:
    b, c = per_message(base), per_message(cand)
    out = compare_pair(ROW, ROW, samples_of(b[0], "sim", b[1], b[2]),
                       samples_of(c[0], "sim", c[1], c[2]), CompareOptions(**opts), (pair,))
    return {r["metric"]: r for r in out}


def rtt_of(sim: RunSim) -> np.ndarray:
    return np.concatenate([(c.stamp - c.sent)[~c.failed] * 1000.0  # type: ignore[operator]
                           for c in sim.clients])


def test_slower_candidate_is_worse_with_interval_around_the_true_ratio() -> None:
    spec = dataclasses.replace(SPEC, clients=(4,), nbr_calls=3000, pause=0.005)
    base = simulate(spec)
    cand = simulate(dataclasses.replace(spec, latency_scale=1.2))
    got = rows(base, cand)
    for metric, q in (("p50", 0.5), ("p99", 0.99)):
        r = got[metric]
        assert r["verdict"] == "worse", r
        assert r["ci_low"] <= 1.2 <= r["ci_high"], r
        assert r["ci_low"] > 1.0, r
        # the point values are the exact quantiles of the raw round trips
        assert r["baseline"] == pytest.approx(np.quantile(rtt_of(base), q), rel=1e-12)
        assert r["candidate"] == pytest.approx(np.quantile(rtt_of(cand), q), rel=1e-12)
        assert r["ratio"] == pytest.approx(1.2, rel=1e-3)  # same draws, scaled
        assert r["source"] == "exact" and r["change"] == "up"
    # the latency of a call also paces the client: fewer calls per second
    assert got["throughput"]["verdict"] == "worse"
    assert got["throughput"]["ci_high"] < 1.0
    # swapped, the candidate is better on the same metrics
    back = rows(cand, base)
    assert back["p50"]["verdict"] == back["p99"]["verdict"] == "better"


def test_same_model_different_seeds_is_same_in_at_least_95_percent() -> None:
    verdicts: dict[str, list[str]] = {}
    n_pairs = 24
    for seed in range(n_pairs):
        a = simulate(dataclasses.replace(SPEC, seed=seed))
        b = simulate(dataclasses.replace(SPEC, seed=1000 + seed))
        for metric, r in rows(a, b, pair=seed, replicates=500).items():
            verdicts.setdefault(metric, []).append(r["verdict"])
    for metric in ("throughput", "p50", "p99", "oneway_p50", "oneway_p99", "errors"):
        same = verdicts[metric].count("same") / n_pairs
        assert same >= 0.95, (metric, verdicts[metric])
    # no interval, never a verdict, for counts without a sample of their own
    assert set(verdicts["unreceived"]) == {"n/a"}


def test_new_errors_in_the_candidate_are_worse() -> None:
    base = simulate(SPEC)
    cand = simulate(dataclasses.replace(SPEC, fail_rate=0.01))
    r = rows(base, cand)["errors"]
    n_failed = sum(int(c.failed.sum()) for c in cand.clients)  # type: ignore[union-attr]
    assert (r["baseline"], r["candidate"]) == (0, n_failed)
    assert r["verdict"] == "worse" and "none in the baseline" in r["note"]


def side(name: str, params: list[dict[str, Any]]) -> Side:
    t = pd.DataFrame(params)
    t.insert(0, "run_id", [f"{name}-{i}" for i in range(len(t))])
    t.insert(1, "label", [f"run{i}" for i in range(len(t))])
    return Side(name=name, table=t, params=[c for c in params[0]], runs_dir=pd.NA)  # type: ignore[arg-type]


def test_matching_on_swept_params_lists_one_side_runs() -> None:
    base = side("rabbit", [{"nbr_clients": c, "call_type": "rpc-call", "driver": "rabbit",
                            "version": "1", "nbr_calls": 500} for c in (1, 2, 4)])
    cand = side("qdr", [{"nbr_clients": c, "call_type": "rpc-call", "driver": "router",
                         "version": "2", "nbr_calls": 1000} for c in (1.0, 2.0, 8)])
    m = match_runs(base, cand)
    assert m.keys == ["nbr_clients"]  # driver/version: identity; nbr_calls not swept
    assert [(label, b["run_id"], c["run_id"]) for label, b, c in m.pairs] == [
        ("nbr_clients=1", "rabbit-0", "qdr-0"), ("nbr_clients=2", "rabbit-1", "qdr-1")]
    assert m.unmatched[["side", "run_id", "key"]].values.tolist() == [
        ["baseline", "rabbit-2", "nbr_clients=4"], ["candidate", "qdr-2", "nbr_clients=8"]]
    assert any(n.startswith("nbr_calls (not swept") for n in m.notes)
    assert any(n.startswith("driver (identity)") for n in m.notes)


def test_repeated_runs_pair_in_order_and_extra_ones_are_listed() -> None:
    base = side("a", [{"nbr_clients": c, "iteration": 0} for c in (1, 1, 1)])
    base.params = ["nbr_clients"]
    cand = side("b", [{"nbr_clients": c, "iteration": 0} for c in (1, 1)])
    cand.params = ["nbr_clients"]
    m = match_runs(base, cand)
    assert [(b["run_id"], c["run_id"]) for _, b, c in m.pairs] == [("a-0", "b-0"),
                                                                   ("a-1", "b-1")]
    assert m.unmatched["run_id"].tolist() == ["a-2"]


def test_histogram_only_pairs_have_no_interval_and_say_so() -> None:
    b = pd.Series({"client_rate": 100.0, "client_latency_p50_ms": 2.0,
                   "client_latency_p99_ms": 9.0, "client_msgs_fail": 0})
    c = pd.Series({"client_rate": 90.0, "client_latency_p50_ms": 3.0,
                   "client_latency_p99_ms": 9.9, "client_msgs_fail": 0})
    out = {r["metric"]: r for r in compare_pair(b, c, None, None, CompareOptions(), (0,))}
    for metric, ratio in (("throughput", 0.9), ("p50", 1.5), ("p99", 1.1)):
        r = out[metric]
        assert r["source"] == "histogram"
        assert r["ratio"] == pytest.approx(ratio)
        assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])
        assert r["verdict"] == "n/a"
        assert "no interval" in r["note"]
    assert math.isnan(out["p999"]["baseline"])  # ombt's histogram gives no p99.9


def test_an_unreadable_run_leaves_the_other_pairs_alone(tmp_path) -> None:  # noqa: ANN001
    """A damaged per_message.parquet: its pair falls back to values without interval,
    with a note naming the run and the file; the other pair keeps its interval."""
    import pyarrow.parquet as pq

    from ombt_postmortem.compare import compare_campaigns
    from ombt_postmortem.layout import PER_MESSAGE, run_key

    sides = []
    for name, scale in (("a", 1.0), ("b", 1.2)):
        params, rows = [], []
        for clients in (1, 2):
            spec = dataclasses.replace(SPEC, clients=(clients,), latency_scale=scale)
            t, s0, s1 = per_message(simulate(spec))
            run_id = f"{name}-{clients}"
            folder = tmp_path / name / run_key(run_id)
            folder.mkdir(parents=True)
            if name == "b" and clients == 2:
                (folder / PER_MESSAGE).write_bytes(b"not parquet")
            else:
                pq.write_table(t, folder / PER_MESSAGE)
            params.append({"nbr_clients": clients})
            rows.append({"run_id": run_id, "label": f"c{clients}", "nbr_clients": clients,
                         "msg_sent": t.num_rows, "steady_start": s0, "steady_stop": s1,
                         "steady_rate": 1.0, "rtt_p50_ms": 1.0})
        sides.append(Side(name, pd.DataFrame(rows), ["nbr_clients"], tmp_path / name))
    cmp = compare_campaigns(*sides)
    p50 = cmp.deltas[cmp.deltas["metric"] == "p50"].set_index("pair")
    assert p50.loc["nbr_clients=1", "verdict"] == "worse"
    assert p50.loc["nbr_clients=2", "verdict"] == "n/a"
    assert "no interval" in p50.loc["nbr_clients=2", "note"]
    assert any("b-2" in n and PER_MESSAGE in n and "unreadable" in n for n in cmp.notes)
