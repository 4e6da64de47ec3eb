"""Hostile values: run ids (backup_dir) that try to leave results/ or the campaign,
values that enter InfluxQL, a decompression bomb.

That influxd listens on 127.0.0.1 only (both ports, no UDP, INFLUXDB_* overrides
ignored) is checked on the live process in test_influx_native.py
(test_server_isolation_limits_and_cleanup); a run id with quotes and a `;` going
through the whole workflow with metrics equal to its source run is in
test_faults_workflow.py.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
from conftest import snakemake, write_config
from hypothesis import example, given, settings
from hypothesis import strategies as st
from influx_helpers import influx_layout, influx_test, run_dirs, run_window

from ombt_postmortem.errors import CampaignError, OmbtPostmortemError, RunDataError
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.collect import collect_run_metrics
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.queries import QuerySet, identifier, string_literal
from ombt_postmortem.influx.restore import extract
from ombt_postmortem.params import run_folder, run_key, validate_params

SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._,+=@-]*")
HOSTILE_IDS = ["../x", "../../etc", "/etc", "/", ".", "a/../../x", "a/../..", "..",
               "nul\x00byte"]


# --------------------------------------------------------------------------- run ids and paths


@settings(max_examples=300, deadline=None)
@given(run_id=st.text(min_size=1, max_size=300))
@example(run_id="0..0\n")  # found by hypothesis: the slug kept the ".."
@example(run_id="a..b/c")
def test_run_key_is_one_safe_path_component(run_id: str) -> None:
    key = run_key(run_id)
    assert SAFE.fullmatch(key) and ".." not in key and len(key) <= 200
    runs = Path("/results/ex/runs")
    assert (runs / key).parent == runs and (runs / key).name == key
    if key == run_id:
        assert "/" not in run_id and ".." not in run_id


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=2,
                    max_size=6, unique=True))
def test_distinct_run_ids_get_distinct_folders(ids: list[str]) -> None:
    runs = validate_params([{"backup_dir": i} for i in ids], "params.json")
    assert len({r.key for r in runs}) == len(ids)
    assert [r.run_id for r in runs] == ids  # kept verbatim in the table


@pytest.mark.parametrize("run_id", HOSTILE_IDS)
def test_backup_dir_cannot_leave_the_campaign(tmp_path: Path, run_id: str) -> None:
    camp = tmp_path / "campaign"
    camp.mkdir()
    with pytest.raises(RunDataError) as err:
        run_folder(camp, run_id)
    shown = run_id if run_id.isprintable() else repr(run_id)
    assert err.value.one_line().startswith(f"run {shown}")
    assert "refused" in str(err.value) and "\n" not in str(err.value)


def test_a_symlinked_run_folder_leading_out_is_refused(tmp_path: Path) -> None:
    camp = tmp_path / "campaign"
    camp.mkdir()
    (tmp_path / "secret").mkdir()
    (camp / "evil").symlink_to(tmp_path / "secret")
    (camp / "inner").mkdir()
    (camp / "fine").symlink_to(camp / "inner")
    with pytest.raises(RunDataError, match="leads outside the campaign folder"):
        run_folder(camp, "evil")
    assert run_folder(camp, "fine") == camp / "inner"
    for ok in ("it's \"quoted\"; DROP", "nested/run with spaces", "a/../b", "-rf", "~root"):
        assert run_folder(camp, ok).is_relative_to(camp)


def test_duplicate_and_empty_ids_stop_the_campaign() -> None:
    with pytest.raises(CampaignError, match="entry 1 repeats backup_dir 'a b'"):
        validate_params([{"backup_dir": "a b"}, {"backup_dir": "a b"}], "params.json")
    with pytest.raises(CampaignError, match="entry 0 has no non-empty string 'backup_dir'"):
        validate_params([{"backup_dir": "  "}], "params.json")


@pytest.mark.workflow
def test_a_campaign_name_cannot_be_a_path(tmp_path: Path) -> None:
    camp = tmp_path / "camp"
    camp.mkdir()
    (camp / "params.json").write_text("[]")
    res = snakemake(tmp_path, write_config(tmp_path, {"../evil": camp}), "-n")
    assert res.returncode != 0 and "../evil" in res.output
    assert not (tmp_path.parent / "evil").exists()


# --------------------------------------------------------------------------- InfluxQL


def _read_literal(text: str, quote: str) -> tuple[str, int]:
    """An InfluxQL quoted token at the start of ``text``: (its value, where it ends)."""
    assert text[0] == quote
    out, i = [], 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise AssertionError(f"unterminated literal {text!r}")


printable = st.text(st.characters(min_codepoint=0x20, blacklist_characters="\x7f"),
                    min_size=1, max_size=100)


@settings(max_examples=300, deadline=None)
@given(value=printable)
def test_literals_and_identifiers_hold_any_value(value: str) -> None:
    """A value is one token: the closing quote is the last character, the value intact."""
    for render, quote in ((string_literal, "'"), (identifier, '"')):
        text = render(value)
        got, end = _read_literal(text, quote)
        assert got == value and end == len(text)


def test_a_role_cannot_inject_into_a_query() -> None:
    role = "bus' OR \"role\" =~ /.*/ OR 'a' = 'a"
    qs = QuerySet.from_dict({"queries": [{
        "column": "c", "role": role,
        "template": 'SELECT mean("usage_idle") FROM "cpu" WHERE "role" = {role} '
                    "AND time >= {start} AND time <= {stop}"}]})
    q = qs.queries[0].render(1, 2)
    start = q.index("= '") + 2
    value, end = _read_literal(q[start:], "'")
    assert value == role
    assert q[start + end:].startswith(" AND time >= '1970-01-01T00:00:00.000000001Z'")


@influx_test
def test_a_database_name_cannot_inject(tmp_path: Path) -> None:
    """The database name is never pasted into a statement (only the `db` parameter)."""
    run_dir = run_dirs()[0]
    (tmp_path / "tmp").mkdir()
    cfg = InfluxConfig.from_dict({"tmpdir": str(tmp_path / "tmp"), "backend": "native",
                                  "database": 'x"; DROP DATABASE "telegraf'})
    got = collect_run_metrics("r", run_dir / "influxdb-data.tar.gz", run_window(run_dir), cfg,
                              None, Limits())
    # not found, so the only user database is used, and it is still there with its data
    assert got.database == "telegraf"
    assert got.notes[0] == ('database x"; DROP DATABASE "telegraf absent: used telegraf, '
                            "the one database holding them")
    assert got.values["min_usage_idle_bus"] > 0
    assert list((tmp_path / "tmp").iterdir()) == []


# --------------------------------------------------------------------------- decompression bomb


class _Zeros:
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


def test_decompression_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    """512 MiB of zeros in a ~0.5 MB archive: refused once 8 MB are written, nothing left."""
    tar = tmp_path / "influxdb-data.tar.gz"
    size = 512 * 1024 * 1024
    with tarfile.open(tar, "w:gz", compresslevel=1) as tf:
        influx_layout(tf)
        info = tarfile.TarInfo("influxdb-data/data/telegraf/bomb.tsm")
        info.size = size
        tf.addfile(info, _Zeros(size))
    assert tar.stat().st_size < size / 100
    (tmp_path / "tmp").mkdir()
    cfg = InfluxConfig.from_dict({"tmpdir": str(tmp_path / "tmp"), "max_extract_mb": 8})
    with pytest.raises(RunDataError) as err:
        collect_run_metrics("r", tar, (1.7e9, 1.7e9 + 10), cfg, None, Limits())
    assert str(err.value) == ("run r (influxdb-data.tar.gz): archive expands beyond the cap of "
                              "8 MB (influx.max_extract_mb)")
    assert list((tmp_path / "tmp").iterdir()) == []
    # the extraction itself stops at the cap: what it had written when it gave up
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(OmbtPostmortemError, match="beyond the cap of 8 MB"):
        extract(tar, target, max_bytes=8 * 2**20)
    written = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    assert 0 < written <= 8 * 2**20


# --------------------------------------------------------------------------- params.json oddities


def test_one_folder_under_four_spellings_stops_the_campaign(tmp_path: Path) -> None:
    camp = tmp_path / "campaign"
    (camp / "run1").mkdir(parents=True)
    (camp / "alias").symlink_to(camp / "run1")
    for other in ("run1/", "./run1", "run1//", "alias"):
        with pytest.raises(CampaignError) as err:
            validate_params([{"backup_dir": "run1"}, {"backup_dir": other}],
                            camp / "params.json")
        assert str(err.value) == (
            f"{camp / 'params.json'}: entries 0 and 1 name the same folder: backup_dir "
            f"'run1' and {other!r} are both {camp / 'run1'}")
    # distinct folders stay distinct, even with names alike
    assert len(validate_params([{"backup_dir": d} for d in ("run1", "run10", "run1x", "Run1")],
                               camp / "params.json")) == 4


def test_deep_nesting_and_repeated_keys_name_the_file(tmp_path: Path) -> None:
    from ombt_postmortem.params import load_params

    camp = tmp_path / "campaign"
    camp.mkdir()
    (camp / "params.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CampaignError, match=r"params\.json: nested too deeply") as err:
        load_params(camp)
    assert str(camp / "params.json") in str(err.value)
    (camp / "params.json").write_text(
        '[{"backup_dir": "a", "driver": "x"},'
        ' {"backup_dir": "b", "driver": "x", "n": {"k": 1, "k": 2}}]')
    with pytest.raises(CampaignError) as err:
        load_params(camp)
    assert str(err.value) == (f"{camp / 'params.json'}: entry 1 (backup_dir 'b') holds key 'k' "
                              "twice (JSON would keep the last value only); keep one")
    (camp / "params.json").write_text('[{"backup_dir": "a", "driver": "x", "driver": "y"}]')
    with pytest.raises(CampaignError, match=r"entry 0 \(backup_dir 'a'\) holds key 'driver' "):
        load_params(camp)


@pytest.mark.workflow
@pytest.mark.parametrize("case", ["four spellings", "deep nesting", "repeated key"])
def test_odd_params_json_stops_the_workflow_with_one_line(tmp_path: Path, case: str) -> None:
    """Stopped while the DAG is built, before any job: one line naming the campaign,
    the file and the entry."""
    camp = tmp_path / "campaign"
    (camp / "run1").mkdir(parents=True)
    text, want = {
        "four spellings": (
            '[{"backup_dir": "run1"}, {"backup_dir": "run1/"}, {"backup_dir": "./run1"},'
            ' {"backup_dir": "run1//"}]',
            "entries 0 and 1 name the same folder: backup_dir 'run1' and 'run1/'"),
        "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        "repeated key": ('[{"backup_dir": "run1", "driver": "a", "driver": "b"}]',
                         "entry 0 (backup_dir 'run1') holds key 'driver' twice"),
    }[case]
    (camp / "params.json").write_text(text)
    res = snakemake(tmp_path, write_config(tmp_path, {"ex": camp}))
    assert res.returncode != 0
    lines = [ln for ln in res.output.splitlines() if want in ln]
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"campaign 'ex': {camp / 'params.json'}: "), res.output
    assert "Traceback" not in res.output and "RecursionError" not in res.output, res.output
    assert not (tmp_path / "results").exists()


def test_a_nul_in_backup_dir_is_no_duplicate_folder(tmp_path: Path) -> None:
    """A name with NUL is refused for its run alone (run_folder), never taken for another
    entry's folder."""
    runs = validate_params([{"backup_dir": "nul\x00byte"}, {"backup_dir": "nulbyte"}],
                           tmp_path / "params.json")
    assert [r.run_id for r in runs] == ["nul\x00byte", "nulbyte"]
