"""Per run, the exact round-trip and one-way latency distributions as .hgrm files.

``<results>/<campaign>/hgrm/<label>.rtt.hgrm`` and ``<label>.oneway.hgrm``
(:mod:`ombt_postmortem.hgrm`), from the same per-message samples as the
comparison (:mod:`.samples`: per_message.parquet when kept, else the run's agent
logs). A run without per-message data gets no file and a line in ``hgrm.log``
of the folder (``missing.csv``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import layout
from ..hgrm import write_hgrm_file
from .samples import load_run_samples

RTT_SUFFIX = ".rtt.hgrm"
ONEWAY_SUFFIX = ".oneway.hgrm"
MISSING = "missing.csv"


def write_campaign_hgrms(table: pd.DataFrame, runs_dir: Path, campaign_folder: Path | None,
                         out_dir: Path | str) -> pd.DataFrame:
    """Write the .hgrm files of every run of ``table`` (campaign.parquet); the runs
    without any (run_id, label, reason) are returned and written to missing.csv."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    missing: list[dict[str, str]] = []
    for _, row in table.iterrows():
        run_id, label = str(row["run_id"]), str(row[layout.LABEL])
        s, problems = load_run_samples(runs_dir / layout.run_key(run_id), run_id,
                                       campaign_folder, float("nan"), float("nan"))
        if s is None:
            missing.append({"run_id": run_id, "label": label,
                            "reason": "; ".join(problems) or "no per-message data"})
            continue
        for suffix, smp in ((RTT_SUFFIX, s.rtt), (ONEWAY_SUFFIX, s.oneway)):
            if smp.n:
                write_hgrm_file(smp.values, out / f"{label}{suffix}")
            else:
                missing.append({"run_id": run_id, "label": label,
                                "reason": f"no {suffix.split('.')[1]} sample"})
    frame = pd.DataFrame(missing, columns=["run_id", "label", "reason"])
    frame.to_csv(out / MISSING, index=False)
    return frame
