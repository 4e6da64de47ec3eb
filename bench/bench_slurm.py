#!/usr/bin/env python3
"""The bundled example through SLURM next to the local run (docs/benchmarks.md).

Each repetition, interleaved, in a fresh working directory (the example's 8 runs, all
of `rule all`: table, figures):

- ``local``: ``.venv/bin/python -m snakemake --cores 2`` (README's local command);
- ``slurm``: the README's cluster command plus the ``--cores`` its first line asks for
  on a 2-CPU node: ``.venv-slurm/bin/python -m snakemake --profile profiles/slurm
  --cores 2`` (submission by submission, the status checks of the plugin, squeue here).

Measured from the start of the command: ``to_table`` (the campaign table's mtime) and
``to_exit`` (snakemake exited, figures done). Needs a cluster (ci/slurm-up.sh) and the
plugin's venv (ci/slurm-venv.sh).

Usage (repository root)::

    .venv/bin/python bench/bench_slurm.py --reps 3 --out bench/results-slurm.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from ombt_postmortem.layout import CAMPAIGN_PARQUET  # noqa: E402

EXAMPLE = REPO / "resources" / "example-campaign"
TABLE = f"results/example/{CAMPAIGN_PARQUET}"


def one(kind: str, root: Path, python_local: str, python_slurm: str) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=root))
    camp = work / "campaign"
    shutil.copytree(EXAMPLE, camp)
    cfg = work / "config.yaml"
    cfg.write_text(f"campaigns:\n  example: {camp}\nresults_dir: results\n")
    env = dict(os.environ)
    env.pop("SNAKEMAKE_PROFILE", None)
    if kind == "local":
        cmd = [python_local, "-m", "snakemake", "--cores", "2"]
    else:
        env["OMBT_SLURM_PARTITION"] = os.environ.get("OMBT_SLURM_PARTITION", "debug")
        env["PATH"] = f"{Path(python_slurm).parent}{os.pathsep}{env['PATH']}"
        cmd = [python_slurm, "-m", "snakemake", "--profile", "profiles/slurm", "--cores", "2"]
    cmd += ["--directory", str(work), "--configfile", str(cfg)]
    load = os.getloadavg()[0]
    t0 = time.time()
    with (work / "snakemake.log").open("w") as out:
        rc = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
                            timeout=1800, check=False).returncode
    t_exit = time.time() - t0
    table = work / TABLE
    row = {"kind": kind, "rc": rc, "to_exit_s": round(t_exit, 2),
           "to_table_s": round(table.stat().st_mtime - t0, 2) if table.exists() else None,
           "load1_at_start": round(load, 2)}
    shutil.rmtree(work, ignore_errors=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--python-local", default=str(REPO / ".venv" / "bin" / "python"))
    ap.add_argument("--python-slurm", default=os.environ.get(
        "OMBT_SLURM_PYTHON", str(REPO / ".venv-slurm" / "bin" / "python")))
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    rows = []
    try:
        for rep in range(args.reps):
            for kind in ("local", "slurm"):
                row = {"rep": rep, **one(kind, root, args.python_local, args.python_slurm)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {}
    for kind in ("local", "slurm"):
        for key in ("to_table_s", "to_exit_s"):
            vals = [r[key] for r in rows if r["kind"] == kind and r[key] is not None]
            if vals:
                summary[f"{kind}.{key}"] = {"median": statistics.median(vals),
                                            "min": min(vals), "max": max(vals), "n": len(vals)}
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
