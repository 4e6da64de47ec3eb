"""The results API (ombt_postmortem.results) on the example's real results, the run labels
(ombt_postmortem.labels), and the campaign notebook rendered by real snakemake.

The results are built once per module by the real workflow (InfluxDB stage on when
influxd is installed, the notebook on when Jupyter's nbconvert and ipykernel are).
Expected values come from params.json and the files themselves, read here with
plain json/pandas; file names are spelled here, not taken from the product.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, snakemake, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from independent import labels_by_what_varies
from matplotlib.figure import Figure

from ombt_postmortem.labels import MAX_LABEL, labels_of
from ombt_postmortem.layout import LAYOUT_VERSION, run_key
from ombt_postmortem.results import (
    LayoutMismatch,
    MissingRunFile,
    NotAResultsFolder,
    ResultsError,
    UnknownRun,
    open_campaign,
)

PARAMS = json.loads((EXAMPLE / "params.json").read_text())
LABELS = labels_by_what_varies(PARAMS)
INFLUX = shutil.which("influxd") is not None
NOTEBOOK = all(importlib.util.find_spec(m) is not None
               for m in ("nbconvert", "nbclient", "ipykernel"))
#: a name any file system takes: no separator, no space, no leading dot or dash
SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._,+=@-]*$")
workflow = pytest.mark.workflow


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/ of the example campaign (named "ex"), written by the real workflow."""
    work = tmp_path_factory.mktemp("api")
    tmp = work / "tmp"
    tmp.mkdir()
    influx = {"tmpdir": str(tmp), "backend": "native"} if INFLUX else {"enabled": False}
    cfg = write_config(work, {"ex": EXAMPLE}, influx=influx,
                       notebook={"enabled": NOTEBOOK})
    run = snakemake(work, cfg, cores=2)
    assert run.returncode == 0, run.output
    (work / "console.txt").write_text(run.output)
    return work / "results"


@pytest.fixture
def results_copy(results: Path, tmp_path: Path) -> Path:
    """A writable copy of results/ex (the module's results stay untouched)."""
    dst = tmp_path / "results" / "ex"
    shutil.copytree(results / "ex", dst)
    return dst


def run_dir(results: Path, run_id: str) -> Path:
    # the example's backup_dir are plain names: each run's folder is named after it
    return results / "ex" / "runs" / run_id


# --------------------------------------------------------------------------- the table


@workflow
def test_table_equals_campaign_parquet(results: Path) -> None:
    c = open_campaign(results)  # the results folder holds one campaign: that one
    assert c.name == "ex"
    want = pd.read_parquet(results / "ex" / "campaign.parquet")
    pd.testing.assert_frame_equal(c.table, want)
    assert list(c.table["run_id"]) == [p["backup_dir"] for p in PARAMS]
    assert list(c.table["label"]) == [LABELS[p["backup_dir"]] for p in PARAMS]
    mine = c.table
    mine.loc[0, "status"] = "changed"  # a copy: the campaign's table stays the file's
    pd.testing.assert_frame_equal(c.table, want)


@workflow
def test_runs_list_ids_labels_params_and_status(results: Path) -> None:
    c = open_campaign(results / "ex")
    runs = c.runs()
    table = pd.read_parquet(results / "ex" / "campaign.parquet")
    assert list(runs["run_id"]) == [p["backup_dir"] for p in PARAMS]
    assert list(runs["status"]) == list(table["status"])
    keys = [k for k in PARAMS[0] if k != "backup_dir"]
    assert c.params == keys
    assert c.varying == [k for k in keys if len({p[k] for p in PARAMS}) > 1]
    for p, (_, row) in zip(PARAMS, runs.iterrows(), strict=True):
        assert {k: row[k] for k in keys} == {k: p[k] for k in keys}
        info = c.run(row["label"])
        assert info.run_id == p["backup_dir"] and info.label == LABELS[p["backup_dir"]]
        assert info.params == {k: p[k] for k in keys}
        # a run by its label, run_id or run key (its folder)
        assert c.run_id(p["backup_dir"]) == c.run_id(run_key(p["backup_dir"])) == info.run_id
    with pytest.raises(UnknownRun, match="no-such-run"):
        c.agents("no-such-run")


@workflow
def test_select_returns_the_runs_of_params_json(results: Path) -> None:
    c = open_campaign(results / "ex")
    cases = [
        {"call_type": "rpc-call", "nbr_servers": 2},
        {"call_type": "rpc-cast"},
        {"nbr_clients": [1, 2]},
        {"nbr_clients": 4.0, "driver": "broker"},  # numbers compare by value
        {"call_type": "notify"},
        {},
    ]
    for where in cases:
        want = [p["backup_dir"] for p in PARAMS
                if all(p[k] in (v if isinstance(v, list) else [v]) for k, v in where.items())]
        got = c.select(**where)
        assert list(got["run_id"]) == want, where
        assert list(got.columns) == list(c.table.columns)
    assert len(c.select(call_type="rpc-call", nbr_servers=2)) == 1
    with pytest.raises(ResultsError, match="no parameter or column 'nbr_brokers'"):
        c.select(nbr_brokers=1)


# --------------------------------------------------------------------------- per run


@workflow
def test_per_run_tables_equal_the_per_run_files(results: Path) -> None:
    c = open_campaign(results / "ex")
    for p in PARAMS:
        d = run_dir(results, p["backup_dir"])
        label = LABELS[p["backup_dir"]]
        pd.testing.assert_frame_equal(c.agents(label), pd.read_parquet(d / "agents.parquet"))
        pd.testing.assert_frame_equal(c.histogram(label),
                                      pd.read_parquet(d / "latency_hist.parquet"))
        pd.testing.assert_frame_equal(c.summary(p["backup_dir"]),
                                      pd.read_parquet(d / "ombt.parquet"))
        if INFLUX:
            pd.testing.assert_frame_equal(c.metrics(label), pd.read_parquet(d / "metrics.parquet"))
            pd.testing.assert_frame_equal(c.timeseries(label),
                                          pd.read_parquet(d / "timeseries.parquet"))
        else:
            with pytest.raises(MissingRunFile, match="metrics.parquet.*influx.enabled"):
                c.metrics(label)


@workflow
def test_timeline_and_messages_read_when_present_else_name_the_file(results_copy: Path) -> None:
    c = open_campaign(results_copy)
    p = PARAMS[0]
    d = results_copy / "runs" / p["backup_dir"]
    for name, read in (("timeline.parquet", c.timeline), ("messages.parquet", c.messages)):
        (d / name).unlink(missing_ok=True)
        with pytest.raises(MissingRunFile) as err:
            read(LABELS[p["backup_dir"]])
        assert str(d / name) in str(err.value) and LABELS[p["backup_dir"]] in str(err.value)
        assert isinstance(err.value, FileNotFoundError)
        frame = pd.DataFrame({"second": [0, 1, 2], "side": ["client"] * 3, "sent": [5, 7, 1]})
        frame.to_parquet(d / name, index=False)
        pd.testing.assert_frame_equal(read(p["backup_dir"]), frame)


# --------------------------------------------------------------------------- errors


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotAResultsFolder, match=re.escape(str(tmp_path / "nope"))):
        open_campaign(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotAResultsFolder, match="not the results of a campaign"):
        open_campaign(tmp_path / "empty")


def test_a_campaign_backup_is_not_its_results() -> None:
    with pytest.raises(NotAResultsFolder, match="params.json.*not its results"):
        open_campaign(EXAMPLE)


@workflow
def test_an_older_layout_is_refused(results_copy: Path) -> None:
    marker = results_copy / "layout.json"
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "layout_version": data["layout_version"] - 1}))
    with pytest.raises(LayoutMismatch, match="layout version .*run the workflow again"):
        open_campaign(results_copy)
    marker.unlink()  # what the workflow wrote before layout.json existed
    with pytest.raises(LayoutMismatch, match="no layout.json"):
        open_campaign(results_copy)
    with pytest.raises(LayoutMismatch, match="no layout.json"):
        open_campaign(results_copy.parent)  # found below the results folder, refused too


@workflow
def test_several_campaigns_need_a_name(results_copy: Path) -> None:
    shutil.copytree(results_copy, results_copy.parent / "other")
    with pytest.raises(NotAResultsFolder, match="2 campaigns .*ex, other"):
        open_campaign(results_copy.parent)
    assert open_campaign(results_copy.parent, "other").dir.root == results_copy.parent / "other"
    with pytest.raises(NotAResultsFolder, match="no results of campaign 'third'"):
        open_campaign(results_copy.parent, "third")


def tiny_results(root: Path, name: str = "ex", params: object = ("driver",)) -> Path:
    """A campaign's results written by hand (two runs, one agents.parquet each): what the
    API reads, without a workflow run."""
    cdir = root / name
    table = pd.DataFrame({"run_id": ["r1", "r2"], "label": ["driver=a", "driver=b"],
                          "status": ["ok", "ok"], "problems": ["", ""], "driver": ["a", "b"]})
    for i, run in enumerate(table["run_id"]):
        (cdir / "runs" / run).mkdir(parents=True)
        pd.DataFrame({"agent": [f"{name}-{run}-{j}" for j in range(3 + i)]}).to_parquet(
            cdir / "runs" / run / "agents.parquet", index=False)
    table.to_parquet(cdir / "campaign.parquet", index=False)
    marker = {"layout_version": LAYOUT_VERSION, "campaign": name, "runs": 2, "params": params}
    (cdir / "layout.json").write_text(json.dumps(marker))
    return cdir


def test_per_run_files_leading_out_of_the_campaign_are_refused(tmp_path: Path) -> None:
    ex, other = tiny_results(tmp_path), tiny_results(tmp_path, "other")
    c = open_campaign(ex)
    assert list(c.agents("r2")["agent"]) == ["ex-r2-0", "ex-r2-1", "ex-r2-2", "ex-r2-3"]
    (ex / "runs/r1/agents.parquet").unlink()
    (ex / "runs/r1/agents.parquet").symlink_to("/etc/passwd")
    with pytest.raises(ResultsError) as err:
        c.agents("r1")
    assert str(err.value) == (
        f"run driver=a (r1): {ex / 'runs/r1/agents.parquet'} leads to /etc/passwd, outside "
        f"the campaign's results folder {ex}; refused (remove it and run the workflow again)")
    # another campaign's file: its rows would pass for this run's
    (ex / "runs/r1/agents.parquet").unlink()
    (ex / "runs/r1/agents.parquet").symlink_to(other / "runs/r1/agents.parquet")
    with pytest.raises(ResultsError, match="leads to .*other/runs/r1/agents.parquet, outside"):
        c.agents("r1")
    # a whole run folder linked out
    shutil.rmtree(ex / "runs/r2")
    (ex / "runs/r2").symlink_to(other / "runs/r2")
    with pytest.raises(ResultsError, match="outside the campaign's results folder"):
        c.agents("r2")
    # a link inside the campaign's own folder is followed
    (ex / "runs/r1/agents.parquet").unlink()
    (ex / "runs/r1/agents.parquet").symlink_to(ex / "campaign.parquet")
    assert list(c.agents("r1")["run_id"]) == ["r1", "r2"]


def test_the_campaign_table_and_layout_json_linked_out_are_refused(tmp_path: Path) -> None:
    ex, other = tiny_results(tmp_path), tiny_results(tmp_path, "other")
    (ex / "campaign.parquet").unlink()
    (ex / "campaign.parquet").symlink_to(other / "campaign.parquet")
    with pytest.raises(ResultsError, match="campaign.parquet leads to .*, outside"):
        open_campaign(ex).table  # noqa: B018
    (ex / "layout.json").unlink()
    (ex / "layout.json").symlink_to(other / "layout.json")
    with pytest.raises(ResultsError, match="layout.json leads to .*other/layout.json, outside"):
        open_campaign(ex)


@pytest.mark.parametrize("marker", [
    {"layout_version": LAYOUT_VERSION, "params": [1, None, {"a": 1}]},
    {"layout_version": LAYOUT_VERSION, "params": "driver"},
    {"layout_version": LAYOUT_VERSION, "campaign": ["ex"], "params": ["driver"]},
    {"layout_version": LAYOUT_VERSION, "campaign": "ex", "runs": 2},  # no params
    ["layout_version", 3],
])
def test_layout_json_of_wrong_types_is_refused(tmp_path: Path, marker: object) -> None:
    ex = tiny_results(tmp_path)
    (ex / "layout.json").write_text(json.dumps(marker))
    with pytest.raises(LayoutMismatch) as err:
        c = open_campaign(ex)
        c.runs(), c.varying  # noqa: B018
    assert str(err.value).startswith(f"{ex / 'layout.json'}: ")
    assert "run the workflow again" in str(err.value)


def test_layout_json_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    ex = tiny_results(tmp_path)
    (ex / "layout.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LayoutMismatch, match=r"layout\.json: unreadable \(nested too deeply"):
        open_campaign(ex)


@pytest.mark.parametrize("which", ["campaign.parquet", "runs/r1/agents.parquet"])
def test_a_corrupt_parquet_file_gives_the_apis_error(tmp_path: Path, which: str) -> None:
    ex = tiny_results(tmp_path)
    good = (ex / which).read_bytes()
    (ex / which).write_bytes(good[: len(good) // 2] + b"\0" * 64)
    c = open_campaign(ex)
    with pytest.raises(ResultsError) as err:
        c.agents("r1") if which.startswith("runs") else c.table  # noqa: B018
    assert str(err.value).startswith(f"{ex / which}: unreadable as parquet (")
    assert str(err.value).endswith("remove it and run the workflow again to rewrite it")


def test_a_campaign_table_without_its_columns_is_refused(tmp_path: Path) -> None:
    ex = tiny_results(tmp_path)
    pd.DataFrame({"x": [1]}).to_parquet(ex / "campaign.parquet")
    with pytest.raises(ResultsError, match="campaign.parquet: no column 'run_id', 'label', "
                                           "'status', 'problems'"):
        open_campaign(ex).runs()


# --------------------------------------------------------------------------- figures


def axes() -> object:
    return Figure().subplots()


@workflow
def test_load_curve_draws_the_table_values_into_the_axes(results: Path) -> None:
    c = open_campaign(results / "ex")
    table = pd.read_parquet(results / "ex" / "campaign.parquet")
    for side in ("client", "server"):
        ax = axes()
        assert c.plot("load_curves", ax, metric="rate", side=side) is ax
        def points(dotted: bool, ax: Any = ax) -> list[tuple[float, float]]:
            """(x, y) of the whole-run rate lines, or of the dotted steady-rate ones."""
            return sorted((float(x), float(y)) for line in ax.get_lines()
                          if (line.get_linestyle() == ":") == dotted
                          for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True))

        for dotted, col in ((False, f"{side}_rate"), (True, "steady_rate")):
            got = points(dotted)
            if dotted and side == "server":  # the steady rate is a client-side figure
                assert got == []
                continue
            want = sorted(zip(table["nbr_clients"].astype(float), table[col], strict=True))
            assert [x for x, _ in got] == [x for x, _ in want]
            np.testing.assert_allclose([y for _, y in got], [y for _, y in want], rtol=1e-12)
        assert ax.get_legend() is not None
    ax = axes()
    rpc = c.select(call_type="rpc-call")
    c.plot_load_curve(ax, rpc, metric="latency", side="client")
    means = sorted(float(y) for line in ax.get_lines() for y in line.get_ydata())
    assert means == pytest.approx(sorted(rpc["client_latency_mean_ms"]), rel=1e-12)
    assert len(ax.collections) == len(ax.get_lines())  # a p50-p99 bar per line


@workflow
def test_histogram_bar_areas_are_the_shares(results: Path) -> None:
    c = open_campaign(results / "ex")
    label = LABELS[PARAMS[-1]["backup_dir"]]
    ax = axes()
    c.plot("latency_hist", ax, label, side="client")
    bars = [b for b in ax.patches if not b.get_hatch()]
    assert bars
    area = sum(b.get_height() * math.log10((b.get_x() + b.get_width()) / b.get_x())
               for b in bars)
    assert area == pytest.approx(100.0, rel=1e-9)  # bar area = share of the latencies
    hist = pd.read_parquet(run_dir(results, PARAMS[-1]["backup_dir"]) / "latency_hist.parquet")
    client = hist[hist["side"] == "client"]
    assert ax.get_title() == f"client side: {int(client['count'].sum()):,} latencies"
    ax = axes()
    c.plot_histogram(ax, c.select(call_type="rpc-call"), side="server")  # outlines
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        LABELS[p["backup_dir"]] for p in PARAMS if p["call_type"] == "rpc-call"]


@workflow
def test_cdf_curves_end_at_every_latency(results: Path) -> None:
    c = open_campaign(results / "ex")
    ax = axes()
    c.plot("latency_overlay", ax, side="client")
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == [LABELS[p["backup_dir"]] for p in PARAMS]
    for line in lines:
        y = np.asarray(line.get_ydata(), float)
        assert y[-1] == pytest.approx(100.0) and (np.diff(y) >= 0).all()


@workflow
@pytest.mark.skipif(not INFLUX, reason="influxd not on PATH: no time series exported")
def test_timeseries_draws_the_exported_points(results: Path) -> None:
    c = open_campaign(results / "ex")
    p = PARAMS[3]  # rpc-call, 6 clients: the longest run, several samples
    ts = pd.read_parquet(run_dir(results, p["backup_dir"]) / "timeseries.parquet")
    want = ts[(ts["measurement"] == "cpu") & (ts["field"] == "usage_idle")
              & (ts["role"] == "bus") & (ts["cpu"] == "cpu-total")]
    ax = axes()
    c.plot("timeseries", ax, LABELS[p["backup_dir"]], panel="cpu")
    got = sorted(float(y) for line in ax.get_lines() for y in line.get_ydata())
    assert got == pytest.approx(sorted(want["value"].astype(float)), rel=1e-12)
    assert ax.patches  # the test window


@workflow
def test_unknown_kind_and_bad_options_are_refused(results: Path) -> None:
    c = open_campaign(results / "ex")
    with pytest.raises(ResultsError, match="no figure kind 'pie'"):
        c.plot("pie", axes())
    with pytest.raises(ResultsError, match="side must be one of client, server"):
        c.plot_cdf(axes(), side="both")


# --------------------------------------------------------------------------- the notebook


@workflow
@pytest.mark.skipif(not NOTEBOOK, reason="nbconvert/ipykernel not installed: pip install "
                                         "'.[notebook]' (make setup does)")
def test_notebook_ran_without_error_and_shows_the_table(results: Path) -> None:
    # no stray line on the console (issue 22): neither Snakemake's notebook engine probe
    # ("papermill: command not found") nor the kernel's warnings (in their own log)
    console = (results.parent / "console.txt").read_text()
    assert "papermill" not in console and "IPKernelApp" not in console, console
    assert (results / "ex/logs/campaign_notebook.kernel.log").is_file()
    nb = json.loads((results / "ex" / "campaign.ipynb").read_text())
    first = "".join(nb["cells"][0]["source"])  # the cell the workflow inserts
    assert f"RESULTS = {str((results / 'ex').resolve())!r}" in first
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code and all(cell["execution_count"] for cell in code)  # every cell ran
    outputs = [o for cell in code for o in cell["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    table = pd.read_parquet(results / "ex" / "campaign.parquet")
    html = ["".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})]
    shown = [h for h in html if all(r in h for r in table["run_id"])
             and all(f"<th>{col}</th>" in h for col in table.columns)]
    assert shown, "no output shows every run and column of the campaign table"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2 + INFLUX  # load curves, the slowest run (+ its time series)


# --------------------------------------------------------------------------- labels


def test_example_labels_are_short_unique_and_safe() -> None:
    labels = labels_of(PARAMS, [p["backup_dir"] for p in PARAMS])
    assert labels == [LABELS[p["backup_dir"]] for p in PARAMS]
    assert len({x.casefold() for x in labels}) == len(labels)
    assert all(len(x) + len(".png") < 80 and SAFE.match(x) for x in labels)


def runs_of(*params: dict) -> list[str]:
    entries = [{**p, "backup_dir": f"run-{i}"} for i, p in enumerate(params)]
    return labels_of(entries, [e["backup_dir"] for e in entries])


def test_tricky_labels() -> None:
    # nothing varies (one run, or identical runs): the run keys
    assert runs_of({"a": 1}) == ["run-0"]
    assert runs_of({"a": 1}, {"a": 1}) == ["run-0", "run-1"]
    # only what varies, in params.json order; a missing key is "none"
    assert runs_of({"b": 1, "a": "x"}, {"b": 2, "a": "x"}, {"a": "x"}) == [
        "b=1", "b=2", "b=none"]
    # 1, 1.0 and "1" differ; made safe, "1" and 1 would collide: the run keys then
    assert runs_of({"a": 1}, {"a": 1.0}, {"a": "1"}) == ["run-0", "a=1.0", "run-2"]
    # separators, spaces, dots: made safe; equal once made safe -> the run keys
    assert runs_of({"a": "x/y"}, {"a": "x y"}, {"a": "../z"}) == ["run-0", "run-1", "a=.-z"]
    # names differing only in case clash on case-insensitive file systems
    assert runs_of({"d": "RPC"}, {"d": "rpc"}, {"d": "cast"}) == ["run-0", "run-1", "d=cast"]
    # a long value: cut, with a hash of the whole label (still unique)
    long = runs_of({"v": "x" * 300}, {"v": "x" * 299 + "y"})
    assert len(set(long)) == 2 and all(len(x) == MAX_LABEL for x in long)
    # "__" only separates parameters; odd keys stay safe
    assert runs_of({"a__b": "c__d", "..": 1}, {"a__b": "e", "..": 2}) == [
        "a_b=c_d__param=1", "a_b=e__param=2"]


VALUES = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False, width=16), st.booleans(),
                   st.none(), st.text(max_size=12), st.sampled_from(["rpc-call", "RPC-CALL",
                                                                     "a/b", "a b", ""]),
                   st.lists(st.integers(0, 2), max_size=2))
KEYS = st.sampled_from(["nbr_clients", "call_type", "a b", "x/y", "_", "..", "k=v", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=4), min_size=1, max_size=8),
       st.lists(st.text(min_size=1, max_size=30), min_size=8, max_size=8, unique=True))
def test_labels_are_unique_safe_and_fall_back_to_the_run_key(params: list[dict],
                                                             dirs: list[str]) -> None:
    dirs = dirs[:len(params)]
    labels = labels_of(params, dirs)
    keys = [run_key(d) for d in dirs]
    if len({k.casefold() for k in keys}) == len(keys):  # run keys themselves distinct
        assert len({x.casefold() for x in labels}) == len(labels)
    for label, key in zip(labels, keys, strict=True):
        assert label == key or (SAFE.match(label) and len(label) <= MAX_LABEL
                                and "/" not in label and ".." not in label)
    identical = all(json.dumps(p, sort_keys=True) == json.dumps(params[0], sort_keys=True)
                    for p in params)
    if identical:  # nothing varies: every run is named by its key
        assert labels == keys
