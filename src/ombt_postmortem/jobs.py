"""The workflow's per-run jobs as plain programs: no Snakemake in the job's process.

    python workflow/job.py STAGE SPEC [--threads N] [--mem-mb N] [--log PATH]
    python -m ombt_postmortem.jobs STAGE SPEC ...        (the same, package installed)

STAGE is ``ombt_stats``, ``messages`` or ``influx_metrics``. SPEC is one JSON
object (or ``@FILE`` holding one): the job's run, config, inputs and outputs::

    {"run_id": "...", "strict": false,
     "input": {"logs": [...]}, "output": {"summary": "...", ...}, ...}

(the keys of each stage: :data:`SPEC_KEYS`); it is the rule's one param
(``workflow/rules/jobs.smk``). A job is thus run by hand with the very command
Snakemake ran (``snakemake -p`` prints it). The job's threads, memory and log file
are options, not in SPEC: Snakemake scales a job's threads to ``--cores`` and
``--set-resources`` changes its memory, which must not re-run it.

Why not Snakemake's ``script:``: its preamble imports ``snakemake.script`` in every
job to unpickle the ``snakemake`` object; run as plain programs, the jobs take
0.05-0.14 CPU s less each (docs/benchmarks.md, "Parallel efficiency"), and can be
run by hand. This module imports only the standard library at first; each stage
imports what it needs, and keeps out what pyarrow would import for nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .keepout import keep_out


class JobSpecError(ConfigError):
    """The job's SPEC is not what its stage expects (the message names the stage,
    the run when known, and the key)."""


#: Per stage: (required keys, optional keys) of SPEC, of its "input" and of its "output".
#: Every stage also takes "input_dir" (see :func:`compact_inputs`).
SPEC_KEYS: dict[str, dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "ombt_stats": {
        # run_params_sha256: the digest of the run's params.json entry, unused by the
        # job; in the spec so that changing the entry re-runs this run only, whatever
        # its size (the entry itself could hold more than a command line may)
        "": (frozenset({"run_id", "strict", "input", "output", "folder", "folder_problem"}),
             frozenset({"run_params_sha256"})),
        # netcheck: the run's <host>.out network check files (ombt_postmortem.netcheck)
        "input": (frozenset({"logs"}), frozenset({"netcheck"})),
        "output": (frozenset({"summary", "agents", "hist"}), frozenset()),
    },
    "messages": {
        "": (frozenset({"run_id", "strict", "input", "output", "folder_problem"}),
             frozenset()),
        "input": (frozenset({"logs"}), frozenset()),
        "output": (frozenset({"summary", "timeline"}), frozenset({"per_message"})),
    },
    "influx_metrics": {
        "": (frozenset({"run_id", "strict", "input", "output", "influx", "base_dir",
                        "overhead_mb"}), frozenset()),
        "input": (frozenset({"ombt", "tar"}), frozenset()),
        "output": (frozenset({"metrics"}), frozenset({"timeseries"})),
    },
}


class Spec:
    """A stage's SPEC, checked against :data:`SPEC_KEYS`; typed accessors."""

    def __init__(self, stage: str, data: object) -> None:
        self.stage = stage
        self.where = f"job {stage}"
        if not isinstance(data, Mapping):
            raise JobSpecError(f"{self.where}: the spec is a JSON object, not "
                               f"{type(data).__name__}")
        self.data = data
        run_id = data.get("run_id")
        if isinstance(run_id, str):
            self.where = f"job {stage} of run {run_id}"
        keys = SPEC_KEYS[stage]
        required, optional = keys[""]
        self._check_keys(data, required, optional | {"input_dir"}, "spec")
        for part in ("input", "output"):
            self._check_keys(self._mapping(data, part), *keys[part], f"spec's {part!r}")

    def fail(self, what: str) -> JobSpecError:
        return JobSpecError(f"{self.where}: {what}")

    def _check_keys(self, d: Mapping[str, Any], required: frozenset[str],
                    optional: frozenset[str], what: str) -> None:
        missing = sorted(required - set(d))
        unknown = sorted(set(d) - required - optional)
        if missing:
            raise self.fail(f"{what} lacks {', '.join(map(repr, missing))}")
        if unknown:
            raise self.fail(f"{what} has unknown key(s) {', '.join(map(repr, unknown))}")

    def _mapping(self, d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = d.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(f"spec key {key!r} is a JSON object, not {type(value).__name__}")
        return value

    def _get(self, key: str, part: str | None) -> tuple[object, str]:
        d = self.data if part is None else self.data[part]
        return d.get(key), key if part is None else f"{part}.{key}"

    def text(self, key: str, part: str | None = None) -> str:
        value, name = self._get(key, part)
        if not isinstance(value, str):
            raise self.fail(f"spec key {name!r} is a string, not {type(value).__name__}")
        return value

    def path(self, key: str, part: str | None = None) -> Path:
        value = self.text(key, part)
        if not value:
            raise self.fail(f"spec key {self._get(key, part)[1]!r} is an empty path")
        return self._input_path(value, part)

    def optional_path(self, key: str, part: str | None = None) -> Path | None:
        """A path, or None when the key is absent, null or empty."""
        value, _ = self._get(key, part)
        return None if value in (None, "") else self.path(key, part)

    def paths(self, key: str, part: str | None = None) -> list[Path]:
        value, name = self._get(key, part)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"spec key {name!r} is a list of paths")
        return [self._input_path(v, part) for v in value]

    def _input_path(self, value: str, part: str | None) -> Path:
        """An input's path; relative to "input_dir" when the spec has one."""
        if part != "input" or "input_dir" not in self.data:
            return Path(value)
        base = self.data["input_dir"]
        if not isinstance(base, str) or not base:
            raise self.fail("spec key 'input_dir' is a path")
        return Path(base) / value

    def flag(self, key: str) -> bool:
        value, name = self._get(key, None)
        if not isinstance(value, bool):
            raise self.fail(f"spec key {name!r} is true or false, not {value!r}")
        return value

    def integer(self, key: str) -> int:
        value, name = self._get(key, None)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"spec key {name!r} is an integer, not {value!r}")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        return self._mapping(self.data, key)


#: inputs longer than this (in JSON characters) are given relative to their common folder
COMPACT_INPUTS_OVER = 8192


def compact_inputs(inputs: Mapping[str, str | Sequence[str]]) -> dict[str, Any]:
    """The "input" of a spec, and its "input_dir" when that makes it much shorter.

    A spec is one argument of a shell command, which Linux caps at 128 KiB
    (MAX_ARG_STRLEN); a run of hundreds of agents has hundreds of logs, each path
    repeating the run's folder (over 80 KB for 300 agents of the realistic
    preset). Beyond :data:`COMPACT_INPUTS_OVER` characters, the paths are given
    relative to their common folder: ``{"input": {...}, "input_dir": DIR}``;
    otherwise as they are: ``{"input": {...}}``.
    """
    plain = {k: v if isinstance(v, str) else list(v) for k, v in inputs.items()}
    every = [p for v in plain.values() for p in ([v] if isinstance(v, str) else v)]
    if len(json.dumps(plain)) <= COMPACT_INPUTS_OVER or len(every) < 2:
        return {"input": plain}
    try:
        base = os.path.commonpath(every)
    except ValueError:  # absolute and relative paths mixed
        return {"input": plain}
    if not base or base in every:  # no common folder, or one input is that folder
        return {"input": plain}

    def rel(p: str) -> str:
        return os.path.relpath(p, base)

    return {"input": {k: rel(v) if isinstance(v, str) else [rel(p) for p in v]
                      for k, v in plain.items()}, "input_dir": base}


def ombt_stats(spec: Spec, opts: argparse.Namespace) -> None:
    """Rule ombt_stats: the run's controller files -> ombt, agents and histogram tables."""
    from .logutil import check_strict, job_logger
    from .ombt.run import analyse_files, write_run_stats

    # every value read (and checked) before any work
    run_id, strict = spec.text("run_id"), spec.flag("strict")
    logs, folder = spec.paths("logs", "input"), spec.optional_path("folder")
    checks = spec.paths("netcheck", "input") if "netcheck" in spec.data["input"] else []
    folder_problem = spec.text("folder_problem") or None
    outputs = [spec.path(k, "output") for k in ("summary", "agents", "hist")]
    log = job_logger("ombt_stats", opts.log)
    stats = analyse_files(run_id, logs, folder=folder, folder_problem=folder_problem,
                          net_checks=checks)
    write_run_stats(stats, *outputs)
    log.info("run %s: status %s, %d clients, %d servers", run_id, stats.status,
             stats.summary["n_clients"], stats.summary["n_servers"])
    for note in filter(None, str(stats.summary.get("backup_notes") or "").split("; ")):
        log.info("%s", note)
    for problem in stats.problems:
        log.warning("%s", problem)
    check_strict(strict, stats.problems, f"run {run_id}")


def messages(spec: Spec, opts: argparse.Namespace) -> None:
    """Rule messages: the agents' own logs -> summary, timeline (and per-message table)."""
    from .logutil import check_strict, job_logger
    from .messages import analyse_message_logs, write_messages

    run_id, strict = spec.text("run_id"), spec.flag("strict")
    logs, folder_problem = spec.paths("logs", "input"), spec.text("folder_problem") or None
    summary, timeline = spec.path("summary", "output"), spec.path("timeline", "output")
    per_message = spec.optional_path("per_message", "output")
    log = job_logger("messages", opts.log)
    result = analyse_message_logs(run_id, logs, folder_problem=folder_problem,
                                  keep_per_message=per_message is not None,
                                  threads=opts.threads)
    write_messages(result, summary, timeline, per_message)
    s = result.summary
    log.info("run %s: %d client log(s), %d server log(s), %d sent, %d received, "
             "%d bad line(s)", run_id, s["msg_clients_logged"], s["msg_servers_logged"],
             s["msg_sent"], s["msg_received"], s["msg_bad_lines"])
    for note in filter(None, str(s.get("msg_notes") or "").split("; ")):
        log.info("%s", note)
    for problem in result.problems:
        log.warning("%s", problem)
    check_strict(strict, result.problems, f"run {run_id}")


def influx_metrics(spec: Spec, opts: argparse.Namespace) -> None:
    """Rule influx_metrics: restore the run's InfluxDB backup, query the run's window."""
    from .logutil import check_strict, exit_on_sigterm

    exit_on_sigterm()  # before anything starts a server: its `finally` blocks must run
    from .influx.metrics import InfluxConfig
    from .influx.server import Limits
    from .influx.stage import run_influx_stage, write_stage

    run_id, strict = spec.text("run_id"), spec.flag("strict")
    if opts.mem_mb is None:
        raise spec.fail("--mem-mb is required (the server's memory limit is taken from it)")
    ombt, tars = spec.path("ombt", "input"), spec.paths("tar", "input")
    if len(tars) > 1:
        raise spec.fail("spec key 'input.tar' holds at most one path")
    metrics, timeseries = spec.path("metrics", "output"), spec.optional_path("timeseries",
                                                                             "output")
    limits = Limits.for_job(opts.threads, opts.mem_mb, spec.integer("overhead_mb"))
    cfg = InfluxConfig.from_dict(spec.mapping("influx"), base_dir=spec.text("base_dir"))
    log_path = Path(opts.log) if opts.log else None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")  # the stage and influxd append to it
    result = run_influx_stage(run_id, ombt, tars[0] if tars else None, cfg, log_path, limits)
    write_stage(result, metrics, timeseries)
    for problem in result.problems:
        print(f"WARNING {problem}", file=sys.stderr)
    check_strict(strict, result.problems, f"run {run_id}")


#: what each stage's process does without (see main)
KEEP_OUT: dict[str, tuple[str, ...]] = {
    "ombt_stats": ("pandas", "numpy"),
    "messages": ("pandas",),
    "influx_metrics": ("pandas",),
}

def keep_unneeded_out(stage: str) -> None:
    """Refuse, in this process, the packages pyarrow would import and ``stage`` does
    not need (:data:`KEEP_OUT`): pandas (0.3 CPU s) in every job, numpy (0.1 s)
    where no code of the stage uses it. Call it before pyarrow is imported; the
    job's own ``main`` does, and so do the benches and tests that do a job's work."""
    keep_out(*KEEP_OUT[stage], by=f"ombt_postmortem.jobs ({stage})")


STAGES: dict[str, Callable[[Spec, argparse.Namespace], None]] = {
    "ombt_stats": ombt_stats,
    "messages": messages,
    "influx_metrics": influx_metrics,
}


def parse_spec(stage: str, text: str) -> Spec:
    """SPEC from its JSON text, or from a JSON file given as ``@path``."""
    where = f"job {stage}"
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise JobSpecError(f"{where}: cannot read the spec file {text[1:]!r}: "
                               f"{exc.strerror}") from None
    try:
        return Spec(stage, json.loads(text))
    except json.JSONDecodeError as exc:
        raise JobSpecError(f"{where}: the spec is not JSON: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ombt-postmortem-job",
                                 description="Run one per-run job of the workflow.")
    ap.add_argument("stage", choices=sorted(STAGES))
    ap.add_argument("spec", help="the job's spec: a JSON object, or @FILE holding one")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mem-mb", type=int, default=None, help="the job's memory (influx_metrics)")
    ap.add_argument("--log", default=None, help="the job's log file")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    keep_unneeded_out(opts.stage)  # before anything imports pyarrow
    try:
        spec = parse_spec(opts.stage, opts.spec)
        if opts.threads < 1:
            raise spec.fail(f"--threads is at least 1, not {opts.threads}")
        STAGES[opts.stage](spec, opts)
    except ConfigError as exc:  # a bad spec, or a bad stage config (the query set ...)
        print(f"ombt-postmortem-job: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
