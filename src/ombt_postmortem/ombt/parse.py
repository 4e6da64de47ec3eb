"""Find and parse the ombt controller ``--output`` files of a run folder.

A controller output file holds two JSON lines, ``{agent_id: TestResults}`` for
the clients then for the servers. The ``*_docker.log`` beside it is the human
text of the controller's stdout, and the agents' own logs are per-message JSON
lines: neither is read here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backup import is_controller_output
from ..errors import RunDataError
from ..layout import SIDES


@dataclass
class Latency:
    """ombt's ``Stats`` of one agent (milliseconds); min/max None when no sample."""

    min: float | None = None
    max: float | None = None
    total: float = 0.0
    count: int = 0
    sum_of_squares: float = 0.0
    distribution: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class AgentResult:
    """One agent's TestResults, as one controller file reported it."""

    side: str
    agent_id: str
    controller_file: str
    start_time: float | None
    stop_time: float | None
    msgs_ok: int
    msgs_fail: int
    latency: Latency
    errors: dict[str, int]


@dataclass
class ParsedRun:
    """All agents of a run and the data problems met while reading them."""

    agents: list[AgentResult]
    files: list[Path]
    problems: list[str]


def find_controller_logs(folder: Path) -> list[Path]:
    """Every controller output file of a run folder, sorted by name (one per shard)."""
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    return sorted(p for p in entries if p.is_file() and is_controller_output(p))


def parse_run_folder(folder: Path, run: str) -> ParsedRun:
    """Parse every controller file of ``folder``; data faults become problems.

    Raises RunDataError only when nothing at all can be read (no folder, no
    controller file).
    """
    if not folder.is_dir():
        raise RunDataError(run, folder, "run folder missing")
    return parse_controller_files(find_controller_logs(folder), run, folder)


def parse_controller_files(files: Sequence[Path], run: str, folder: Path | None) -> ParsedRun:
    """Parse the given controller files (one per shard); data faults become problems.

    Raises RunDataError when there is none (``folder`` is named in the reason).
    """
    if not files:
        raise RunDataError(run, folder, "no ombt controller output file "
                           "(<host>_controller-*.log, not *_docker.log) in the run folder")
    agents: list[AgentResult] = []
    problems: list[str] = []
    for path in files:
        found, probs = parse_controller_log(path, run)
        agents.extend(found)
        problems.extend(probs)
    return ParsedRun(agents=agents, files=list(files), problems=problems)


def parse_controller_log(path: Path, run: str) -> tuple[list[AgentResult], list[str]]:
    """Agents of one controller file, and one problem line per defect found."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [], [RunDataError(run, path, f"cannot read: {exc}").one_line()]
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    agents: list[AgentResult] = []
    problems: list[str] = []

    def problem(reason: str) -> None:
        problems.append(RunDataError(run, path, reason).one_line())

    for index, side in enumerate(SIDES):
        if index >= len(lines):
            problem(f"{side}s line missing (line {index + 1}): the controller "
                    f"wrote {len(lines)} line(s), expected 2")
            continue
        try:
            block = json.loads(lines[index])
        except json.JSONDecodeError as exc:
            problem(f"line {index + 1} ({side}s) is not valid JSON "
                    f"(truncated file?): {exc.msg} (char {exc.pos})")
            continue
        if not isinstance(block, dict):
            problem(f"line {index + 1} ({side}s) is a JSON {type(block).__name__}, "
                    f"expected an object {{agent_id: TestResults}}")
            continue
        if not block:
            problem(f"line {index + 1} reports 0 {side}s")
        for agent_id, value in block.items():
            try:
                agents.append(_agent(side, str(agent_id), path.name, value))
            except (TypeError, ValueError) as exc:
                problem(f"{side} {agent_id}: {exc}; agent skipped")
    if len(lines) > len(SIDES):
        problem(f"{len(lines) - len(SIDES)} unexpected extra line(s) after line 2 ignored")
    return agents, problems


def _number(d: dict[str, Any], key: str, *, nullable: bool = False) -> float | None:
    value = d.get(key)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} is {value!r}, expected a number")
    if not math.isfinite(value):
        raise ValueError(f"{key} is {value!r}, not finite")
    return float(value)


def _count(d: dict[str, Any], key: str) -> int:
    value = d.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
            or float(value) != int(value):
        raise TypeError(f"{key} is {value!r}, expected a count (integer >= 0)")
    return int(value)


def parse_distribution(raw: Any) -> dict[int, list[int]]:
    """Decade keys arrive as strings ("0", "1"), unsorted: normalise them to int.

    A key given twice (as "1" and 1, possible once parsed by other tools) is
    added up, never kept as two buckets.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TypeError(f"distribution is {type(raw).__name__}, expected an object")
    out: dict[int, list[int]] = {}
    for key, row in raw.items():
        try:
            decade = int(key)
        except (TypeError, ValueError):
            raise TypeError(f"distribution key {key!r} is not a decade number") from None
        if decade < 0:
            raise ValueError(f"distribution decade {decade} < 0")
        if not isinstance(row, list) or len(row) != 10 or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in row
        ):
            raise TypeError(f"distribution[{key!r}] is not a list of 10 counts")
        acc = out.setdefault(decade, [0] * 10)
        for i, c in enumerate(row):
            acc[i] += c
    return dict(sorted(out.items()))


def _agent(side: str, agent_id: str, controller_file: str, value: Any) -> AgentResult:
    if not isinstance(value, dict):
        raise TypeError(f"TestResults is {type(value).__name__}, expected an object")
    lat = value.get("latency") or {}
    if not isinstance(lat, dict):
        raise TypeError("latency is not an object")
    errors = value.get("errors") or {}
    if not isinstance(errors, dict) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in errors.values()
    ):
        raise TypeError("errors is not an object {message: count}")
    latency = Latency(
        min=_number(lat, "min", nullable=True),
        max=_number(lat, "max", nullable=True),
        total=_number(lat, "total", nullable=True) or 0.0,
        count=_count(lat, "count"),
        sum_of_squares=_number(lat, "sum_of_squares", nullable=True) or 0.0,
        distribution=parse_distribution(lat.get("distribution")),
    )
    return AgentResult(
        side=side,
        agent_id=agent_id,
        controller_file=controller_file,
        start_time=_number(value, "start_time", nullable=True),
        stop_time=_number(value, "stop_time", nullable=True),
        msgs_ok=_count(value, "msgs_ok"),
        msgs_fail=_count(value, "msgs_fail"),
        latency=latency,
        errors={str(k): int(v) for k, v in errors.items()},
    )
