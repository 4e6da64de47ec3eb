"""Runs named by what varies: a short, unique, file-name-safe label per run.

Within a campaign only a few parameters usually vary (``nbr_clients``,
``nbr_servers``, ``call_type``...), while a run's ``backup_dir`` spells them
all. The label of a run keeps only the parameters whose values differ within
its campaign.

The rule (:func:`run_labels`):

1. The parameters are the keys of params.json (``backup_dir`` aside), in the
   order they first appear there. A parameter *varies* when two runs hold
   different values for it (a run without the key counts as its own value;
   values are compared as JSON text, so ``1``, ``1.0`` and ``"1"`` differ).
2. A run's label is ``key=value`` for each varying parameter, joined by ``__``:
   ``nbr_clients=4__nbr_servers=2__call_type=rpc-call`` (the style of the
   figures' group names such as ``driver=broker__call_type=rpc-call``).
   Values are written as text (strings as they are, other values as JSON:
   ``4``, ``0.5``, ``true``, ``null``, ``[1,2]``; a missing key as ``none``),
   then made safe: every run of characters outside ``A-Z a-z 0-9 . _ + -`` becomes
   ``-``, runs of ``_`` become one (so ``__`` only separates parameters), runs
   of ``.`` become one. Keys are made safe the same way.
3. A label longer than :data:`MAX_LABEL` characters is cut and ends with a
   hash of its full text.
4. Fallback: runs whose labels are equal (ignoring case, for case-insensitive
   file systems), e.g. two runs sharing every varying value, or a campaign of
   one run (nothing varies), are labelled by their run key
   (:func:`ombt_postmortem.layout.run_key`), which is unique.

Every label matches ``[A-Za-z0-9_][A-Za-z0-9._,+=@-]*`` (no ``/``, no space, no
``..``, no leading ``.`` or ``-``): a safe file name on any system.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .layout import run_key
from .params import Run

#: the params.json key that names the run's folder: never part of a label
BACKUP_DIR = "backup_dir"
#: labels longer than this are cut and end with a hash of the full text
MAX_LABEL = 100
SEPARATOR = "__"
#: what a run without a varying key shows for it
MISSING = "none"

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_ABSENT = object()


def _text(value: Any) -> str:
    if value is _ABSENT:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _canonical(value: Any) -> str:
    """The value as compared: JSON text (types kept apart), a missing key apart."""
    if value is _ABSENT:
        return "\x00missing"
    return json.dumps(value, sort_keys=True, default=str)


def safe(text: str) -> str:
    """``text`` with only ``A-Z a-z 0-9 . _ + -``; no ``__``, no ``..``."""
    s = _UNSAFE.sub("-", text)
    s = re.sub(r"_{2,}", "_", s)
    return re.sub(r"\.{2,}", ".", s)


def param_keys(params: Iterable[Mapping[str, Any]]) -> list[str]:
    """The parameter keys of params.json entries (``backup_dir`` aside), first-seen order."""
    keys: dict[str, None] = {}
    for p in params:
        for k in p:
            if k != BACKUP_DIR:
                keys.setdefault(k)
    return list(keys)


def varying_params(params: Sequence[Mapping[str, Any]]) -> list[str]:
    """The keys whose values differ between the entries, in params.json order."""
    out = []
    for k in param_keys(params):
        if len({_canonical(p.get(k, _ABSENT)) for p in params}) > 1:
            out.append(k)
    return out


def _key(key: str) -> str:
    """A key made safe; it starts the label's parts: no leading ``.``, ``+``, ``-``."""
    return safe(key).strip(".+-") or "param"


def capped(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` if at most ``limit`` characters, else cut and ended by a hash of all of it
    (``-`` and 10 hex digits): distinct texts stay distinct, and a name stays far
    below the 255 bytes a file name may take."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{text[:limit - 11].rstrip('._+-')}-{digest}"


def _label(p: Mapping[str, Any], keys: Sequence[str]) -> str:
    return capped(SEPARATOR.join(f"{_key(k)}={safe(_text(p.get(k, _ABSENT)))}" for k in keys))


def labels_of(params: Sequence[Mapping[str, Any]], run_ids: Sequence[str]) -> list[str]:
    """The label of each params.json entry (see the module's rule), in order.

    ``run_ids`` are the entries' ``backup_dir`` (the fallback is their run key).
    """
    if len(params) != len(run_ids):
        raise ValueError(f"{len(params)} params entries for {len(run_ids)} run ids")
    keys = varying_params(params)
    fallback = [run_key(r) for r in run_ids]
    labels = [_label(p, keys) if keys else fallback[i] for i, p in enumerate(params)]
    while True:
        seen: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            seen.setdefault(label.casefold(), []).append(i)
        clash = [i for group in seen.values() if len(group) > 1 for i in group
                 if labels[i] != fallback[i]]
        if not clash:
            return labels
        for i in clash:
            labels[i] = fallback[i]


def run_labels(runs: Sequence[Run]) -> dict[str, str]:
    """run_id -> label for the runs of one campaign, as params.json lists them."""
    labels = labels_of([r.params for r in runs], [r.run_id for r in runs])
    return {r.run_id: label for r, label in zip(runs, labels, strict=True)}
