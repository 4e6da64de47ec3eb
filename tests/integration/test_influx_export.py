"""The columnar export (influxdb client, msgpack) gives the very table of the former one.

``reference_export`` (tests/support/reference_export.py) is the export as it was before
it went columnar (commit 966686e: a hand-written urllib client, JSON bodies, one dict
per value, one Python sort), kept verbatim as the reference. Both run against the same
independently started influxd: on every run of the real example campaign, on a
small run of ``synth --preset realistic``, and on hand-written points with the
awkward cases (string, boolean and huge integer fields, nulls, missing tags, a
measurement listed twice, a tag named like a column).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import REPO
from influx_helpers import influx_test, reference_server, run_dirs, run_window, untar
from reference_export import old_query, reference_export

from ombt_postmortem.influx.export import EXPORT_IN_FLIGHT, export_timeseries
from ombt_postmortem.influx.queries import QuerySet, epoch_ns

TELEGRAF = QuerySet.load(REPO / "src/ombt_postmortem/data/queries/telegraf.yaml")

# --------------------------------------------------------------------------- helpers


def both(url: str, db: str, qs: QuerySet, lo_ns: int, hi_ns: int
         ) -> tuple[pa.Table, list[str], pa.Table, list[str]]:
    """The export (as many queries in flight as in the stage) and the former export, on
    the same server; the export with 1 and with 3 queries in flight must agree with it."""
    new_notes: list[str] = []
    old_notes: list[str] = []
    new = export_timeseries("r", Path("x.tar.gz"), url, db, qs, lo_ns, hi_ns, new_notes)
    for in_flight in {1, 3} - {EXPORT_IN_FLIGHT}:
        other_notes: list[str] = []
        other = export_timeseries("r", Path("x.tar.gz"), url, db, qs, lo_ns, hi_ns,
                                  other_notes, in_flight=in_flight)
        assert other.schema == new.schema and other.equals(new), in_flight
        assert other_notes == new_notes, in_flight
    old = reference_export(url, db, qs, lo_ns, hi_ns, old_notes)
    return new, new_notes, old, old_notes


def assert_same(new: pa.Table, old: pa.Table) -> None:
    assert new.schema == old.schema
    assert new.num_rows == old.num_rows
    for name in old.column_names:  # column by column: a failure names the column
        assert new.column(name).combine_chunks().equals(old.column(name).combine_chunks()), name
    assert new.equals(old)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("run_dir", run_dirs(), ids=lambda p: f"run{run_dirs().index(p)}")
@influx_test
def test_same_table_as_before_on_the_example(run_dir: Path, tmp_path: Path) -> None:
    untar(run_dir / "influxdb-data.tar.gz", tmp_path)
    start, stop = run_window(run_dir)
    with reference_server(tmp_path) as url:
        new, new_notes, old, old_notes = both(url, "telegraf", TELEGRAF, epoch_ns(start - 30),
                                              epoch_ns(stop + 30, up=True))
    assert old.num_rows > 1000
    assert_same(new, old)
    assert new_notes == old_notes


@influx_test
def test_same_table_as_before_on_a_small_realistic_run(tmp_path: Path) -> None:
    camp = tmp_path / "camp"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(camp),
                    "--preset", "realistic", "--runs", "1", "--clients", "12", "--servers", "6",
                    "--calls", "100", "--jobs", "1"], check=True, capture_output=True)
    (run_dir,) = [p for p in camp.iterdir() if p.is_dir()]
    untar(run_dir / "influxdb-data.tar.gz", tmp_path)
    start, stop = run_window(run_dir)
    with reference_server(tmp_path) as url:
        new, new_notes, old, old_notes = both(url, "telegraf", TELEGRAF, epoch_ns(start),
                                              epoch_ns(stop, up=True))
    assert old.num_rows > 5000
    assert_same(new, old)
    assert new_notes == old_notes == []


LINES = """\
cpu,host=h2,role=bus usage_idle=50.5,usage_user=1i 1000000000
cpu,host=h1,role=bus usage_idle=40.0 2000000000
cpu,host=h1,role=bus usage_user=3i 1000000000
cpu,host=h1 usage_idle=41.0 3000000000
cpu usage_idle=7.0 3000000000
cpu,host=h1,role=bus,zone=z1 usage_idle=1.0 2000000000
cpu,host=h1,role=bus,zone=z1,value=v usage_idle=2.0 1000000000
disk,host=h1,role=bus,path=/ used=9007199254740993i,ok=true,label="1.5",free=2.5 1000000000
disk,host=h1,role=bus,path=/ used=3i,ok=false,label="x" 2000000000
disk,host=h1,role=bus,path=/var free=4.5 1000000000
net,host=h1,role=bus,field=f bytes=10i 1000000000
"""


@influx_test
def test_same_table_as_before_on_awkward_points(tmp_path: Path) -> None:
    (tmp_path / "influxdb-data").mkdir()
    qs = QuerySet.from_dict({"timeseries": [
        {"measurement": "disk", "fields": "*"},
        {"measurement": "cpu", "fields": ["usage_user", "usage_idle"]},
        {"measurement": "net", "fields": "*"},
        {"measurement": "cpu", "fields": ["usage_idle"]},  # listed twice
        {"measurement": "absent", "fields": "*"},
    ]})
    with reference_server(tmp_path) as url:
        old_query(url, "CREATE DATABASE db")
        with urllib.request.urlopen(urllib.request.Request(
                f"{url}/write?db=db", data=LINES.encode(), method="POST"), timeout=30) as r:
            assert r.status == 204
        new, new_notes, old, old_notes = both(url, "db", qs, 0, 10_000_000_000)
        # each measurement once: the results' tables are put one after the other
        once = QuerySet.from_dict({"timeseries": [
            {"measurement": "disk", "fields": "*"},
            {"measurement": "cpu", "fields": ["usage_user", "usage_idle"]},
            {"measurement": "net", "fields": "*"}]})
        new1, new1_notes, old1, old1_notes = both(url, "db", once, 0, 10_000_000_000)
    assert old.num_rows == 21  # counted by hand from LINES (6 disk, 8 + 6 cpu, 1 net)
    assert "zone" in old.column_names and "path" in old.column_names
    assert new.column("time").num_chunks == 1  # cpu twice: all pieces sorted together
    assert_same(new, old)
    assert new_notes == old_notes == ["timeseries: 2 non-numeric values left out"]
    assert old1.num_rows == 15  # the same without the second cpu query
    assert new1.column("time").num_chunks == 3  # one chunk per measurement
    assert_same(new1, old1)
    assert new1_notes == old1_notes == ["timeseries: 2 non-numeric values left out"]
