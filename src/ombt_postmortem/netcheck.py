"""The network check of a run's backup: enoslib's ``validate_network`` fping files.

Before each run, ombt-orchestrator calls enoslib's ``validate_network`` with the
run's backup folder (msimonin/ombt-orchestrator ``orchestrator/tasks.py``,
``validate``; ``orchestrator/campaign.py`` calls it before the test). In enoslib
1.x (``enoslib/ansible/roles/utils/tasks/tc_validate.yml``, BeyondTheClouds/enoslib
1.4.0 to 1.12.3) every host runs::

    fping -C 10 -q -s -e -f /tmp/hosts 2>/tmp/result

over every address of every host (``templates/hosts.txt.j2``: ``groups['all']``,
itself included), and the result is fetched as ``<backup_dir>/<inventory_hostname>.out``.
With ``-C 10 -q`` fping writes to stderr one line per target::

    10.158.0.3  : 0.52 0.48 - 0.51 0.49 0.50 0.47 0.52 0.50 0.49

(the target, padded; ``:``; the 10 round-trip times in ms, ``-`` for a ping
without reply: fping's ``print_per_system_stats``, ``src/output.c``), then
``-s``'s summary (lines without `` : ``), and lines such as ``ICMP Host
Unreachable from ...`` or ``<target> : duplicate for [0], ...``: only lines
whose every value is a number or ``-`` are read (as enoslib's own later
``_fping_stats`` does, ``enoslib/service/emul/utils.py``).

Per run, over every sample of every target of every file: the minimum, mean and
maximum round trip of the replies, and the share of pings without reply. A host's
ping of its own address goes through the loopback (no emulated delay): it is in the
figures like any target, so ``net_rtt_ms_min`` is usually that of the loopback;
``net_rtt_ms_mean`` and ``net_rtt_ms_max`` follow the ``delay`` of a sweep, and
``net_loss_pct`` its ``loss``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RunDataError

#: the file name's suffix: ``<inventory_hostname>.out``
SUFFIX = ".out"
#: the columns, in order
COLUMNS = ("net_rtt_ms_min", "net_rtt_ms_mean", "net_rtt_ms_max", "net_loss_pct")
#: bytes read of one file at most (10 pings x a few hundred targets is a few KB)
MAX_BYTES = 16 << 20

_LINE = re.compile(r"\s*(\S+)\s+:((?:\s+(?:[0-9]+(?:\.[0-9]*)?|-))+)\s*")
NAN = math.nan


def is_netcheck(name: str) -> bool:
    """A run folder's file named like a network check's (``<host>.out``)."""
    return name.endswith(SUFFIX) and len(name) > len(SUFFIX)


def parse_fping(text: str) -> list[tuple[str, list[float | None]]]:
    """(target, round trips in ms, None for a lost ping) of each ``fping -C`` line."""
    out: list[tuple[str, list[float | None]]] = []
    for line in text.splitlines():
        m = _LINE.fullmatch(line)
        if m is None:
            continue
        out.append((m[1], [None if v == "-" else float(v) for v in m[2].split()]))
    return out


@dataclass
class NetCheck:
    """The run's network check: its columns (NaN when unknown) and notes."""

    columns: dict[str, float]
    notes: list[str] = field(default_factory=list)


def summarise(run_id: str, files: Sequence[Path]) -> NetCheck:
    """:data:`COLUMNS` over every fping line of ``files``; a missing, unreadable or
    empty check is NaN and a note, never a fault."""
    notes: list[str] = []
    rtts: list[float] = []
    lost = 0
    for path in sorted(files):
        try:
            with path.open("rb") as f:
                text = f.read(MAX_BYTES).decode("utf-8", errors="replace")
        except OSError as exc:
            notes.append(RunDataError(run_id, path, "network check unreadable "
                                      f"({exc.strerror or exc}): left out").one_line())
            continue
        lines = parse_fping(text)
        if not lines:
            notes.append(RunDataError(run_id, path, "network check holds no fping -C line: "
                                      "left out").one_line())
            continue
        for _target, samples in lines:
            for s in samples:
                if s is None:
                    lost += 1
                else:
                    rtts.append(s)
    cols = dict.fromkeys(COLUMNS, NAN)
    if not files:
        notes.append(RunDataError(run_id, None, "no network check (<host>.out of enoslib's "
                                  "validate_network) in the backup: net_* columns NaN")
                     .one_line())
    if rtts or lost:
        cols["net_loss_pct"] = 100.0 * lost / (lost + len(rtts))
    if rtts:
        cols.update(net_rtt_ms_min=min(rtts), net_rtt_ms_mean=math.fsum(rtts) / len(rtts),
                    net_rtt_ms_max=max(rtts))
    elif lost:
        notes.append(RunDataError(run_id, None, f"network check: none of its {lost} pings "
                                  "answered (round trips NaN)").one_line())
    return NetCheck(cols, notes)
