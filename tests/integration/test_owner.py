"""The one "is this temp folder's / container's owner still alive" check (issue 12, item 5)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from ombt_postmortem.influx import owner
from ombt_postmortem.influx.restore import PRIVATE_PREFIX, private_dir, sweep_stale


def proc_start(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat, read here independently of the product."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()[19]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_alive() -> None:
    me = os.getpid()
    assert owner.start_time(me) == proc_start(me)
    assert owner.me() == (socket.gethostname(), me, proc_start(me))
    assert owner.alive(me, proc_start(me))
    assert owner.alive(me, None)  # start unknown: the pid decides
    assert not owner.alive(me, str(int(proc_start(me)) + 1))  # same pid, another process
    assert owner.alive(1, None)  # another user's process still counts as alive
    assert not owner.alive(dead_pid(), None)
    assert not owner.alive(0, None) and not owner.alive(-1, None)  # never a process group
    assert owner.start_time(dead_pid()) is None


def test_restore_folders_are_swept_by_the_same_rule(tmp_path: Path) -> None:
    mine = private_dir(tmp_path)
    record = mine / ".ombt-postmortem-owner"
    host, pid, start = record.read_text().split()
    assert (host, int(pid), start) == (socket.gethostname(), os.getpid(), proc_start(os.getpid()))
    dead = tmp_path / f"{PRIVATE_PREFIX}dead"
    dead.mkdir()
    (dead / record.name).write_text(f"{host} {dead_pid()} ?\n")
    reused = tmp_path / f"{PRIVATE_PREFIX}reused"
    reused.mkdir()
    (reused / record.name).write_text(f"{host} {os.getpid()} {int(start) + 1}\n")
    elsewhere = tmp_path / f"{PRIVATE_PREFIX}elsewhere"
    elsewhere.mkdir()
    (elsewhere / record.name).write_text(f"{host}-other {dead_pid()} ?\n")
    assert sorted(sweep_stale(tmp_path)) == sorted([dead, reused])
    assert mine.exists() and elsewhere.exists() and not dead.exists() and not reused.exists()
