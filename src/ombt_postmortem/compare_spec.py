"""What the workflow's compare rules need when Snakemake reads them: light (no pandas).

``compare.baseline`` / ``compare.candidate`` name a campaign of ``campaigns``
(its backup folder is then known: its agent logs give the per-message samples)
or the results folder of a campaign analysed before (``results/<name>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import layout


@dataclass(frozen=True)
class CompareSide:
    name: str  # the campaign's name: its results folder's name
    results: str  # <results>/<name>
    folder: str | None  # the campaign's backup folder, when it is one of `campaigns`


def resolve_side(ref: str, key: str, campaigns: Mapping[str, Path], results: str) -> CompareSide:
    """The side ``compare.<key>`` = ``ref``; ValueError naming the key if it is neither."""
    if ref in campaigns:
        return CompareSide(ref, f"{results}/{ref}", str(campaigns[ref]))
    path = Path(ref)
    if not (path / layout.CAMPAIGN_PARQUET).is_file():
        raise ValueError(f"compare.{key}: {ref!r} is neither a campaign of `campaigns` "
                         f"({', '.join(campaigns)}) nor a results folder holding "
                         f"{layout.CAMPAIGN_PARQUET}")
    return CompareSide(path.name, str(path), None)


def resolve_sides(cfg: Mapping[str, Any], campaigns: Mapping[str, Path], results: str,
                  ) -> tuple[CompareSide, CompareSide] | None:
    """(baseline, candidate), or None when the config compares nothing."""
    base, cand = cfg.get("baseline"), cfg.get("candidate")
    if bool(base) != bool(cand):
        raise ValueError("compare: give both baseline and candidate (or neither)")
    if not base:
        return None
    b = resolve_side(str(base), "baseline", campaigns, results)
    c = resolve_side(str(cand), "candidate", campaigns, results)
    if b.name == c.name:
        raise ValueError(f"compare: baseline and candidate are the same campaign {b.name!r}")
    return b, c


def comparison_dir(results: str, sides: tuple[CompareSide, CompareSide]) -> str:
    """``<results>/comparison/<baseline>_vs_<candidate>``."""
    return f"{results}/{layout.COMPARISON}/{sides[0].name}_vs_{sides[1].name}"


def outputs(results: str, sides: tuple[CompareSide, CompareSide] | None, hgrm: bool,
            campaigns: Mapping[str, Path], fmt: str) -> list[str]:
    """What `rule all` asks of the compare rules."""
    out: list[str] = []
    if sides:
        d = comparison_dir(results, sides)
        out += [f"{d}/deltas.parquet", f"{d}/forest.{fmt}"]
    if hgrm:
        out += [f"{results}/{name}/{layout.HGRM_DIR}" for name in campaigns]
    return out
