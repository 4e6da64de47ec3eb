"""What the benches share: timing a command's process tree, numbers as median [min-max],
the machine and its load, a synthetic campaign, and one record format.

A bench imports it as ``import common`` (it sits next to them; Python puts the
script's folder first on ``sys.path``). The library is imported from the installed
package (``make setup`` installs this checkout, editable).

Record format (``bench/results/<bench>.json``, written by :func:`write_record`)::

    {"format": 3, "bench": "<name>", "argv": [...], "commit": "<short>[+dirty]",
     "started": "<UTC ISO>", "machine": {...}, "load_start": [1, 5, 15 min],
     "load_end": [...], "rows": [{...one measured sample or summary row...}, ...]}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
RESULTS = REPO / "bench" / "results"
FORMAT = 3
#: Snakemake's touch executor without its 0.1 s sleep per job: run as
#: ``python -c TOUCH <snakemake args>`` to time the scheduler alone
TOUCH = """\
import sys
import snakemake.executors.touch as touch
touch.Executor.SLEEPING_TIME = 0  # no 0.1 s sleep per touched job
from snakemake.cli import main
sys.argv[0] = "snakemake"
main()
"""


@dataclass(frozen=True)
class Timed:
    """Wall time and CPU (user + sys) of a command's whole process tree, seconds."""

    wall: float
    cpu: float


def timed(cmd: Sequence[str], *, cwd: Path | None = None, log: Path | None = None,
          env: dict[str, str] | None = None) -> Timed:
    """Run ``cmd`` to its end (its output to ``log``, or discarded); a failure raises
    with the end of its output. CPU is RUSAGE_CHILDREN's growth: the processes it
    waited for, so every descendant that was reaped (influxd included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = proc.stdout + proc.stderr
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {shlex.join(map(str, cmd))}\n{out}")
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(map(str, cmd))}"
                           f"\n{out[-3000:]}")
    return Timed(wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def fmt(values: Iterable[float | None], digits: int = 2) -> str:
    """``median [min-max]``; the value alone for one sample, ``-`` for none."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} [{min(vals):.{digits}f}-{max(vals):.{digits}f}]"


def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout \
            .strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip()
                   for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    try:
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        mem = "unknown"
    return {"cores": str(os.cpu_count()), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "snakemake": _version([PY, "-m", "snakemake", "--version"]),
            "influxd": _version(["influxd", "version"])}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit(tree: Path = REPO) -> str:
    """The short commit of ``tree``, ``+dirty`` when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "diff", "--quiet", "HEAD"]).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def synth(dest: Path, *args: str) -> float:
    """``ombt-postmortem synth DEST ARGS --overwrite``; returns its wall time."""
    t = time.monotonic()
    subprocess.run([PY, "-m", "ombt_postmortem.cli", "synth", str(dest), *args, "--overwrite"],
                   check=True, capture_output=True)
    return time.monotonic() - t


class Record:
    """One bench run's record: started now, rows added, written with the end load."""

    def __init__(self, bench: str) -> None:
        self.data: dict[str, Any] = {
            "format": FORMAT, "bench": bench, "argv": sys.argv[1:], "commit": git_commit(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(), "load_start": load(), "rows": []}

    def add(self, **row: Any) -> None:
        self.data["rows"].append(row)

    def write(self, path: Path | None = None) -> Path:
        self.data["load_end"] = load()
        path = path or RESULTS / f"{self.data['bench']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.data, indent=1) + "\n")
        return path

    def header(self) -> str:
        m = self.data["machine"]
        return (f"commit {self.data['commit']}, {m['cores']} CPUs ({m['cpu']}), "
                f"snakemake {m['snakemake']}, load {self.data['load_start']} at the start, "
                f"{load()} at the end")
