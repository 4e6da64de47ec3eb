#!/usr/bin/env python3
"""Benchmark of the per-message stage (issue 10) next to its floor, in one run.

Generates (``synth``, agent logs only) one run of ``--clients`` x ``--calls``
messages, then times, each in its own fresh process and interleaved round by
round (``--repeat`` rounds), so that a shared machine slows every variant alike:

- ``floor: per file``: read each agent log and parse it with one
  ``pyarrow.json.read_json`` (explicit schema of the 5 message fields,
  ``unexpected_field_behavior="ignore"``, 8 MB blocks), nothing else;
- ``floor: per file, threads``: the same on a thread pool (one per CPU);
- ``floor: joined``: the files' bytes joined, one ``read_json``;
- ``messages job``: ``keep_unneeded_out("messages")``, ``analyse_messages`` and
  ``write_messages`` (messages.parquet + timeline.parquet);
- ``messages job + per_message``: the same with the per-message table kept and written.

Every time is the whole child process (interpreter and imports included), CPU =
user + sys of the child, peak RSS from ``wait4``. The floor is the floor variant
with the lowest median wall time; the ratios are per round (over the floor's time
in the same round), median [min-max]. Usage::

    .venv/bin/python bench/bench_messages.py [--clients 500 --calls 4000 --servers 10]
        [--repeat 3] [--keep DIR] [--doc docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import fmt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # this checkout's library, here and in the children
SECTION = "## Per-message stage"

CHILD_FLOOR = r"""
import os, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pyarrow as pa, pyarrow.json as pj
mode, files = sys.argv[1], sys.argv[2:]
schema = pa.schema([("id", pa.string()), ("start", pa.float64()), ("stop", pa.float64()),
                    ("recv", pa.float64()), ("error", pa.string())])
po = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
ro = pj.ReadOptions(block_size=8 << 20, use_threads=True)
def one(p):
    return pj.read_json(pa.BufferReader(Path(p).read_bytes()), read_options=ro, parse_options=po)
if mode == "files":
    rows = sum(one(p).num_rows for p in files)
elif mode == "threads":
    with ThreadPoolExecutor(os.cpu_count() or 1) as ex:
        rows = sum(t.num_rows for t in ex.map(one, files))
else:
    data = b"".join(Path(p).read_bytes() for p in files)
    rows = pj.read_json(pa.BufferReader(data), read_options=ro, parse_options=po).num_rows
print(rows)
"""

CHILD_JOB = r"""
import sys
from pathlib import Path
from ombt_postmortem.jobs import keep_unneeded_out
keep_unneeded_out("messages")
from ombt_postmortem.messages import analyse_messages, write_messages
folder, out, keep = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
r = analyse_messages(folder, folder.name, keep_per_message=keep)
write_messages(r, out / "messages.parquet", out / "timeline.parquet",
               out / "per_message.parquet" if keep else None)
print(r.summary["msg_sent"] + r.summary["msg_received"])
"""


def generate(out: Path, clients: int, servers: int, calls: int) -> Path:
    from ombt_postmortem.synth import SynthSpec, synth_campaign

    spec = SynthSpec(runs=1, clients=(clients,), servers=(servers,), call_types=("rpc-call",),
                     nbr_calls=calls, influx=False, agent_logs=True, seed=1, stagger_s=20.0,
                     fail_rate=0.001, lost_rate=0.0005, dup_rate=0.0005, clock_skew_s=0.001)
    synth_campaign(out, spec)
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one child process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    assert p.stdout is not None
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{cmd[:3]} failed: exit {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--servers", type=int, default=10)
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    ap.add_argument("--doc", type=Path, help="write the table as the last section of this file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-messages-"))
    try:
        camp = args.keep or tmp / "campaign"
        found = [p for p in camp.iterdir() if p.is_dir()] if camp.is_dir() else []
        t = time.perf_counter()
        folder = found[0] if found else generate(camp, args.clients, args.servers, args.calls)
        gen_s = time.perf_counter() - t

        from ombt_postmortem.messages import find_agent_logs

        logs = [str(a.path) for a in find_agent_logs(folder)]
        nbytes = sum(os.path.getsize(p) for p in logs)
        for p in logs:  # warm the page cache: every variant reads from memory
            Path(p).read_bytes()
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        py = sys.executable
        out = tmp / "out"
        out.mkdir()
        variants = {
            "floor: per file": [py, "-c", CHILD_FLOOR, "files", *logs],
            "floor: per file, threads": [py, "-c", CHILD_FLOOR, "threads", *logs],
            "floor: joined": [py, "-c", CHILD_FLOOR, "joined", *logs],
            "messages job": [py, "-c", CHILD_JOB, str(folder), str(out), "0"],
            "messages job + per_message": [py, "-c", CHILD_JOB, str(folder), str(out), "1"],
        }
        samples: dict[str, list[tuple[float, float, float]]] = {k: [] for k in variants}
        outputs: dict[str, str] = {}
        for r in range(args.repeat):
            for name, cmd in variants.items():
                wall, cpu, rss, stdout = run_child(cmd, env)
                samples[name].append((wall, cpu, rss))
                outputs[name] = stdout
                print(f"round {r + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                      f"{rss:.0f} MiB", file=sys.stderr)
        floors = [k for k in variants if k.startswith("floor")]
        floor = min(floors, key=lambda k: statistics.median(s[0] for s in samples[k]))
        lines = [f"{SECTION}", "",
                 f"`{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}` (run folder generated "
                 f"by `synth` in {gen_s:.0f} s: {args.clients} clients x {args.calls} calls, "
                 f"{args.servers} servers, rpc-call, clients started over 20 s, "
                 "0.1% failed calls, 0.05% lost and 0.05% duplicated receipts, 1 ms clock skew). "
                 f"Agent logs: {len(logs)} files, {nbytes / 1e6:.0f} MB, "
                 f"{outputs['floor: per file']} JSON lines parsed; the job counted "
                 f"{outputs['messages job']} message lines. {args.repeat} interleaved rounds, "
                 "each variant a fresh process (interpreter and imports included); median "
                 "[min-max]; floor = the fastest floor variant "
                 f"(`{floor}`); the ratios are those of each round (a variant over the floor "
                 f"measured in the same round), median [min-max]. Machine: {os.cpu_count()} "
                 "CPUs, shared with other work while measured (load average "
                 f"{os.getloadavg()[0]:.1f} at the end).", "",
                 "| variant | wall (s) | CPU (s) | peak RSS (MiB) | wall / floor | CPU / floor |",
                 "|---|---|---|---|---|---|"]
        for name, s in samples.items():
            walls, cpus, rss = [x[0] for x in s], [x[1] for x in s], [x[2] for x in s]
            r_wall = [x[0] / f[0] for x, f in zip(s, samples[floor], strict=True)]
            r_cpu = [x[1] / f[1] for x, f in zip(s, samples[floor], strict=True)]
            lines.append(f"| {name} | {fmt(walls)} | {fmt(cpus)} | {fmt(rss, 0)} | "
                         f"{fmt(r_wall)} | {fmt(r_cpu)} |")
        text = "\n".join(lines) + "\n"
        print(text)
        if args.doc:
            doc = args.doc.read_text()
            head = doc.split(f"\n{SECTION}\n")[0].rstrip("\n")
            args.doc.write_text(head + "\n\n" + text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
