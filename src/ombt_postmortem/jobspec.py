"""The contract of each per-run job: what it takes, declared once.

A stage's job takes its run, its files and its settings; each stage declares them as
one dataclass (:class:`LogsJob`, :class:`InfluxJob`). The same class builds the
job's SPEC (the rule's one param, ``workflow/rules/jobs.smk``: :meth:`JobSpec.to_json`)
and reads it back in the job's process (:meth:`JobSpec.from_json`): the fields are
the only list of the spec's keys. A field is a setting, an input (``input_field``)
or an output (``output_field``); in the JSON text, the inputs are under ``"input"``
and the outputs under ``"output"``, so that the rule's ``input:`` and ``output:``
(whose names must be the fields', see :func:`check_rule_files`) read the same::

    {"run_id": "...", "strict": false, "input": {...}, "output": {...}, ...settings}

Only the standard library is imported here: a job's process pays for nothing else.
The values are checked against the fields' types (the spec is written by the
workflow, whose config was validated by its jsonschema; the checks catch a spec
written by hand).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import ConfigError

INPUT, OUTPUT = "input", "output"
_ROLE = "role"

S = TypeVar("S", bound="JobSpec")


class JobSpecError(ConfigError):
    """The job's SPEC is not what its stage expects (the message names the stage,
    the run when known, and the key)."""


def input_field() -> Any:
    """An input of the job: a list of paths (the rule's input function gives it)."""
    return field(metadata={_ROLE: INPUT})


def output_field(optional: bool = False) -> Any:
    """An output of the job: a path, or None (left out of the spec) when optional."""
    if optional:
        return field(default=None, metadata={_ROLE: OUTPUT})
    return field(metadata={_ROLE: OUTPUT})


#: inputs longer than this (in JSON characters) are given relative to their common folder
COMPACT_INPUTS_OVER = 8192


def compact_inputs(inputs: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The "input" of a spec, and its "input_dir" when that makes it much shorter.

    A spec is one argument of a shell command, which Linux caps at 128 KiB
    (MAX_ARG_STRLEN); a run of hundreds of agents has hundreds of logs, each path
    repeating the run's folder (over 80 KB for 300 agents of the realistic
    preset). Beyond :data:`COMPACT_INPUTS_OVER` characters, the paths are given
    relative to their common folder: ``{"input": {...}, "input_dir": DIR}``;
    otherwise as they are: ``{"input": {...}}``.
    """
    plain = {k: list(v) for k, v in inputs.items()}
    every = [p for v in plain.values() for p in v]
    if len(json.dumps(plain)) <= COMPACT_INPUTS_OVER or len(every) < 2:
        return {INPUT: plain}
    try:
        base = os.path.commonpath(every)
    except ValueError:  # absolute and relative paths mixed
        return {INPUT: plain}
    if not base or base in every:  # no common folder, or one input is that folder
        return {INPUT: plain}
    return {INPUT: {k: [os.path.relpath(p, base) for p in v] for k, v in plain.items()},
            "input_dir": base}


def _is(kind: str, value: object) -> bool:
    """``value`` is of the field type spelled ``kind`` (the annotations of this module)."""
    if kind.endswith(" | None"):
        return value is None or _is(kind[: -len(" | None")], value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    if kind == "dict[str, Any]":
        return isinstance(value, dict)
    raise TypeError(f"jobspec: no check for the field type {kind!r}")


@cache
def _role_fields(cls: type[JobSpec], role: str | None) -> tuple[Field[Any], ...]:
    return tuple(f for f in fields(cls) if f.metadata.get(_ROLE) == role)


@dataclass(frozen=True)
class JobSpec:
    """What every per-run job takes: its run and whether a data fault fails it."""

    stage: ClassVar[str]
    run_id: str
    strict: bool

    @classmethod
    def role_fields(cls, role: str | None) -> tuple[Field[Any], ...]:
        """The fields that are inputs, outputs, or (``None``) settings (computed once
        per class: the workflow builds a spec for every job of the DAG)."""
        return _role_fields(cls, role)

    @classmethod
    def names(cls, role: str) -> list[str]:
        return [f.name for f in cls.role_fields(role)]

    def outputs(self) -> dict[str, str]:
        """The job's outputs that it writes (optional ones left out when None)."""
        return {f.name: v for f in self.role_fields(OUTPUT)
                if (v := getattr(self, f.name)) is not None}

    def to_json(self) -> str:
        """The job's SPEC: one line of JSON, keys sorted (a changed spec re-runs the job)."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in self.role_fields(None)}
        data.update(compact_inputs({f.name: getattr(self, f.name)
                                    for f in self.role_fields(INPUT)}))
        data[OUTPUT] = self.outputs()
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls: type[S], text: str) -> S:
        """The spec from its JSON text, or from a JSON file given as ``@path``."""
        where = f"job {cls.stage}"
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise JobSpecError(f"{where}: cannot read the spec file {text[1:]!r}: "
                                   f"{exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobSpecError(f"{where}: the spec is not JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls: type[S], data: object) -> S:
        where = f"job {cls.stage}"
        if not isinstance(data, dict):
            raise JobSpecError(f"{where}: the spec is a JSON object, not {type(data).__name__}")
        if isinstance(data.get("run_id"), str):
            where = f"job {cls.stage} of run {data['run_id']}"

        def fail(what: str) -> JobSpecError:
            return JobSpecError(f"{where}: {what}")

        parts: dict[str | None, dict[str, Any]] = {None: dict(data)}
        for role in (INPUT, OUTPUT):
            part = parts[None].pop(role, None)
            if not isinstance(part, dict):
                raise fail(f"spec key {role!r} is a JSON object, not {type(part).__name__}")
            parts[role] = part
        base = parts[None].pop("input_dir", None)
        if base is not None and (not isinstance(base, str) or not base):
            raise fail("spec key 'input_dir' is a path")
        values: dict[str, Any] = {}
        for role, part in parts.items():
            known = cls.role_fields(role)
            what = "spec" if role is None else f"spec's {role!r}"
            unknown = sorted(set(part) - {f.name for f in known})
            if unknown:
                raise fail(f"{what} has unknown key(s) {', '.join(map(repr, unknown))}")
            missing = [f.name for f in known if f.name not in part and f.default is MISSING]
            if missing:
                raise fail(f"{what} lacks {', '.join(map(repr, missing))}")
            for f in known:
                if f.name not in part:
                    continue
                value, name = part[f.name], f.name if role is None else f"{role}.{f.name}"
                kind = str(f.type)
                if not _is(kind, value):
                    raise fail(f"spec key {name!r} is {_SPELLED.get(kind, kind)}, "
                               f"not {value!r}"[:300])
                if role == OUTPUT and not value:
                    raise fail(f"spec key {name!r} is an empty path")
                if role == INPUT and base is not None:
                    value = [os.path.join(base, v) for v in value]
                values[f.name] = value
        return cls(**values)


_SPELLED = {"bool": "true or false", "int": "an integer", "str": "a string",
            "list[str]": "a list of paths", "dict[str, Any]": "a JSON object",
            "str | None": "a path"}


def check_rule_files(spec: type[JobSpec], inputs: Mapping[str, object],
                     outputs: Mapping[str, object]) -> None:
    """The rule's ``input:`` and ``output:`` names are the contract's (called by the
    stage's .smk file when the workflow is read: a rule and its job cannot drift)."""
    for role, declared in ((INPUT, inputs), (OUTPUT, outputs)):
        want = set(spec.names(role))
        got = set(declared)
        extra = got - want
        absent = {f.name for f in spec.role_fields(role) if f.default is MISSING} - got
        if extra or absent:
            raise ConfigError(f"rule of stage {spec.stage}: its {role} names "
                              f"{sorted(got)} are not those of {spec.__name__} "
                              f"({sorted(want)})")


@dataclass(frozen=True)
class LogsJob(JobSpec):
    """The run's logs job: the controller files (+ network check) -> ombt, agents and
    histogram tables; the agents' own logs -> messages and timeline tables (when the
    messages stage is on: ``messages`` and ``timeline`` given) and the per-message
    table (``per_message`` given)."""

    stage: ClassVar[str] = "run_logs"
    #: the run folder ("" when unknown) and why it is unusable ("" when it is fine)
    folder: str
    folder_problem: str
    #: the digest of the run's params.json entry, unused by the job; in the spec so that
    #: changing the entry re-runs this run only, whatever its size
    run_params_sha256: str
    controller_logs: list[str] = input_field()
    #: the run's <host>.out network check files (ombt_postmortem.netcheck)
    netcheck: list[str] = input_field()
    #: every other *.log of the run; the agents' logs are told by their first line
    agent_logs: list[str] = input_field()
    ombt: str = output_field()
    agents: str = output_field()
    hist: str = output_field()
    messages: str | None = output_field(optional=True)
    timeline: str | None = output_field(optional=True)
    per_message: str | None = output_field(optional=True)


@dataclass(frozen=True)
class InfluxJob(JobSpec):
    """The run's InfluxDB job: restore its backup in a private server, query the run's
    window, taken from the controller files or, when they give none, from the agents'
    own logs."""

    stage: ClassVar[str] = "influx_metrics"
    #: the stage's config (config.yaml `influx:`), without the job's resources
    influx: dict[str, Any]
    #: the workflow's folder: relative query files are found from it
    base_dir: str
    #: the job's memory beyond the server's (MB)
    overhead_mb: int
    controller_logs: list[str] = input_field()
    agent_logs: list[str] = input_field()
    #: the run's influxdb-data.tar.gz, or nothing (the job reports it missing)
    tar: list[str] = input_field()
    metrics: str = output_field()
    timeseries: str | None = output_field(optional=True)


#: the per-run stages, by name
STAGES: dict[str, type[JobSpec]] = {s.stage: s for s in (LogsJob, InfluxJob)}
