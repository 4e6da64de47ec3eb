"""Unit tests of the merge and statistics, including the seed notebook's known defects."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ombt_postmortem.ombt.parse import AgentResult, Latency, parse_distribution
from ombt_postmortem.ombt.run import analyse_run, run_window
from ombt_postmortem.ombt.stats import (
    histogram_quantile,
    latency_std,
    merge_agents,
    merge_latency,
    rate,
    side_summary,
)


def agent(side: str = "client", **kw: object) -> AgentResult:
    lat = Latency(**kw.pop("latency", {}))  # type: ignore[arg-type]
    base = dict(side=side, agent_id=str(kw.pop("agent_id", "a")), controller_file="c.log",
                start_time=10.0, stop_time=12.0, msgs_ok=5, msgs_fail=0, latency=lat,
                errors={})
    base.update(kw)
    return AgentResult(**base)  # type: ignore[arg-type]


def test_zero_minimum_is_a_value() -> None:
    # the seed notebook's `if self.min` dropped a 0 ms minimum
    m = merge_latency([Latency(min=0.0, max=3.0, count=2, total=3.0),
                       Latency(min=2.0, max=4.0, count=1, total=4.0)])
    assert m.min == 0.0
    m2 = merge_latency([Latency(min=2.0, max=0.0, count=1), Latency(min=0.0, max=0.0, count=1)])
    assert m2.min == 0.0 and m2.max == 0.0


def test_min_max_ignore_agents_without_samples() -> None:
    m = merge_latency([Latency(), Latency(min=5.0, max=7.0, count=2, total=12.0)])
    assert (m.min, m.max) == (5.0, 7.0)
    assert merge_latency([Latency(), Latency()]).min is None


def test_std_never_negative_nor_nan_through_rounding() -> None:
    # 3 identical samples of 0.1: sumsq/count - mean^2 is a tiny negative number
    lat = Latency(min=0.1, max=0.1, total=0.1 * 3, count=3, sum_of_squares=0.1**2 * 3)
    assert lat.sum_of_squares / 3 - (lat.total / 3) ** 2 < 0
    assert latency_std(lat) == 0.0


def test_string_and_int_decade_keys_are_one_bucket() -> None:
    d = parse_distribution({"1": [0, 1] + [0] * 8, 1: [0, 2] + [0] * 8, "0": [3] + [0] * 9})
    assert d == {0: [3] + [0] * 9, 1: [0, 3] + [0] * 8}
    assert list(d) == [0, 1]
    m = merge_latency([Latency(distribution={1: [0, 1] + [0] * 8}),
                       Latency(distribution=parse_distribution({"1": [0, 4] + [0] * 8}))])
    assert m.distribution == {1: [0, 5] + [0] * 8}


def test_zero_and_negative_interval_give_nan_rate() -> None:
    for stop in (10.0, 9.0):
        m = merge_agents([agent(start_time=10.0, stop_time=stop)])
        assert math.isnan(rate(m))
    cols = side_summary("client", [agent(start_time=10.0, stop_time=10.0)])
    assert math.isnan(cols["client_rate"])  # type: ignore[arg-type]


def test_quantile_interpolates_inside_bucket() -> None:
    # 10 samples in [2, 3) ms: p50 -> target 5 -> 2 + 1 * 5/10
    dist = {0: [0, 0, 10] + [0] * 7}
    assert histogram_quantile(dist, 0.5, None, None) == pytest.approx(2.5)
    # clamp into [min, max]
    assert histogram_quantile(dist, 0.99, 2.0, 2.6) == 2.6
    assert histogram_quantile(dist, 0.01, 2.45, 2.9) == 2.45
    # decade 1: bucket 3 is [30, 40)
    dist2 = {0: [0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 1: [0, 0, 0, 4] + [0] * 6}
    assert histogram_quantile(dist2, 0.75, None, None) == pytest.approx(35.0)
    assert math.isnan(histogram_quantile({}, 0.5, None, None))
    assert math.isnan(histogram_quantile({0: [0] * 10}, 0.5, None, None))


def test_merge_is_exact_and_side_summary_uses_own_counts() -> None:
    a = agent(agent_id="a", msgs_ok=3, latency=dict(min=1.0, max=2.0, total=4.0, count=3,
                                                     sum_of_squares=6.0))
    b = agent(agent_id="b", msgs_ok=7, start_time=9.0, stop_time=13.0,
              latency=dict(min=0.5, max=9.0, total=20.0, count=7, sum_of_squares=90.0))
    cols = side_summary("client", [a, b])
    assert cols["client_latency_mean_ms"] == 24.0 / 10
    assert cols["client_start_time"] == 9.0 and cols["client_stop_time"] == 13.0
    assert cols["client_rate"] == 10 / 4.0
    assert cols["client_ok_per_agent_mean"] == 5.0


def test_empty_side_is_nan_not_zero() -> None:
    cols = side_summary("server", [])
    texts = ("server_errors_detail", "server_error_kinds")
    assert all(math.isnan(v) for k, v in cols.items() if k not in texts)
    assert (cols["server_errors_detail"], cols["server_error_kinds"]) == ("{}", "[]")


def test_controller_log_found_by_name_not_glob_order(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    good = {"c1": {"start_time": 1.0, "stop_time": 2.0, "msgs_ok": 4, "msgs_fail": 0,
                   "latency": {"min": 0.0, "max": 1.0, "total": 2.0, "count": 4,
                               "sum_of_squares": 2.0, "distribution": {"0": [4] + [0] * 9}},
                   "errors": {}}}
    srv = {"s1": dict(good["c1"])}
    (run / "h_controller-0-x_docker.log").write_text("Total Messages: 4\nnot json\n")
    (run / "h_controller-0-x.log").write_text(json.dumps(good) + "\n" + json.dumps(srv) + "\n")
    (run / "h_rpc-client-0-x.log").write_text('{"client-name": "c1", "kind": "RPCClient"}\n')
    stats = analyse_run(run, "r")
    assert stats.status == "ok", stats.problems
    assert stats.summary["controller_files"] == "h_controller-0-x.log"
    assert stats.summary["client_latency_min_ms"] == 0.0


def test_several_controller_files_are_merged(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    def res(ok: int) -> dict:
        return {"start_time": 1.0, "stop_time": 3.0, "msgs_ok": ok, "msgs_fail": 0,
                "latency": {"min": 1.0, "max": 2.0, "total": 1.5 * ok, "count": ok,
                            "sum_of_squares": 2.5 * ok, "distribution": {"0": [0, ok] + [0] * 8}},
                "errors": {}}
    for shard, ok in ((0, 10), (1, 30)):
        (run / f"h_controller-{shard}-t.log").write_text(
            json.dumps({f"c{shard}": res(ok)}) + "\n" + json.dumps({f"s{shard}": res(ok)}) + "\n")
    stats = analyse_run(run, "r")
    assert stats.summary["n_clients"] == 2 and stats.summary["client_msgs_ok"] == 40
    assert set(stats.agents["controller_file"]) == {"h_controller-0-t.log", "h_controller-1-t.log"}


def test_window_spans_both_sides() -> None:
    s = {"client_start_time": 5.0, "server_start_time": 4.0, "client_stop_time": 9.0,
         "server_stop_time": 8.0}
    assert run_window(s) == (4.0, 9.0)
    assert run_window(s, 2.0) == (2.0, 11.0)
    assert run_window({"client_start_time": float("nan")}) is None


def test_server_limits_leave_room_for_the_job() -> None:
    from ombt_postmortem.influx.backends.server import Limits

    assert Limits.for_job(2, 1536, 512) == Limits(threads=2, mem_mb=1024)
    assert Limits.for_job(0, 100, 512) == Limits(threads=1, mem_mb=64)
