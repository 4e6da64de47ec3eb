"""Error texts grouped into kinds: the per-run file keeps the raw dict, the problems line
and `show` say the kinds (issue 22, item 3). Expected values are read straight from the
controller's JSON lines, not from the product's parser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, controller_log, run_ids

from ombt_postmortem.error_kinds import group, kind_of, summary
from ombt_postmortem.ombt.run import analyse_run

TIMEOUT_TEXT = re.compile(r"^Timed out waiting for a reply to message ID [0-9a-f]{32}$")


@pytest.mark.parametrize(("raw", "kind"), [
    ("MessagingTimeout: Timed out waiting for a reply to message ID 33bec64d9d89265b0ed726ea3",
     "MessagingTimeout: Timed out waiting for a reply to message ID <id>"),
    ("reply queue reply_389e2021-7d0b-4eff-8986-1a9b012da828 gone",
     "reply queue reply_<uuid> gone"),
    ("queue reply_33bec64d9d89 of host3 gone", "queue reply_<id> of host3 gone"),
    ("queue 389e2021-7d0b-4eff-8986-1a9b012da828 gone", "queue <uuid> gone"),
    ("AMQP server on 10.0.0.7:5672 is unreachable: [Errno 111]  Connection refused",
     "AMQP server on <ip>:<n> is unreachable: [Errno <n>] Connection refused"),
    ("timed out after 60.5 s (0x7f3a)", "timed out after <n> s (<hex>)"),
    ("AMQP channel closed", "AMQP channel closed"),
    ("deadbeef 12345678", "<id> <id>"),
])
def test_kind_of(raw: str, kind: str) -> None:
    assert kind_of(raw) == kind


def test_group_counts_and_example() -> None:
    errors = {"Timed out ... ID 3f2a": 2, "Timed out ... ID 9c1b": 5, "closed": 1}
    (timeout, closed) = group(errors)
    assert (timeout.kind, timeout.count, timeout.example) == \
        ("Timed out ... ID <id>", 7, "Timed out ... ID 9c1b")  # the most frequent text
    assert (closed.kind, closed.count, closed.example) == ("closed", 1, "closed")


def test_summary_is_short_whatever_the_texts() -> None:
    errors = {f"error {'x' * 500} kind{chr(65 + i)} id {i:032x}": i + 1 for i in range(20)}
    line = summary(errors, column="client_error_kinds")
    assert len(line) <= 150, line
    assert line.startswith('20 kinds: 20 x "error xxx') and line.endswith(
        '..."; +19 other kinds (client_error_kinds)')


@pytest.fixture(scope="module")
def failing_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "fail"
    subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "synth", str(out),
                    "--fail-rate", "0.01", "--no-influx"], check=True, capture_output=True)
    return out


def _raw_errors(folder: Path) -> dict[str, dict[str, int]]:
    """side -> the controller's error dicts merged by hand (line 1 clients, 2 servers)."""
    lines = controller_log(folder).read_text().splitlines()
    out: dict[str, dict[str, int]] = {}
    for side, line in zip(("client", "server"), lines, strict=False):
        merged: dict[str, int] = {}
        for agent in json.loads(line).values():
            for text, n in agent.get("errors", {}).items():
                merged[text] = merged.get(text, 0) + n
        out[side] = merged
    return out


def _expected_kinds(errors: dict[str, int]) -> dict[str, int]:
    """What synth writes, grouped by a normaliser of the test's own: its 32-digit message
    ids, then the other numbers taken out."""
    out: dict[str, int] = {}
    for text, n in errors.items():
        k = re.sub(r"\d+", "<n>", re.sub(r"\b[0-9a-f]{32}\b", "<id>", text))
        out[k] = out.get(k, 0) + n
    return out


def test_synth_timeouts_are_one_kind(failing_campaign: Path) -> None:
    folders = sorted(p for p in failing_campaign.iterdir() if p.is_dir())
    assert len(folders) == 12
    timeouts = 0
    for folder in folders:
        raw = _raw_errors(folder)
        stats = analyse_run(folder, folder.name)
        for side, errors in raw.items():
            assert json.loads(stats.summary[f"{side}_errors_detail"]) == errors
            kinds = json.loads(stats.summary[f"{side}_error_kinds"])
            assert {k["kind"]: k["count"] for k in kinds} == _expected_kinds(errors)
            assert [k["count"] for k in kinds] == sorted((k["count"] for k in kinds),
                                                          reverse=True)
            for k in kinds:
                assert k["example"] in errors
            texts = [t for t in errors if TIMEOUT_TEXT.match(t)]
            if len(texts) > 1:  # several texts, one kind
                (k,) = [k for k in kinds if k["kind"].startswith("Timed out")]
                assert k["count"] == sum(errors[t] for t in texts)
                timeouts += 1
        problems = [p for p in stats.problems if "message(s) failed" in p]
        assert len(problems) == sum(1 for e in raw.values() if e)
        for p in problems:
            reason = p.split("): ", 1)[1]
            assert len(reason) < 200, reason
            side = reason.split()[1]
            n = sum(raw[side].values())
            want = _expected_kinds(raw[side])
            shown = "; ".join(f'{c} x "{k}"' for k, c in
                              sorted(want.items(), key=lambda kc: (-kc[1], kc[0]))[:2])
            kinds = f"{len(want)} kind{'s' if len(want) > 1 else ''}"
            assert reason == f"{n} {side} message(s) failed; errors: {kinds}: {shown}"
    assert timeouts >= 3  # rpc-call runs at 1 %: several timeouts each


def test_show_prints_kinds(failing_campaign: Path) -> None:
    folder = next(p for p in sorted(failing_campaign.iterdir()) if "rpc-call" in p.name
                  and "nbr_clients__4-" in p.name)
    raw = _raw_errors(folder)["client"]
    assert len(raw) > 1 and all(TIMEOUT_TEXT.match(t) for t in raw)
    out = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "show", str(folder)],
                         capture_output=True, text=True).stdout
    occurred = re.findall(r"^  '(.*)' \(occurred (\d+) times?\)$", out, re.M)
    assert occurred == [("Timed out waiting for a reply to message ID <id>",
                         str(sum(raw.values())))]
    example = re.search(r"^      e\.g\. '(.*)'$", out, re.M)
    assert example and example.group(1) in raw
    assert f"({len(raw)} distinct texts, 1 kind)" in out
    full = subprocess.run([sys.executable, "-m", "ombt_postmortem.cli", "show", "--raw-errors",
                           str(folder)], capture_output=True, text=True).stdout
    assert len(re.findall(r"^  '.*' \(occurred \d+ times\)$", full, re.M)) == len(raw)


@pytest.mark.parametrize("run", run_ids())
def test_example_has_no_error_kinds(run: str) -> None:
    raw = _raw_errors(EXAMPLE / run)
    stats = analyse_run(EXAMPLE / run, run)
    for side in ("client", "server"):
        assert raw[side] == {}
        assert stats.summary[f"{side}_error_kinds"] == "[]"
    assert stats.problems == []
