"""compare: in the config, as the workflow reads it (ombt_postmortem.compare_spec)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ombt_postmortem.compare_spec import comparison_dir, outputs, resolve_sides

CAMPAIGNS = {"before": Path("/data/a"), "after": Path("/data/b")}


def test_nothing_to_compare() -> None:
    assert resolve_sides({}, CAMPAIGNS, "results") is None
    assert outputs("results", None, False, CAMPAIGNS, "png") == []
    assert outputs("results", None, True, CAMPAIGNS, "png") == [
        "results/before/hgrm", "results/after/hgrm"]


def test_two_campaigns_of_the_config() -> None:
    sides = resolve_sides({"baseline": "before", "candidate": "after"}, CAMPAIGNS, "res")
    assert sides is not None
    assert [(s.name, s.results, s.folder) for s in sides] == [
        ("before", "res/before", "/data/a"), ("after", "res/after", "/data/b")]
    assert comparison_dir("res", sides) == "res/comparison/before_vs_after"
    assert outputs("res", sides, False, CAMPAIGNS, "svg") == [
        "res/comparison/before_vs_after/deltas.parquet",
        "res/comparison/before_vs_after/forest.svg"]


def test_a_results_folder_analysed_before(tmp_path: Path) -> None:
    old = tmp_path / "old-run"
    old.mkdir()
    with pytest.raises(ValueError, match="compare.baseline: .*neither a campaign"):
        resolve_sides({"baseline": str(old), "candidate": "after"}, CAMPAIGNS, "res")
    (old / "campaign.parquet").write_bytes(b"")
    base, cand = resolve_sides({"baseline": str(old), "candidate": "after"}, CAMPAIGNS,
                               "res") or ()
    assert (base.name, base.results, base.folder) == ("old-run", str(old), None)
    assert cand.name == "after"


@pytest.mark.parametrize(("cfg", "message"), [
    ({"baseline": "before"}, "both baseline and candidate"),
    ({"candidate": "after"}, "both baseline and candidate"),
    ({"baseline": "before", "candidate": "before"}, "the same campaign"),
    ({"baseline": "nope", "candidate": "after"}, "'nope' is neither"),
])
def test_config_errors_name_the_key(cfg: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_sides(cfg, CAMPAIGNS, "results")
