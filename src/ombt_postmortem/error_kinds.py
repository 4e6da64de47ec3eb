"""Error messages grouped into kinds: what varies from one message to the next (ids,
uuids, hex strings, IP addresses, numbers) taken out, so that a thousand ``Timed out waiting for a
reply to message ID <id>`` are one kind counted a thousand times.

ombt's controller counts each distinct error text (``TestResults.errors``, a dict text
-> count: kgiusti/ombt ``ombt/ombt.py``, ``_TestResults``); oslo.messaging puts the
message id in its timeout text, so every timeout is a text of its own. The raw dict
stays in the per-run file (``<side>_errors_detail`` of ``ombt.parquet``); the kinds are
``<side>_error_kinds`` (JSON, see :func:`kinds_json`) and the problems line says the
main ones (:func:`summary`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: what is taken out of a message, in this order (the first patterns eat what the later
#: ones would cut in pieces: a uuid holds hex runs and numbers)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    # an id: a run of hex digits holding at least one digit and one letter, or 8+ long
    # (not inside a word, but "reply_<id>" is an id)
    (re.compile(r"(?<![0-9A-Za-z])(?:(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])"
                r"[0-9a-fA-F]{4,}|[0-9a-fA-F]{8,})(?![0-9A-Za-z])"), "<id>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<ip>"),
    (re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])"), "<n>"),
)
_SPACES = re.compile(r"\s+")
#: how much of a kind the problems line quotes
KIND_CHARS = 70
#: the most :func:`summary` writes
SUMMARY_CHARS = 150


def kind_of(message: str) -> str:
    """The message with its ids, uuids, hex strings, IPv4 addresses and numbers replaced
    by ``<id>``, ``<uuid>``, ``<hex>``, ``<ip>``, ``<n>``, its white space collapsed."""
    text = _SPACES.sub(" ", str(message)).strip()
    for pattern, token in _PATTERNS:
        text = pattern.sub(token, text)
    return text


@dataclass(frozen=True)
class ErrorKind:
    kind: str
    count: int
    example: str  # one raw message of the kind (the most frequent, then the first sorted)


def group(errors: Mapping[str, int]) -> list[ErrorKind]:
    """The kinds of ``errors`` (raw text -> count), most frequent first (then by kind)."""
    counts: dict[str, int] = {}
    examples: dict[str, tuple[int, str]] = {}
    for message, n in errors.items():
        k = kind_of(message)
        counts[k] = counts.get(k, 0) + int(n)
        best = examples.get(k)
        if best is None or (-int(n), str(message)) < (-best[0], best[1]):
            examples[k] = (int(n), str(message))
    return [ErrorKind(k, counts[k], examples[k][1])
            for k in sorted(counts, key=lambda k: (-counts[k], k))]


def kinds_json(errors: Mapping[str, int]) -> str:
    """``[{"kind", "count", "example"}, ...]`` as JSON, most frequent first."""
    return json.dumps([{"kind": g.kind, "count": g.count, "example": g.example}
                       for g in group(errors)], ensure_ascii=False)


def from_json(text: str | None) -> list[ErrorKind]:
    """The kinds of a ``<side>_error_kinds`` value ("" or None: none)."""
    if not text:
        return []
    return [ErrorKind(str(d["kind"]), int(d["count"]), str(d["example"]))
            for d in json.loads(text)]


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def summary(errors: Mapping[str, int], shown: int = 2, column: str = "") -> str:
    """``N kind(s): c x "kind"; c x "kind"; +K other kinds (column)``: at most ``shown``
    kinds, each cut to :data:`KIND_CHARS` characters, the whole under
    :data:`SUMMARY_CHARS` characters (a problems line stays under about 200)."""
    kinds = group(errors)
    if not kinds:
        return "no error text"
    head = f"{len(kinds)} kind{'s' if len(kinds) != 1 else ''}: "
    parts = [f'{g.count} x "{_cut(g.kind, KIND_CHARS)}"' for g in kinds[:shown]]
    while True:
        rest = len(kinds) - len(parts)
        tail = []
        if rest:
            where = f" ({column})" if column else ""
            tail = [f"+{rest} other kind{'s' if rest != 1 else ''}{where}"]
        text = head + "; ".join(parts + tail)
        if len(text) <= SUMMARY_CHARS or len(parts) <= 1:
            return text if len(text) <= SUMMARY_CHARS else _cut(text, SUMMARY_CHARS)
        parts.pop()
