"""ombt_postmortem.workflow_support.runlock with real processes: a Snakemake lock is called
stale only when no live process holds its share of the owners' lock; the results of a campaign
are held by one process at a time. (End to end with snakemake and SIGKILL:
test_interrupt.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ombt_postmortem.workflow_support import runlock

HOLD = """
import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, getattr(fcntl, sys.argv[2]))
print("held", flush=True)
time.sleep(600)
"""


def holder(path: Path, mode: str) -> subprocess.Popen[str]:
    """Another process holding ``path`` with flock mode ``mode`` (LOCK_SH, LOCK_EX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def in_subprocess(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` run in a fresh process (the locks held by this module's calls are kept
    until their process ends)."""
    code = "from ombt_postmortem.workflow_support import runlock\n" + code
    return subprocess.run([sys.executable, "-c", code],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_a_lock_is_stale_only_when_its_owner_is_dead(tmp_path: Path) -> None:
    locks = tmp_path / ".snakemake/locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/x\n")
    code = f"runlock.hold_workdir({str(tmp_path)!r}, 'snakemake --cores 1 --unlock')"
    owner = holder(tmp_path / runlock.OWNERS_LOCK, "LOCK_SH")  # a live run
    try:
        alive = in_subprocess(code, tmp_path)
    finally:
        owner.kill()
        owner.wait()
    assert alive.returncode == 0, alive.stderr
    dead = in_subprocess(code, tmp_path)  # its owner killed: nobody holds the file
    assert dead.returncode != 0
    assert dead.stderr.strip().splitlines()[-1] == (
        "ombt_postmortem.workflow_support.runlock.StaleLock: "
        f"{locks} holds the lock of a snakemake that is "
        "no longer running (killed by SIGKILL, a node failure or a hard scancel: 1 lock "
        "file(s), and no live run of this workflow here); nothing uses it: run once "
        "`snakemake --cores 1 --unlock`, then this command again")
    assert (locks / "0.input.lock").exists()  # never removed here
    (locks / "0.input.lock").unlink()
    assert in_subprocess(code, tmp_path).returncode == 0  # no lock left: nothing to say


def test_one_writer_per_campaign(tmp_path: Path) -> None:
    runlock.hold_results(tmp_path / "results", ["a"])  # held by this process from now on
    other = in_subprocess(f"runlock.hold_results({str(tmp_path / 'results')!r}, ['b', 'a'])",
                          tmp_path)
    assert other.returncode != 0
    last = other.stderr.strip().splitlines()[-1]
    assert last.startswith("ombt_postmortem.workflow_support.runlock.ResultsInUse: "
                           "the results of campaign 'a' "
                           f"in {tmp_path / 'results'} are being written by another snakemake "
                           f"(pid ")
    assert f"working directory {Path.cwd()}" in last
    # another campaign is free
    assert in_subprocess(f"runlock.hold_results({str(tmp_path / 'results')!r}, ['b'])",
                         tmp_path).returncode == 0


@pytest.mark.parametrize(("argv", "want"), [
    (["/x/.venv/lib/python3.11/site-packages/snakemake/__main__.py", "--cores", "2", "a b"],
     f"{sys.executable} -m snakemake --cores 2 'a b' --unlock"),
    ([".venv/bin/snakemake", "--configfile", "c.yaml"],
     ".venv/bin/snakemake --configfile c.yaml --unlock"),
])
def test_the_unlock_command_is_the_runs_own(argv: list[str], want: str) -> None:
    assert runlock.unlock_command(argv) == want
