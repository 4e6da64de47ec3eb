"""Find the ombt agents' own ``--output`` logs of a run folder.

An agent log is a ``*.log`` of the run folder whose FIRST line is a JSON object
with ``"kind"`` ``RPCClient`` or ``RPCServer`` (ombt writes
``{"client-name": ..., "kind": ...}``). The file name is not trusted: only the
``*_docker.log`` human text and the controller ``--output`` files are skipped
without being opened. Notifier/listener agents write no per-message lines in
ombt 3.0.0 and are not listed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..backup import is_agent_log_candidate as is_candidate
from ..errors import RunDataError

#: ombt agent kind -> side
KINDS = {"RPCClient": "client", "RPCServer": "server"}
#: bytes read to find the first line (ombt's is ~120 bytes)
FIRST_LINE_MAX = 64 * 1024


@dataclass(frozen=True)
class AgentLog:
    """One agent's per-message log."""

    path: Path
    kind: str  # RPCClient or RPCServer
    name: str  # the agent's "client-name" ("" when absent)

    @property
    def side(self) -> str:
        return KINDS[self.kind]


def read_header(path: Path) -> AgentLog | None:
    """The agent log at ``path``, or None when its first line is no agent header.

    Raises OSError when the file cannot be read.
    """
    with path.open("rb") as f:
        head = f.read(FIRST_LINE_MAX)
    first = head.split(b"\n", 1)[0].strip()
    if not first.startswith(b"{"):
        return None
    try:
        obj = json.loads(first)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
        return None
    name = obj.get("client-name")
    return AgentLog(path=path, kind=str(obj["kind"]), name=name if isinstance(name, str) else "")


def scan_agent_logs(folder: Path, run: str = "") -> tuple[list[AgentLog], list[str]]:
    """Agent logs of ``folder`` sorted by file name, and one problem line per
    candidate file that could not be read (``run`` names the run in it)."""
    try:
        entries = sorted(p for p in folder.iterdir() if is_candidate(p) and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    return read_agent_logs(entries, run)


def read_agent_logs(candidates: Sequence[Path], run: str = "") -> tuple[list[AgentLog], list[str]]:
    """The agent logs among ``candidates`` (told by their first line), sorted by file
    name, and one problem line per file that could not be read."""
    logs: list[AgentLog] = []
    problems: list[str] = []
    for p in sorted(candidates, key=lambda c: c.name):
        try:
            found = read_header(p)
        except OSError as exc:
            problems.append(RunDataError(run, p, f"cannot read: {exc.strerror or exc}")
                            .one_line())
            continue
        if found is not None:
            logs.append(found)
    return logs, problems


def find_agent_logs(folder: Path) -> list[AgentLog]:
    """Agent logs of ``folder`` sorted by file name (unreadable files left out;
    :func:`scan_agent_logs` also reports them)."""
    return scan_agent_logs(folder)[0]
