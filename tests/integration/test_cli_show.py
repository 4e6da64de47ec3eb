"""`ombt-postmortem show` prints what the ombt controller printed for the same run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import EXAMPLE, run_ids

KEEP = re.compile(r"^(Total Messages|Test Interval|Aggregate throughput|Latency|\[\d+\.\.<\d+\)"
                  r"|Error|  ')")


def _blocks(text: str) -> list[str]:
    """The lines from 'Total Messages' to the end of each distribution."""
    out = []
    for m in re.finditer(r"results:\n-+\n(.*?)(?:\n\n|\Z)", text, re.S):
        lines = [ln.rstrip() for ln in m.group(1).splitlines() if KEEP.match(ln)]
        out.append("\n".join(lines))
    return out


@pytest.mark.parametrize("run", run_ids())
def test_show_equals_controller_text(run: str) -> None:
    folder = EXAMPLE / run
    proc = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "show", str(folder)],
                          capture_output=True, text=True, check=True)
    docker = next(folder.glob("*_docker.log")).read_text()
    mine, theirs = _blocks(proc.stdout), _blocks(docker)
    assert len(mine) == 2 and len(theirs) == 2
    assert mine == theirs
    n_clients = len(list(folder.glob("*rpc-client-*.log")))
    n_servers = len(list(folder.glob("*rpc-server-*.log")))
    plural = {1: ""}
    assert (f"{n_clients} client{plural.get(n_clients, 's')}, "
            f"{n_servers} server{plural.get(n_servers, 's')} ") in proc.stdout


def test_show_missing_folder_names_it(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "show",
                           str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "run folder missing" in proc.stderr and "nope" in proc.stderr
