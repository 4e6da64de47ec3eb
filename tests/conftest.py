"""Shared fixtures: the real example campaign, temp copies of it, a snakemake runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "resources" / "example-campaign"


def run_ids() -> list[str]:
    return [p["backup_dir"] for p in json.loads((EXAMPLE / "params.json").read_text())]


def controller_log(run_folder: Path) -> Path:
    """The controller --output file, found by its name here (not by the product's code)."""
    found = [p for p in run_folder.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def campaign_copy(tmp_path: Path) -> Path:
    """A writable copy of the real example campaign (shared/ and resources/ stay untouched)."""
    dst = tmp_path / "campaign"
    shutil.copytree(EXAMPLE, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    return dst


@dataclass
class SnakemakeResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def job_counts(self) -> dict[str, int]:
        """The 'Job stats' table snakemake prints before running: rule -> job count."""
        counts: dict[str, int] = {}
        lines = self.output.splitlines()
        try:
            start = next(i for i, ln in enumerate(lines) if ln.strip() == "Job stats:")
        except StopIteration:
            return counts
        for ln in lines[start + 3:]:
            parts = ln.split()
            if len(parts) != 2 or not parts[1].isdigit():
                break
            if parts[0] != "total":
                counts[parts[0]] = int(parts[1])
        return counts


def write_config(workdir: Path, campaigns: dict[str, Path], **extra: object) -> Path:
    cfg = {"campaigns": {k: str(v) for k, v in campaigns.items()}, "results_dir": "results"}
    cfg.update(extra)
    path = workdir / "test-config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def snakemake(workdir: Path, configfile: Path, *args: str, cores: int = 2,
              timeout: float = 600, env: dict[str, str] | None = None) -> SnakemakeResult:
    """Run the real snakemake on the repository's Snakefile in ``workdir``."""
    cmd: Sequence[str] = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(configfile),
        "--cores", str(cores), *args,
    ]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return SnakemakeResult(proc.returncode, proc.stdout, proc.stderr)
