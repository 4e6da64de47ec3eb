"""The rest of an ombt-orchestrator backup (issue 20, item 6): the network check
(enoslib's ``<host>.out`` fping files) as net_* columns, the brokers' log tarballs
never read, run folders params.json does not name listed as not analysed, and
params.json's agent counts against the controller's. Expected values come from the
samples written here, never from the product's parser."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, controller_log, run_ids, snakemake, write_config

from ombt_postmortem.backup import CampaignScan, scan_run, unlisted_run_folders
from ombt_postmortem.campaign import build_table, problems_summary
from ombt_postmortem.layout import BACKUP_NOTES
from ombt_postmortem.messages import analyse_messages
from ombt_postmortem.ombt.run import analyse_run
from ombt_postmortem.params import Run

RUN = run_ids()[2]  # 4 clients, 2 servers

# (target, round trips in ms, None: no reply) per host file, as fping -C 10 gives them
SAMPLES: dict[str, list[tuple[str, list[float | None]]]] = {
    "enos-bus-0": [
        ("10.158.0.3", [0.05, 0.04, 0.04, 0.05, 0.04, 0.03, 0.04, 0.05, 0.04, 0.04]),
        ("10.158.0.11", [10.52, 10.48, None, 10.51, 10.49, 10.50, 10.47, 10.52, 10.50, 10.49]),
        ("10.158.0.12", [10.61, 10.58, 10.57, None, None, 10.60, 10.55, 10.59, 10.56, 12.3]),
    ],
    "enos-client-0": [
        ("10.158.0.3", [10.44, 10.45, 10.43, 10.47, 10.41, 10.46, 10.44, 10.45, 10.43, 10.42]),
        ("10.158.0.11", [0.03, 0.03, 0.04, 0.03, 0.03, 0.04, 0.03, 0.03, 0.03, 0.04]),
        ("10.158.0.12", [None] * 10),
    ],
}


def fping_text(lines: list[tuple[str, list[float | None]]]) -> str:
    """What ``fping -C 10 -q -s -e`` writes to stderr: one line per target (the name
    padded to the longest), noise lines, then the -s summary."""
    width = max(len(t) for t, _ in lines)
    out = ["ICMP Host Unreachable from 10.158.0.11 for ICMP Echo sent to 10.158.0.12",
           "10.158.0.3 : duplicate for [2], 84 bytes, 0.06 ms"]
    for target, samples in lines:
        out.append(f"{target:<{width}} :" + "".join(" -" if s is None else f" {s:.2f}"
                                                   for s in samples))
    out += ["", "       3 targets", "       2 alive", "       1 unreachable", "",
            "      30 ICMP Echos sent", "      0.03 ms (min round trip time)",
            "      10.9 ms (avg round trip time)", "        9.012 sec (elapsed real time)", ""]
    return "\n".join(out)


def write_checks(folder: Path, samples=SAMPLES) -> None:
    for host, lines in samples.items():
        (folder / f"{host}.out").write_text(fping_text(lines))


def expected(samples=SAMPLES) -> dict[str, float]:
    values = [s for lines in samples.values() for _, ss in lines for s in ss]
    got = [s for s in values if s is not None]
    return {"net_rtt_ms_min": min(got), "net_rtt_ms_mean": statistics.fmean(got),
            "net_rtt_ms_max": max(got),
            "net_loss_pct": 100 * sum(s is None for s in values) / len(values)}


@pytest.fixture
def run_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "campaign" / RUN
    shutil.copytree(EXAMPLE / RUN, dst)
    return dst


# --------------------------------------------------------------------------- network check


def test_network_check_columns_equal_the_samples_written(run_copy: Path) -> None:
    write_checks(run_copy)
    summary = analyse_run(run_copy, RUN).summary
    want = expected()
    assert want["net_loss_pct"] == pytest.approx(100 * 13 / 60)
    for col, value in want.items():
        assert summary[col] == pytest.approx(value, rel=1e-12), col
    assert summary[BACKUP_NOTES] == "" and summary["status"] == "ok"
    found = scan_run(run_copy.parent, RUN)
    assert found.net_checks == tuple(sorted(run_copy.resolve() / f"{h}.out" for h in SAMPLES))
    assert CampaignScan(run_copy.parent).scan(RUN) == found


def test_no_network_check_is_nan_and_a_note(run_copy: Path) -> None:
    summary = analyse_run(run_copy, RUN).summary
    assert all(math.isnan(summary[c]) for c in expected())
    assert summary[BACKUP_NOTES] == (f"run {RUN}: no network check (<host>.out of enoslib's "
                                     "validate_network) in the backup: net_* columns NaN")
    assert summary["status"] == "ok" and summary["problems"] == ""


def test_a_check_without_fping_line_is_left_out_with_a_note(run_copy: Path) -> None:
    write_checks(run_copy, {"enos-bus-0": SAMPLES["enos-bus-0"]})
    (run_copy / "enos-client-0.out").write_text("fping: can't create socket\n")
    summary = analyse_run(run_copy, RUN).summary
    for col, value in expected({"enos-bus-0": SAMPLES["enos-bus-0"]}).items():
        assert summary[col] == pytest.approx(value, rel=1e-12), col
    assert summary[BACKUP_NOTES] == (f"run {RUN} (enos-client-0.out): network check holds "
                                     "no fping -C line: left out")
    assert summary["status"] == "ok"


def test_every_ping_lost(run_copy: Path) -> None:
    write_checks(run_copy, {"h": [("10.0.0.1", [None] * 10), ("10.0.0.2", [None] * 10)]})
    summary = analyse_run(run_copy, RUN).summary
    assert summary["net_loss_pct"] == 100.0 and math.isnan(summary["net_rtt_ms_mean"])
    assert "none of its 20 pings answered" in summary[BACKUP_NOTES]


# --------------------------------------------------------------------------- broker logs


def _broker_tarball(folder: Path, host: str, agent: str) -> Path:
    """``<host>_oo-<id>-logs.tar.gz`` as roles/rabbitmq/tasks/backup.yml writes it: the
    broker's log folder, a ``.log`` inside."""
    src = folder.parent / f"oo-{agent}-logs"
    src.mkdir()
    (src / "rabbit@bus.log").write_text("=INFO REPORT==== 4-May-2018::10:00:00 ===\n")
    tar = folder / f"{host}_oo-{agent}-logs.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(src, arcname=src.name)
    return tar


def test_broker_log_tarballs_are_never_read(run_copy: Path) -> None:
    before = scan_run(run_copy.parent, RUN)
    msgs_before = analyse_messages(run_copy, RUN).summary
    tars = [_broker_tarball(run_copy, "enos-bus-0", "rabbitmq-0"),
            _broker_tarball(run_copy, "enos-bus-1", "qdr-router-1")]
    # a broker's .log under a name like an agent's: told apart by its content
    fake = run_copy / "enos-bus-0_rpc-client-9-topic-0-abc.log"
    fake.write_text("2018-05-04 10:00:00.000 [info] <0.33.0> Application lager started\n")
    after = scan_run(run_copy.parent, RUN)
    for tar in tars:
        assert tar not in after.controller_logs + after.other_logs + after.net_checks
        assert after.influx_tar != tar
    assert after.controller_logs == before.controller_logs
    assert after.influx_tar == before.influx_tar
    assert after.other_logs == tuple(sorted((*before.other_logs, fake.resolve())))
    msgs = analyse_messages(run_copy, RUN).summary
    assert msgs["msg_clients_logged"] == msgs_before["msg_clients_logged"] == 4
    assert msgs == pytest.approx(msgs_before, nan_ok=True)
    stats = analyse_run(run_copy, RUN)
    assert stats.status == "ok" and stats.summary["controller_files"] == \
        controller_log(run_copy).name


# ----------------------------------------------------------------- folders params.json omits


def _failed_runs(campaign: Path) -> dict[str, str]:
    """Folders ombt-orchestrator may leave: a run that failed after the network check
    (only <host>.out), one that failed after the backup; and folders that are no run."""
    (campaign / "failed-early").mkdir()
    write_checks(campaign / "failed-early", {"enos-bus-0": SAMPLES["enos-bus-0"]})
    shutil.copytree(campaign / run_ids()[0], campaign / "failed-late")
    (campaign / "sweeps").mkdir()
    (campaign / "sweeps" / "done").write_text("[]")
    (campaign / "empty").mkdir()
    (campaign / "link").symlink_to(campaign / "failed-late")
    return {"failed-early": "a network check (<host>.out)",
            "failed-late": "a controller log, influxdb-data.tar.gz"}


def test_unlisted_run_folders(tmp_path: Path) -> None:
    campaign = tmp_path / "c"
    shutil.copytree(EXAMPLE, campaign)
    want = _failed_runs(campaign)
    if not (campaign / "failed-late" / "influxdb-data.tar.gz").is_file():
        want["failed-late"] = "a controller log"
    got = unlisted_run_folders(campaign, run_ids())
    assert {u.name: u.holds for u in got} == want
    assert got[0].reason() == ("folder 'failed-early' holds a network check (<host>.out) but "
                               "params.json names no run in it: not analysed "
                               "(ombt-orchestrator lists only the runs that succeeded: a "
                               "failed run?)")
    # a run listed through another spelling of its folder is listed
    assert [u.name for u in unlisted_run_folders(campaign, [*run_ids(), "./failed-late/"])] \
        == ["failed-early"]


# ------------------------------------------------------------ params.json's agent counts


def _row(params: dict, n_clients: int, n_servers: int) -> dict:
    run = Run(key="r", run_id="r", params={"backup_dir": "r", **params})
    ombt = {"r": {"status": "ok", "problems": "", "n_clients": n_clients,
                  "n_servers": n_servers, BACKUP_NOTES: ""}}
    return build_table([run], ombt).to_dict("records")[0]


def test_params_counts_that_differ_from_the_controller_are_noted() -> None:
    assert _row({"nbr_clients": 4, "nbr_servers": 2}, 4, 2)[BACKUP_NOTES] == ""
    row = _row({"nbr_clients": 10, "nbr_servers": 2}, 8, 2)
    assert row["n_clients"] == 8 and row["nbr_clients"] == 10
    assert row[BACKUP_NOTES] == ("run r: params.json's nbr_clients is 10, the controller "
                                 "files count 8 clients (the table's n_clients)")
    inc = _row({"nbr_clients": 2, "nbr_servers": 0, "iteration_id": "A-1"}, 4, 2)
    notes = inc[BACKUP_NOTES].split("; ")
    assert len(notes) == 2 and all("incremental mode" in n and "deltas" in n for n in notes)
    assert "nbr_servers is 0, the controller files count 2 servers" in notes[1]


# --------------------------------------------------------------------------- the workflow


def test_workflow_columns_notes_and_unlisted_folders(tmp_path: Path) -> None:
    """Real snakemake: the net_* columns and notes reach the campaign table, a folder
    params.json does not name is in problems.csv and in the end summary, and the
    brokers' tarballs change nothing."""
    campaign = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, campaign)
    runs = run_ids()
    write_checks(campaign / runs[0])
    _broker_tarball(campaign / runs[0], "enos-bus-0", "rabbitmq-0")
    _failed_runs(campaign)
    params = json.loads((campaign / "params.json").read_text())
    params[1]["nbr_clients"] = 7  # the controller counts 2
    (campaign / "params.json").write_text(json.dumps(params))
    cfg = write_config(tmp_path, {"ex": campaign}, influx={"enabled": False})
    res = snakemake(tmp_path, cfg, "results/ex/campaign.parquet", cores=2)
    assert res.returncode == 0, res.output
    table = pd.read_parquet(tmp_path / "results/ex/campaign.parquet").set_index("run_id")
    for col, value in expected().items():
        assert table.loc[runs[0], col] == pytest.approx(value, rel=1e-12), col
        assert table.loc[runs[1:], col].isna().all()
    assert table.loc[runs[0], BACKUP_NOTES] == ""
    assert (table["status"] == "ok").all()
    assert table.loc[runs[1], BACKUP_NOTES] == (
        f"run {runs[1]}: no network check (<host>.out of enoslib's validate_network) in the "
        f"backup: net_* columns NaN; run {runs[1]}: params.json's nbr_clients is 7, the "
        "controller files count 2 clients (the table's n_clients)")
    problems = pd.read_csv(tmp_path / "results/ex/problems.csv", keep_default_na=False)
    assert problems["run_id"].tolist() == ["failed-early", "failed-late"]
    assert (problems["status"] == "not analysed").all()
    assert problems["problems"].str.contains("params.json names no run in it").all()
    summary = [ln for ln in res.output.splitlines() if ln.startswith("ombt-postmortem:")]
    problems_csv = Path("results") / "ex" / "problems.csv"
    assert f"ombt-postmortem: campaign ex: 2 run folder(s) that params.json does not name " \
        f"not analysed (failed runs?): failed-early, failed-late; see {problems_csv}" in summary
    assert problems_summary(tmp_path / "results", ["ex"])[-1].startswith(
        "campaign ex: 2 run folder(s) that params.json does not name")


# ------------------------------------------------------------- a backup without agent logs


def test_no_agent_logs_gives_a_note_and_no_empty_message_figure(tmp_path: Path) -> None:
    """ombt-orchestrator's agents get no --output: a note per run, no fault, and the
    message figures are skipped (with the reason), none drawn empty."""
    from ombt_postmortem.figures.messages import latency_nines, message_timelines
    from ombt_postmortem.messages import write_messages

    campaign = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, campaign)
    runs = [Run(key=r, run_id=r, params={"backup_dir": r, "nbr_clients": 1}) for r in run_ids()]
    ombt, messages, timelines = {}, {}, {}
    for run in runs:
        folder = campaign / run.run_id
        for p in folder.glob("*.log"):  # the agents' logs, by their first line here
            if p.read_text().startswith('{"client-name"'):
                p.unlink()
        ombt[run.run_id] = analyse_run(folder, run.run_id).summary
        result = analyse_messages(folder, run.run_id)
        assert result.problems == []
        assert result.summary["msg_notes"] == (
            f"run {run.run_id}: no per-message logs in the backup (ombt writes them only "
            "for RPC agents run with --output, which ombt-orchestrator does not give)")
        paths = (tmp_path / f"{run.key}-m.parquet", tmp_path / f"{run.key}-t.parquet")
        write_messages(result, *paths)
        messages[run.run_id] = pd.read_parquet(paths[0]).to_dict("records")[0]
        timelines[run.run_id] = paths[1]
    table = build_table(runs, ombt, None, messages)
    assert (table["status"] == "ok").all() and (table["msg_sent"] == 0).all()
    nines = latency_nines(table, tmp_path / "nines")
    assert nines.written == [] and len(nines.skipped) >= 1
    assert all("no per-message latency" in why for _, why in nines.skipped)
    tls = message_timelines(table, timelines, tmp_path / "timelines")
    assert tls.written == [] and len(tls.skipped) == len(runs)
    assert not list((tmp_path / "nines").glob("*.png"))
    assert not list((tmp_path / "timelines").glob("*.png"))


def test_a_params_key_named_backup_notes_is_kept_apart() -> None:
    row = _row({"nbr_clients": 3, "backup_notes": "mine"}, 4, 2)
    assert row["param_backup_notes"] == "mine"
    assert row[BACKUP_NOTES].startswith("run r: params.json's nbr_clients is 3")
