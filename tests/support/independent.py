"""Reference values computed straight from the raw controller JSON.

Written apart from the product on purpose (plain dict walking and numpy),
so tests compare two implementations, never the product with itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def load_sides(controller_log: Path) -> dict[str, dict]:
    lines = controller_log.read_text().splitlines()
    return {"client": json.loads(lines[0]), "server": json.loads(lines[1])}


def histogram(agents: dict) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for res in agents.values():
        for k, row in res["latency"]["distribution"].items():
            out[int(k)] = out.get(int(k), np.zeros(10, dtype=np.int64)) + np.asarray(row)
    return out


def quantile(hist: dict[int, np.ndarray], q: float, lo: float, hi: float) -> float:
    lowers, uppers, counts = [], [], []
    for d in sorted(hist):
        for i in range(10):
            lowers.append(i * 10.0**d)
            uppers.append((i + 1) * 10.0**d)
            counts.append(hist[d][i])
    counts_a = np.asarray(counts, dtype=float)
    cum = np.cumsum(counts_a)
    target = q * cum[-1]
    j = int(np.searchsorted(cum, target, side="left"))
    while counts_a[j] == 0:  # the first bucket that reaches target holds samples
        j += 1
    c0 = cum[j] - counts_a[j]
    v = lowers[j] + (uppers[j] - lowers[j]) * (target - c0) / counts_a[j]
    return float(min(max(v, lo), hi))


def side_expected(agents: dict) -> dict[str, float]:
    vals = list(agents.values())
    ok = [a["msgs_ok"] for a in vals]
    fail = [a["msgs_fail"] for a in vals]
    start = min(a["start_time"] for a in vals)
    stop = max(a["stop_time"] for a in vals)
    count = sum(a["latency"]["count"] for a in vals)
    total = sum(a["latency"]["total"] for a in vals)
    sq = sum(a["latency"]["sum_of_squares"] for a in vals)
    mean = total / count
    lo = min(a["latency"]["min"] for a in vals)
    hi = max(a["latency"]["max"] for a in vals)
    hist = histogram(agents)
    return {
        "msgs_ok": sum(ok), "msgs_fail": sum(fail), "start_time": start, "stop_time": stop,
        "duration_s": stop - start, "rate": (sum(ok) + sum(fail)) / (stop - start),
        "latency_count": count, "latency_mean_ms": mean,
        "latency_std_ms": math.sqrt(max(0.0, sq / count - mean**2)),
        "latency_min_ms": lo, "latency_max_ms": hi,
        "latency_p50_est_ms": quantile(hist, 0.5, lo, hi),
        "latency_p90_est_ms": quantile(hist, 0.9, lo, hi),
        "latency_p99_est_ms": quantile(hist, 0.99, lo, hi),
        "errors": sum(sum(a["errors"].values()) for a in vals),
        "ok_per_agent_min": min(ok), "ok_per_agent_mean": sum(ok) / len(ok),
        "ok_per_agent_max": max(ok), "fail_per_agent_min": min(fail),
        "fail_per_agent_mean": sum(fail) / len(fail), "fail_per_agent_max": max(fail),
    }


def labels_by_what_varies(params: list[dict]) -> dict[str, str]:
    """backup_dir -> ``k=v__k=v`` of the keys whose values differ (params.json order).

    For params whose varying values are plain (letters, digits, ``.``, ``-``), as in the
    example campaign: the product's rule (ombt_postmortem.labels) needs no escaping there.
    """
    keys: list[str] = []
    for p in params:
        keys += [k for k in p if k != "backup_dir" and k not in keys]
    varying = [k for k in keys if len({json.dumps(p.get(k)) for p in params}) > 1]
    out = {}
    for p in params:
        parts = []
        for k in varying:
            v = str(p[k])
            assert v.replace(".", "").replace("-", "").isalnum(), v
            parts.append(f"{k}={v}")
        out[p["backup_dir"]] = "__".join(parts)
    return out
