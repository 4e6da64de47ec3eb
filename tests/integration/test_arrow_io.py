"""The per-run tables are written with pyarrow alone (no pandas in the per-run jobs),
and read back by pandas exactly as the library hands them out in memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO, controller_log, run_ids
from independent import load_sides

from ombt_postmortem import arrow_io
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.export import empty_timeseries
from ombt_postmortem.influx.stage import RunLogs, run_influx_stage, write_stage
from ombt_postmortem.keepout import keep_out
from ombt_postmortem.ombt.run import analyse_run, write_run_stats

RUNS = run_ids()


@pytest.mark.parametrize("run", RUNS, ids=[f"run{i}" for i in range(len(RUNS))])
def test_written_tables_read_back_as_in_memory(tmp_path: Path, run: str) -> None:
    stats = analyse_run(EXAMPLE / run, run)
    paths = [tmp_path / n for n in ("ombt.parquet", "agents.parquet", "hist.parquet")]
    write_run_stats(stats, *paths)
    summary, agents, hist = (pd.read_parquet(p) for p in paths)
    # dtypes included: the frames a notebook gets from the library are the files' frames
    pd.testing.assert_frame_equal(agents, stats.agents)
    pd.testing.assert_frame_equal(hist, stats.hist)
    assert list(summary.columns) == list(stats.summary)
    assert len(summary) == 1
    row = summary.iloc[0].to_dict()
    for k, v in stats.summary.items():
        assert (pd.isna(row[k]) and pd.isna(v)) or row[k] == v, k
    assert agents["side"].tolist().count("client") == stats.summary["n_clients"]
    # the counts against the raw JSON, read here without the product's parser
    for side, raw in load_sides(controller_log(EXAMPLE / run)).items():
        got = agents[agents["side"] == side].set_index("agent_id")
        assert sorted(got.index) == sorted(raw), side
        for agent_id, r in raw.items():
            assert got.loc[agent_id, "msgs_ok"] == r["msgs_ok"]
            assert got.loc[agent_id, "latency_count"] == r["latency"]["count"]


def test_empty_timeseries_types() -> None:
    df = arrow_io.to_frame(empty_timeseries())
    assert list(df.columns) == ["measurement", "field", "host", "role", "time", "value"]
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert str(df["value"].dtype) == "float64"
    assert len(df) == 0


def test_keep_out_refuses_when_pandas_is_loaded() -> None:
    assert "pandas" in sys.modules  # this test process imported it
    with pytest.raises(RuntimeError, match="already imported"):
        keep_out("pandas", by="test")


def test_per_run_work_runs_without_pandas(tmp_path: Path) -> None:
    """What the two per-run jobs do, in a process where pandas cannot be imported:
    the ombt stage, then the influx stage on a run without a backup (a problem row,
    no server), and pandas stays out. The files then equal the in-memory results."""
    run = RUNS[0]
    out = tmp_path / "out"
    controller = controller_log(EXAMPLE / run)
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from ombt_postmortem.keepout import keep_out
        from ombt_postmortem.influx.config import InfluxConfig
        from ombt_postmortem.influx.backends.server import Limits
        from ombt_postmortem.influx.stage import RunLogs, run_influx_stage, write_stage
        from ombt_postmortem.ombt.run import analyse_run, write_run_stats
        keep_out("pandas", by="test")
        out = Path({str(out)!r})
        stats = analyse_run(Path({str(EXAMPLE / run)!r}), {run!r})
        write_run_stats(stats, out / "ombt.parquet", out / "agents.parquet", out / "hist.parquet")
        logs = RunLogs(controller=[Path({str(controller)!r})], agents=[])
        res = run_influx_stage({run!r}, logs, None, InfluxConfig(), None, Limits())
        write_stage(res, out / "metrics.parquet", out / "timeseries.parquet")
        try:
            import pandas
            blocked = False
        except ImportError:
            blocked = True
        print(json.dumps({{"pandas_loaded": "pandas" in sys.modules, "blocked": blocked,
                          "problems": res.problems}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not report["pandas_loaded"] and report["blocked"]
    assert len(report["problems"]) == 1
    assert "no influxdb-data.tar.gz" in report["problems"][0]

    stats = analyse_run(EXAMPLE / run, run)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "agents.parquet"), stats.agents)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "hist.parquet"), stats.hist)
    res = run_influx_stage(run, RunLogs(controller=[controller], agents=[]), None,
                           InfluxConfig(), None, Limits())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "metrics.parquet"), res.metrics)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), res.timeseries)
    write_stage(res, tmp_path / "m2.parquet", None)
    assert not (tmp_path / "timeseries.parquet").exists()
