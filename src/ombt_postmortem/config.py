"""The workflow configuration: its schema is the one home of every key and default.

The schema, ``config.schema.yaml`` of the package's data (:mod:`ombt_postmortem.data`:
``src/ombt_postmortem/data/`` in a clone), lists the allowed keys (every section
has ``additionalProperties: false``, so a typo is an error naming the key), their
types and their defaults. Snakemake validates ``config`` against it and fills the
defaults (``snakemake.utils.validate``); this module does the same from plain
Python, so that the library's dataclasses (:class:`~.influx.config.InfluxConfig`,
:class:`~.figspec.FigureOptions`) take their defaults from the schema rather
than carrying copies of them.

No Snakemake import here; jsonschema is imported on first use, never in a job's
process (:func:`trust_validated`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import data
from .errors import ConfigError

#: the configuration schema, shipped in the package (the Snakefile validates against it too)
SCHEMA_PATH = data.path("config.schema.yaml")


@cache
def _schema() -> dict[str, Any]:
    try:
        text = SCHEMA_PATH.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"the configuration schema {SCHEMA_PATH} is unreadable: {e}") from None
    loaded = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(loaded, dict):
        raise ConfigError(f"the configuration schema {SCHEMA_PATH} is not a mapping")
    return loaded


def schema(section: str | None = None) -> dict[str, Any]:
    """A copy of the whole schema, or of the sub-schema of one top-level ``section``."""
    full = _schema()
    if section is None:
        return copy.deepcopy(full)
    try:
        return copy.deepcopy(full["properties"][section])
    except KeyError:
        raise ConfigError(f"no configuration section {section!r} in {SCHEMA_PATH}") from None


@cache
def _validator(section: str | None) -> Any:
    return _default_filling_validator(schema(section))


def _default_filling_validator(sub: Mapping[str, Any]) -> Any:
    """jsonschema's validator extended to fill defaults, as ``snakemake.utils.validate`` does.

    The recipe of the jsonschema FAQ: each ``properties`` keyword first sets the
    absent keys to (a copy of) their ``default``, then validates, so the
    defaults of a section given as ``default: {}`` are filled in turn.
    """
    from jsonschema import Draft202012Validator, validators

    validate_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping[str, Any], instance: Any,
                     schema_: Mapping[str, Any]) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema_)

    # a tuple is an array too: the dataclasses hold their lists as tuples
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "array", lambda _checker, value: isinstance(value, list | tuple))
    cls = validators.extend(Draft202012Validator, {"properties": set_defaults},
                            type_checker=types)
    return cls(sub)


def _where(prefix: str, path: Iterator[Any] | Any) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in path]
    return ".".join(parts) or "top level"


#: set by :func:`trust_validated`: validate() only fills the defaults
_TRUSTED = False


def trust_validated() -> None:
    """For a job's process: the workflow validated its configuration against the schema
    (``validate()`` in the Snakefile) before it wrote the job's spec, so :func:`validate`
    from now on only fills the defaults, and jsonschema is never imported."""
    global _TRUSTED
    _TRUSTED = True


def fill_defaults(data: Mapping[str, Any] | None, section: str | None = None
                  ) -> dict[str, Any]:
    """A copy of ``data`` with the schema's defaults filled, unchecked: what
    :func:`validate` returns for valid data, without jsonschema."""
    def fill(instance: Any, sub: Mapping[str, Any]) -> None:
        if not isinstance(instance, dict):
            return
        for name, subschema in (sub.get("properties") or {}).items():
            if "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
            if name in instance:
                fill(instance[name], subschema)

    instance = copy.deepcopy(dict(data or {}))
    fill(instance, _schema() if section is None else _schema()["properties"][section])
    return instance


def validate(data: Mapping[str, Any] | None, section: str | None = None) -> dict[str, Any]:
    """``data`` validated against the schema (or one section's), with the defaults filled.

    Returns a new dict (``data`` is not changed). Raises :class:`ConfigError`
    naming the key at fault, e.g. ``influx: unknown key 'windw_margin_s'``.
    After :func:`trust_validated`, only fills the defaults.
    """
    if _TRUSTED:
        return fill_defaults(data, section)
    instance = copy.deepcopy(dict(data or {}))
    errors = sorted(_validator(section).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("invalid configuration: "
                          + "; ".join(_describe(e, section) for e in errors))
    return instance


def _describe(error: Any, section: str | None) -> str:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "[...] is not valid under any of the given schemas" says nothing: the deepest
        # reason among the alternatives does ("figures.format.1: 'gif' is not one of")
        error = max(error.context, key=lambda e: len(e.absolute_path))
    where = _where(section or "", error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(error.schema.get("properties") or {})
        unknown = sorted(str(k) for k in error.instance if k not in allowed)
        return (f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(k) for k in unknown)} (allowed: {', '.join(sorted(allowed))})")
    return f"{where}: {error.message}"


def defaults(section: str) -> dict[str, Any]:
    """The default values of one top-level ``section`` (e.g. ``influx``, ``figures``)."""
    return fill_defaults({}, section)


def main(argv: list[str] | None = None) -> int:
    """``python -m ombt_postmortem.config [FILE ...]``: print the configuration in effect.

    The files are merged in order (later keys win, sections merged key by key, as
    Snakemake merges ``--configfile``), validated, and printed with every default.
    Without a file: ``config/config.yaml`` of the current folder (a clone's, as
    ``snakemake`` run there reads it).
    """
    import sys

    paths = (sys.argv[1:] if argv is None else argv) or ["config/config.yaml"]
    merged: dict[str, Any] = {}
    try:
        for p in paths:
            try:
                text = Path(p).read_text(encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"cannot read the configuration file {p}: {e}") from None
            _merge(merged, yaml.safe_load(text) or {})
        full = validate(merged)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(yaml.safe_dump(full, sort_keys=False), end="")
    return 0


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


if __name__ == "__main__":
    raise SystemExit(main())
