"""Property-based tests (hypothesis) of the merge and the statistics.

Agents are generated from random latency samples, turned into ombt's Stats the
way ombt builds them (min, max, total, count, sum of squares, decade histogram),
so every generated agent is one ombt could have written. The seed notebook's known
defects (../shared/DESIGN.md) are properties here: they cannot come back.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ombt_postmortem.ombt.parse import (
    AgentResult,
    Latency,
    find_controller_logs,
    parse_distribution,
)
from ombt_postmortem.ombt.run import analyse_run
from ombt_postmortem.ombt.stats import (
    QUANTILES,
    bucket_bounds,
    histogram_quantile,
    latency_std,
    merge_agents,
    merge_latency,
    rate,
    side_summary,
)

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

latency_ms = st.one_of(st.just(0.0), st.floats(0.0, 1.0, exclude_max=True),
                       st.floats(0.0, 20_000.0, allow_nan=False, allow_infinity=False))
samples_st = st.lists(latency_ms, max_size=40)


def bucket_of(v: float) -> tuple[int, int]:
    """Decade and bucket of a sample, as ombt files it: [i*10^d, (i+1)*10^d); < 1 ms -> (0, 0)."""
    if v < 1:
        return 0, 0
    d = int(math.floor(math.log10(v)))
    while v >= 10.0 ** (d + 1):  # log10 rounding at exact powers of ten
        d += 1
    while d > 0 and v < 10.0 ** d:
        d -= 1
    return d, int(v // 10.0 ** d)


def stats_of(samples: list[float]) -> Latency:
    dist: dict[int, list[int]] = {}
    for v in samples:
        d, b = bucket_of(v)
        dist.setdefault(d, [0] * 10)[b] += 1
    return Latency(min=min(samples) if samples else None, max=max(samples) if samples else None,
                   total=sum(samples), count=len(samples),
                   sum_of_squares=sum(v * v for v in samples), distribution=dist)


@st.composite
def agents_st(draw: st.DrawFn, side: str = "client", min_size: int = 1) -> list[AgentResult]:
    n = draw(st.integers(min_size, 6))
    out = []
    for i in range(n):
        samples = draw(samples_st)
        start = draw(st.floats(1.7e9, 1.8e9))
        duration = draw(st.one_of(st.just(0.0), st.floats(-5, 600)))
        fails = draw(st.integers(0, 5))
        errors = {f"error {k}": 1 for k in range(fails)}
        out.append(AgentResult(side=side, agent_id=f"{side}-{i}", controller_file="c.log",
                               start_time=start, stop_time=start + duration,
                               msgs_ok=len(samples), msgs_fail=fails, latency=stats_of(samples),
                               errors=errors))
    return out


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@SETTINGS
@given(agents=agents_st(), seed=st.integers(0, 2**32 - 1))
def test_merge_is_order_independent(agents: list[AgentResult], seed: int) -> None:
    shuffled = list(agents)
    random.Random(seed).shuffle(shuffled)
    a, b = side_summary("client", agents), side_summary("client", shuffled)
    assert a.keys() == b.keys()
    for k in a:
        assert same(a[k], b[k]), (k, a[k], b[k])  # bit for bit, not approximately
    assert merge_agents(agents) == merge_agents(shuffled)


@SETTINGS
@given(agents=agents_st())
def test_counts_agree_with_histogram_and_sums(agents: list[AgentResult]) -> None:
    m = merge_agents(agents)
    assert sum(sum(row) for row in m.latency.distribution.values()) == m.latency.count
    assert m.latency.count == sum(a.latency.count for a in agents)
    assert m.msgs_ok == sum(a.msgs_ok for a in agents)
    assert m.msgs_fail == sum(a.msgs_fail for a in agents) == sum(m.errors.values())
    assert m.latency.total == math.fsum(a.latency.total for a in agents)
    cols = side_summary("client", agents)
    assert cols["client_latency_count"] == m.latency.count


@SETTINGS
@given(agents=agents_st())
def test_quantiles_are_ordered_and_inside_min_max(agents: list[AgentResult]) -> None:
    cols = side_summary("server", [AgentResult(**{**a.__dict__, "side": "server"})
                                   for a in agents])
    if cols["server_latency_count"] == 0:
        for k in ("min", "max", "mean", "std", "p50_est", "p90_est", "p99_est"):
            assert math.isnan(cols[f"server_latency_{k}_ms"])  # NaN, never 0
        return
    lo, hi = cols["server_latency_min_ms"], cols["server_latency_max_ms"]
    p50, p90, p99 = (cols[f"server_latency_{q}_est_ms"] for q in ("p50", "p90", "p99"))
    assert lo <= p50 <= p90 <= p99 <= hi
    assert lo <= cols["server_latency_mean_ms"] * (1 + 1e-9) + 1e-9
    assert cols["server_latency_mean_ms"] <= hi * (1 + 1e-9) + 1e-9


@SETTINGS
@given(samples=st.lists(latency_ms, min_size=1, max_size=60), q=st.sampled_from(
    [*QUANTILES.values(), 0.01, 0.25, 1.0]))
def test_quantile_lies_in_the_bucket_of_the_true_order_statistic(samples: list[float],
                                                                 q: float) -> None:
    lat = stats_of(samples)
    est = histogram_quantile(lat.distribution, q, lat.min, lat.max)
    k = max(1, math.ceil(q * len(samples) - 1e-9))
    s_k = sorted(samples)[k - 1]
    lower, upper = bucket_bounds(*bucket_of(s_k))
    assert lower <= est <= upper


@SETTINGS
@given(agents=agents_st(), zero_agent=st.booleans())
def test_a_zero_ms_minimum_is_kept(agents: list[AgentResult], zero_agent: bool) -> None:
    """The seed notebook's `if self.min` lost a 0 ms minimum."""
    if zero_agent:
        agents = [*agents, AgentResult(side="client", agent_id="zero", controller_file="c.log",
                                       start_time=1.7e9, stop_time=1.7e9 + 1, msgs_ok=1,
                                       msgs_fail=0, latency=stats_of([0.0]), errors={})]
    m = merge_latency(a.latency for a in agents)
    all_samples_min = [a.latency.min for a in agents if a.latency.min is not None]
    assert m.min == (min(all_samples_min) if all_samples_min else None)
    if zero_agent:
        assert m.min == 0.0
        assert side_summary("client", agents)["client_latency_min_ms"] == 0.0


@SETTINGS
@given(samples=st.lists(st.sampled_from([0.1, 0.3, 7.7, 1e-3, 123.456]), min_size=1,
                        max_size=50), spread=st.booleans())
def test_std_is_never_negative_nor_nan(samples: list[float], spread: bool) -> None:
    """sqrt of a variance made slightly negative by rounding: clamped at 0."""
    if not spread:
        samples = [samples[0]] * len(samples)
    std = latency_std(stats_of(samples))
    assert std >= 0.0 and not math.isnan(std)
    # sum and sum of squares are all ombt keeps: cancellation costs ~sqrt(n * eps) * max
    slack = 4 * math.sqrt(len(samples) * 2.3e-16) * max(samples)
    assert math.isclose(std, statistics.pstdev(samples), rel_tol=1e-6, abs_tol=slack)


@SETTINGS
@given(rows=st.lists(st.tuples(st.integers(0, 5), st.lists(st.integers(0, 50), min_size=10,
                                                              max_size=10),
                               st.booleans()), max_size=8))
def test_string_and_int_decade_keys_are_one_bucket(rows: list[tuple[int, list[int], bool]]
                                                   ) -> None:
    """JSON gives "1"; other tools give 1: the same decade, added up, never two buckets."""
    raw: dict[object, list[int]] = {}
    want: dict[int, list[int]] = {}
    for decade, counts, as_str in rows:
        key: object = str(decade) if as_str else decade
        if key in raw:
            continue
        raw[key] = counts
        acc = want.setdefault(decade, [0] * 10)
        for i, c in enumerate(counts):
            acc[i] += c
    got = parse_distribution(raw)
    assert got == want and list(got) == sorted(want)
    assert all(isinstance(k, int) for k in got)


@SETTINGS
@given(clients=agents_st("client"), servers=agents_st("server"))
def test_client_latency_uses_the_clients_own_count(clients: list[AgentResult],
                                                   servers: list[AgentResult]) -> None:
    """The seed notebook divided the clients' total by the SERVERS' count."""
    cols = {**side_summary("client", clients), **side_summary("server", servers)}
    total = math.fsum(a.latency.total for a in clients)
    count = sum(a.latency.count for a in clients)
    mean = cols["client_latency_mean_ms"]
    if count == 0:
        assert math.isnan(mean)
    else:
        assert mean == total / count


@SETTINGS
@given(agents=agents_st())
def test_zero_or_negative_interval_gives_nan_rate_not_a_crash(agents: list[AgentResult]
                                                              ) -> None:
    m = merge_agents(agents)
    duration = m.stop_time - m.start_time
    r = rate(m)
    if duration > 0:
        assert r == (m.msgs_ok + m.msgs_fail) / duration
    else:
        assert math.isnan(r)


names_st = st.lists(st.sampled_from([
    "enos-client-0_rpc-client-{i}-topic-0-x.log",
    "enos-server-0_rpc-server-{i}-topic-0-x.log",
    "enos-control-bus-0_controller-{i}-topic-0-x_docker.log",
    "aaa_client-{i}.log", "controller-{i}.log", "enos_controller-{i}.json",
    "enos-control-bus-0_controller-{i}-topic-0-x.log",
]), min_size=1, max_size=12)


@SETTINGS
@given(templates=names_st, seed=st.integers(0, 2**32 - 1))
def test_controller_logs_found_by_name_never_by_glob_order(templates: list[str],
                                                           seed: int) -> None:
    """The seed notebook took files[0] / files[1] of a glob: here only controller outputs."""
    names = sorted({t.format(i=i) for i, t in enumerate(templates)})
    random.Random(seed).shuffle(names)  # creation order (hence often listing order) random
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in names:
            (folder / name).write_text("{}\n{}\n")
        found = [p.name for p in find_controller_logs(folder)]
    want = sorted(n for n in names
                  if n.startswith("enos-control-bus-0_controller-") and not
                  n.endswith("_docker.log") and n.endswith(".log"))
    assert found == want


@SETTINGS
@given(clients=agents_st("client"), servers=agents_st("server"))
def test_through_the_json_files(clients: list[AgentResult], servers: list[AgentResult]) -> None:
    """The same numbers when the agents go through a controller log (string decade keys)."""
    def block(agents: list[AgentResult]) -> str:
        return json.dumps({a.agent_id: {
            "start_time": a.start_time, "stop_time": a.stop_time, "msgs_ok": a.msgs_ok,
            "msgs_fail": a.msgs_fail, "errors": a.errors,
            "latency": {"min": a.latency.min, "max": a.latency.max, "total": a.latency.total,
                        "count": a.latency.count, "sum_of_squares": a.latency.sum_of_squares,
                        "distribution": {str(d): r for d, r in a.latency.distribution.items()}},
        } for a in agents})

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        (run / "h_controller-0-x.log").write_text(block(clients) + "\n" + block(servers) + "\n")
        stats = analyse_run(run, "r")
    direct = {**side_summary("client", clients), **side_summary("server", servers)}
    for k, v in direct.items():
        if not k.endswith(("errors_detail", "error_kinds")):
            assert same(stats.summary[k], v), k
    hist = stats.hist
    for side, agents in (("client", clients), ("server", servers)):
        assert hist[hist["side"] == side]["count"].sum() == sum(a.latency.count for a in agents)
