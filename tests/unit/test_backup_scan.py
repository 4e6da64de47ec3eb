"""CampaignScan (the workflow's per-campaign scan of the runs' folders) finds what
scan_run finds, run by run, hostile run ids included; and what it finds is the run
folder's files as listed here independently (glob by name)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import EXAMPLE, controller_log, run_ids
from test_security import HOSTILE_IDS

from ombt_postmortem.backup import CampaignScan, scan_run


def test_example_campaign_same_files_as_scan_run_and_as_listed_here() -> None:
    scan = CampaignScan(EXAMPLE)
    for run_id in run_ids():
        found = scan.scan(run_id)
        assert found == scan_run(EXAMPLE, run_id)
        folder = EXAMPLE / run_id
        assert found.problem is None and found.folder == folder.resolve()
        assert found.controller_logs == (controller_log(folder).resolve(),)
        tar = folder / "influxdb-data.tar.gz"
        assert found.influx_tar == (tar.resolve() if tar.is_file() else None)
        others = sorted(p.resolve() for p in folder.glob("*.log")
                        if not p.name.endswith("_docker.log") and p != controller_log(folder))
        assert list(found.other_logs) == others


def _hostile_campaign(tmp_path: Path) -> tuple[Path, list[str]]:
    """A campaign folder reached through a symbolic link, holding plain run folders,
    links inside and outside, a file where a folder should be, nested folders."""
    real = tmp_path / "real-campaign"
    real.mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "h_controller-0.log").write_text("stolen\n")
    for name in ("plain", "with space; 'q'", "-rf", "inner", "nested/run"):
        (real / name).mkdir(parents=True)
        (real / name / "h_controller-0.log").write_text("x\n")
        (real / name / "h_controller-0_docker.log").write_text("x\n")
        (real / name / "agent.log").write_text("x\n")
    (real / "plain" / "influxdb-data.tar.gz").write_bytes(b"")
    (real / "evil").symlink_to(tmp_path / "secret")
    (real / "fine").symlink_to(real / "inner")
    (real / "a-file").write_text("not a folder\n")
    camp = tmp_path / "campaign"
    camp.symlink_to(real)
    (real / "params.json").write_text(json.dumps([]))
    ids = ["plain", "with space; 'q'", "-rf", "inner", "nested/run", "nested/../plain",
           "evil", "fine", "a-file", "gone", *HOSTILE_IDS]
    return camp, ids


def test_hostile_and_odd_run_ids_same_result_as_scan_run(tmp_path: Path) -> None:
    camp, ids = _hostile_campaign(tmp_path)
    scan = CampaignScan(camp)
    results = {run_id: scan.scan(run_id) for run_id in ids}
    for run_id, found in results.items():
        assert found == scan_run(camp, run_id), run_id
    real = camp.resolve()
    # nothing found outside the campaign: refused, with the run named
    assert results["evil"].folder is None and results["evil"].controller_logs == ()
    assert "leads outside the campaign folder" in (results["evil"].problem or "")
    for run_id in HOSTILE_IDS:
        assert results[run_id].folder is None or results[run_id].folder.is_relative_to(real)
    # plain folders: their files, under the campaign's real folder
    assert results["plain"].folder == real / "plain"
    assert results["plain"].controller_logs == (real / "plain" / "h_controller-0.log",)
    assert results["plain"].other_logs == (real / "plain" / "agent.log",)
    assert results["plain"].influx_tar == real / "plain" / "influxdb-data.tar.gz"
    assert results["fine"].folder == real / "inner"  # a link inside: followed, as scan_run
    assert results["nested/run"].folder == real / "nested" / "run"
    for missing in ("gone", "a-file"):
        assert "run folder missing" in (results[missing].problem or ""), missing


def test_no_campaign_folder_every_run_reported_missing(tmp_path: Path) -> None:
    scan = CampaignScan(tmp_path / "nowhere")
    found = scan.scan("r1")
    assert found == scan_run(tmp_path / "nowhere", "r1")
    assert "run folder missing" in (found.problem or "")
    assert not os.path.exists(tmp_path / "nowhere")
