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
    found = _classify(path)
    return found if isinstance(found, AgentLog) else None


def _classify(path: Path) -> AgentLog | str | None:
    """The agent log at ``path``; else why it is none when that must be said (an
    empty or binary file: a log the agent never wrote, or damaged), else None (a
    text file of another kind). Raises OSError when the file cannot be read."""
    with path.open("rb") as f:
        head = f.read(FIRST_LINE_MAX)
    first = head.split(b"\n", 1)[0].strip()
    obj = None
    if first.startswith(b"{"):
        try:
            obj = json.loads(first)
        except ValueError:
            obj = None
    if isinstance(obj, dict) and obj.get("kind") in KINDS:
        name = obj.get("client-name")
        return AgentLog(path=path, kind=str(obj["kind"]),
                        name=name if isinstance(name, str) else "")
    if not head:
        return "empty (0 bytes)"
    if _binary(head):
        return "binary"
    return None


def _binary(head: bytes) -> bool:
    """A NUL byte, or no UTF-8 text, in the first 4 KiB (a last character cut by the
    4 KiB is not counted against it)."""
    chunk = head[:4096]
    if b"\0" in chunk:
        return True
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(chunk) - 3
    return False


def scan_agent_logs(folder: Path, run: str = "") -> tuple[list[AgentLog], list[str]]:
    """Agent logs of ``folder`` sorted by file name, and one problem line per
    candidate file that could not be read (``run`` names the run in it)."""
    found = scan_folder(folder, run)
    return found.logs, found.problems


def scan_folder(folder: Path, run: str = "") -> Discovery:
    """:func:`discover` over the candidate files of ``folder`` (none if it is missing)."""
    try:
        entries = sorted(p for p in folder.iterdir() if is_candidate(p) and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return Discovery([], [], [])
    return discover(entries, run)


def read_agent_logs(candidates: Sequence[Path], run: str = "") -> tuple[list[AgentLog], list[str]]:
    """The agent logs among ``candidates`` (told by their first line), sorted by file
    name, and one problem line per file that could not be read."""
    found = discover(candidates, run)
    return found.logs, found.problems


@dataclass
class Discovery:
    """The agent logs among a run's candidate files, and what to say of the others."""

    logs: list[AgentLog]
    problems: list[str]  # unreadable files, one line each
    notes: list[str]  # empty or binary files: named, not read as agent logs


def discover(candidates: Sequence[Path], run: str = "") -> Discovery:
    """The agent logs among ``candidates`` (told by their first line), sorted by file
    name; one problem line per file that could not be read, one note per empty or
    binary file (such a log must not vanish without a word)."""
    out = Discovery([], [], [])
    for p in sorted(candidates, key=lambda c: c.name):
        try:
            found = _classify(p)
        except OSError as exc:
            out.problems.append(RunDataError(run, p, f"cannot read: {exc.strerror or exc}")
                                .one_line())
            continue
        if isinstance(found, AgentLog):
            out.logs.append(found)
        elif found is not None:
            out.notes.append(RunDataError(run, None, f"{p.name} ({found}) not read as an "
                                          "agent log").one_line())
    return out


def find_agent_logs(folder: Path) -> list[AgentLog]:
    """Agent logs of ``folder`` sorted by file name (unreadable files left out;
    :func:`scan_agent_logs` also reports them)."""
    return scan_agent_logs(folder)[0]
