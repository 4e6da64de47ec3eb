"""Reference per-message figures computed straight from the agents' JSON lines.

Written apart from the product on purpose: plain ``json`` line by line, Python
dicts and Counters for the matching, ``np.quantile`` per group. Tests compare
:mod:`ombt_postmortem.messages` with this, never the product with itself.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

NAN = float("nan")


def read_agent(path: Path) -> tuple[str | None, str | None, list[dict], int]:
    """(kind, test-name, message dicts, bad lines) of one file; kind None: not an agent.

    A bad line is one that is not valid JSON (issue 10); a message line is a JSON
    object with an ``id``."""
    if path.name.endswith("_docker.log") or "_controller" in path.name:
        return None, None, [], 0
    try:
        text = path.read_bytes()
    except OSError:
        return None, None, [], 0
    raw_lines = text.split(b"\n")
    try:
        head = json.loads(raw_lines[0])
    except ValueError:
        return None, None, [], 0
    if not isinstance(head, dict) or head.get("kind") not in ("RPCClient", "RPCServer"):
        return None, None, [], 0
    test = None
    if len(raw_lines) > 1:
        try:
            second = json.loads(raw_lines[1])
            if isinstance(second, dict):
                test = second.get("test-name")
        except ValueError:
            pass
    msgs, bad = [], 0
    i = 0
    while i < len(raw_lines):
        raw = raw_lines[i]
        i += 1
        if not raw.strip():
            continue
        d = _ombt_line(raw, raw_lines[i] if i < len(raw_lines) else None)
        if d is SPLIT:  # the record's closing brace was on the next line
            d = json.loads(raw + b"}")
            i += 1
        if d is BAD:
            bad += 1
            continue
        if not isinstance(d, dict):  # valid JSON, but no message: not a bad line
            continue
        if d.get("id") is not None:
            if not isinstance(d["id"], str):  # an id of another type: its JSON text
                d["id"] = json.dumps(d["id"])
            msgs.append(d)
    return head["kind"], test, msgs, bad


#: _ombt_line's answers: the first half of a record split on two lines; no JSON
SPLIT, BAD = object(), object()
_ERROR_KEY = b', "error": "'


def _ombt_line(raw: bytes, following: bytes | None) -> object:
    """One line as ombt 3.0.0 meant it (kgiusti/ombt ``ombt/__init__.py``), or BAD
    when it is not valid JSON even so: its server writes an "unsynchronized clocks"
    receipt with a newline before the closing brace (SPLIT: join the next line,
    ``}``), its client writes ``str(exc)`` unescaped after ``"error": "``."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if following is not None and following.strip() == b"}" \
            and raw.rstrip().endswith(b'"unsynchronized clocks"'):
        return SPLIT
    head, key, tail = raw.rstrip().rpartition(_ERROR_KEY)
    if key and tail.endswith(b'"}'):
        try:
            d = json.loads(head + b"}")
            d["error"] = tail[:-2].decode("utf-8")
            return d
        except ValueError:
            return BAD
    return BAD


def _num(d: dict, k: str) -> float:
    """A time: a JSON number, or a string holding a decimal number (issue 25, item 2)."""
    v = d.get(k)
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?", v):
        return float(v)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else NAN


def first_client_lines(clients: list[tuple[str | None, list[dict]]]
                       ) -> list[tuple[str | None, list[dict]]]:
    """The clients' lines with every repeat of an id already logged (by any client,
    in file order) left out: a message is counted once (issue 25, item 3)."""
    seen: set[str] = set()
    out = []
    for test, msgs in clients:
        kept = []
        for m in msgs:
            if m["id"] not in seen:
                seen.add(m["id"])
                kept.append(m)
        out.append((test, kept))
    return out


def _q(values: list[float], q: float) -> float:
    with np.errstate(invalid="ignore"):
        return float(np.quantile(np.asarray(values), q)) if values else NAN


def expected_summary(folder: Path) -> dict[str, float]:
    """Every contract column of issue 10, item 2."""
    clients: list[tuple[str | None, list[dict]]] = []
    servers: list[list[dict]] = []
    bad = 0
    for p in sorted(folder.glob("*.log")):
        kind, test, msgs, b = read_agent(p)
        if kind is None:
            continue
        bad += b
        if kind == "RPCClient":
            clients.append((test, msgs))
        else:
            servers.append(msgs)
    clients = first_client_lines(clients)
    out: dict[str, float] = {"msg_clients_logged": len(clients),
                             "msg_servers_logged": len(servers), "msg_bad_lines": bad}
    client_lines = [(test, m) for test, msgs in clients for m in msgs]
    server_lines = [m for msgs in servers for m in msgs]
    out["msg_sent"] = len(client_lines)
    out["msg_errors"] = sum(1 for _, m in client_lines if "error" in m and m["error"] is not None)
    out["msg_received"] = len(server_lines)

    receipts = Counter(m["id"] for m in server_lines)
    expected: dict[str, int] = {}
    failed: dict[str, bool] = defaultdict(bool)
    for test, m in client_lines:
        expected[m["id"]] = len(servers) if test == "test_fanout" else 1
        failed[m["id"]] |= m.get("error") is not None
    short = {i: max(0, e - receipts.get(i, 0)) for i, e in expected.items()}
    out["msg_unreceived"] = sum(short.values())
    out["msg_unreceived_ok"] = sum(v for i, v in short.items() if not failed[i])
    out["msg_duplicates"] = sum(max(0, receipts[i] - e) for i, e in expected.items()
                                if i in receipts)
    out["msg_unknown"] = sum(n for i, n in receipts.items() if i not in expected)

    ok_lines = [m for _, m in client_lines if m.get("error") is None]
    rtt = [(_num(m, "stop") - _num(m, "start")) * 1000 for m in ok_lines]
    rtt = [r for r in rtt if not math.isnan(r)]
    out["rtt_mean_ms"] = float(np.mean(rtt)) if rtt else NAN
    for name, q in (("p50", .5), ("p90", .9), ("p99", .99), ("p999", .999)):
        out[f"rtt_{name}_ms"] = _q(rtt, q)
    out["rtt_max_ms"] = max(rtt) if rtt else NAN
    ow = [(_num(m, "recv") - _num(m, "start")) * 1000 for m in server_lines]
    ow = [x for x in ow if not math.isnan(x)]
    out["oneway_p50_ms"], out["oneway_p99_ms"] = _q(ow, .5), _q(ow, .99)
    out["oneway_p90_ms"] = _q(ow, .9)
    out["oneway_max_ms"] = max(ow) if ow else NAN
    out["oneway_negative"] = sum(1 for x in ow if x < 0)

    firsts, lasts = [], []
    for _, msgs in clients:
        if not msgs:
            continue
        starts = [_num(m, "start") for m in msgs if not math.isnan(_num(m, "start"))]
        stops = [_num(m, "stop") for m in msgs if not math.isnan(_num(m, "stop"))]
        if starts:
            firsts.append(min(starts))
        if stops:
            lasts.append(max(stops))
    s0 = max(firsts) if firsts else NAN
    s1 = min(lasts) if lasts else NAN
    span = s1 - s0
    if span > 0:
        rate_n = sum(1 for m in ok_lines if s0 <= _num(m, "stop") <= s1)
        inside = [(_num(m, "stop") - _num(m, "start")) * 1000 for m in ok_lines
                  if s0 <= _num(m, "start") <= s1 and s0 <= _num(m, "stop") <= s1]
        out.update(steady_start=s0, steady_stop=s1, steady_s=span, steady_rate=rate_n / span,
                   steady_rtt_p99_ms=_q(inside, .99))
    else:
        out.update(steady_start=NAN, steady_stop=NAN, steady_s=NAN, steady_rate=NAN,
                   steady_rtt_p99_ms=NAN)
    return out


def expected_timeline(folder: Path) -> dict[tuple[int, str], tuple[int, int, float, float, float]]:
    """(second, side) -> (count, errors, p50, p99, max) of the messages completed then,
    and (0, 0, NaN, NaN, NaN) for every other second from the first time logged (any
    start, stop or recv) to the last, for each side that logged a message line (when
    that window is at most 7 days long)."""
    groups: dict[tuple[int, str], list] = defaultdict(lambda: [0, 0, []])
    seen: set[str] = set()  # client ids already counted: a repeat is counted once
    times: list[float] = []
    sides: set[str] = set()
    for p in sorted(folder.glob("*.log")):
        kind, _, msgs, _ = read_agent(p)
        if kind is None:
            continue
        for m in msgs:
            if kind == "RPCClient" and m["id"] in seen:
                continue
            times.extend(v for k in ("start", "stop", "recv") if math.isfinite(v := _num(m, k)))
            sides.add("client" if kind == "RPCClient" else "server")
            if kind == "RPCClient":
                seen.add(m["id"])
                t = _num(m, "stop")
                if math.isnan(t):
                    continue
                g = groups[(math.floor(t), "client")]
                g[0] += 1
                if m.get("error") is not None:
                    g[1] += 1
                    continue
                lat = (t - _num(m, "start")) * 1000
            else:
                t = _num(m, "recv")
                if math.isnan(t):
                    continue
                g = groups[(math.floor(t), "server")]
                g[0] += 1
                lat = (t - _num(m, "start")) * 1000
            if not math.isnan(lat):
                g[2].append(lat)
    out = {k: (c, e, _q(v, .5), _q(v, .99), max(v) if v else NAN)
           for k, (c, e, v) in groups.items()}
    if not times or math.floor(max(times)) - math.floor(min(times)) > 7 * 86400:
        return out  # over 7 days (clocks astray): only the seconds with messages
    for side in sides:
        if not any(k[1] == side for k in groups):
            continue  # no line of the side completed: nothing to fill
        for sec in range(math.floor(min(times)), math.floor(max(times)) + 1):
            out.setdefault((sec, side), (0, 0, NAN, NAN, NAN))
    return out
