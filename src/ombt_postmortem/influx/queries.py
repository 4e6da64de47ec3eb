"""Queries as configuration: InfluxQL templates with safely rendered placeholders.

A query set (YAML, e.g. the preset ``telegraf``: ``ombt_postmortem/data/queries/telegraf.yaml``)
has these lists::

    queries:                     # one result column each
      - column: min_usage_idle_bus
        role: bus                # only when the template uses {role}
        template: >-
          SELECT min("usage_idle") FROM (SELECT mean("usage_idle") AS "usage_idle"
          FROM "cpu" WHERE "role" = {role} AND time >= {start} AND time <= {stop}
          GROUP BY "host")
    timeseries:                  # raw points exported per run (long form)
      - measurement: cpu
        fields: [usage_idle, usage_user]   # or "*" for every field
    buses:                       # how a run's bus is recognised (optional)
      - name: rabbitmq
        measurements: [rabbitmq_overview, rabbitmq_node]
        role: bus                # only series with this role tag count (optional)
    include: [qdr.yaml]          # other query sets appended (paths relative to this file)

A run's bus is named in its notes from the ``buses`` whose measurements have a
series in the run's database (``none`` when no bus's do). ``include`` appends the
queries, time series and buses of other query sets (a column or bus defined
twice is an error). The measurements a query set reads (the ``FROM`` of
its templates, its time series and buses) decide which database of a backup
holds the run's data (:func:`ombt_postmortem.influx.collect.resolve_database`).

Placeholders: ``{start}`` and ``{stop}`` (mandatory in every template: every
query is restricted to the run's window, widened by the query's own ``margin_s``
seconds, default 0) become RFC3339 string literals with nanosecond precision;
``{duration_s}`` is the run's window in seconds (without ``margin_s``), a number;
``{role}`` becomes an InfluxQL string literal. Literal
braces are written ``{{`` ``}}``. Values are escaped, never pasted: a role with
control characters is refused, quotes and backslashes are escaped. Templates
must be one ``SELECT`` statement without ``INTO`` (queries only read).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import yaml

from ombt_postmortem import data
from ombt_postmortem.errors import ConfigError

PLACEHOLDERS = frozenset({"start", "stop", "role", "duration_s"})
#: the largest per-query ``margin_s`` accepted (an hour: beyond, a typo)
_MAX_MARGIN_S = 3600.0
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_VALUE_LEN = 256


class QueryConfigError(ConfigError):
    """The query set is invalid (a configuration error, not a data fault)."""


# --------------------------------------------------------------------------- escaping


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise QueryConfigError(f"{what} must be a string, not {type(value).__name__}: {value!r}")
    if not value or len(value) > _MAX_VALUE_LEN:
        raise QueryConfigError(f"{what} must have 1 to {_MAX_VALUE_LEN} characters: {value!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise QueryConfigError(f"{what} contains control characters: {value!r}")
    return value


def string_literal(value: str) -> str:
    """``value`` as an InfluxQL single-quoted string literal."""
    v = _check_text(value, "string value")
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(name: str) -> str:
    """``name`` as an InfluxQL double-quoted identifier."""
    v = _check_text(name, "identifier")
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def epoch_ns(t: float, *, up: bool = False) -> int:
    """Epoch seconds -> integer nanoseconds, exact on the float's shortest decimal form.

    Rounds down (a window start) or up (``up=True``, a window stop) so the
    window never shrinks.
    """
    if not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t):
        raise ValueError(f"not a finite epoch time: {t!r}")
    ns = Decimal(repr(float(t))) * 1_000_000_000
    return int(ns.to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))


def time_literal(ns: int) -> str:
    """Epoch ns as an InfluxQL RFC3339 literal, e.g. ``'2026-11-28T08:37:39.125122800Z'``."""
    sec, frac = divmod(int(ns), 1_000_000_000)
    stamp = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"'{stamp}.{frac:09d}Z'"


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class QuerySpec:
    """One result column computed by one InfluxQL template.

    ``margin_s`` widens this query's window on both sides (beyond the run's window):
    a cumulative counter sampled every N s, read with ``margin_s: N``, has a sample
    before the run and one after it in every series, so its spread is the whole
    run's increase, not the part between the samples that fall inside the run.
    ``{duration_s}`` is the run's window in seconds (without ``margin_s``): a
    per-second rate is that increase divided by it.
    """

    column: str
    template: str
    role: str | None = None
    margin_s: float = 0.0

    @property
    def uses_duration(self) -> bool:
        return "duration_s" in _placeholders(self.template, self.column)

    def render(self, start_ns: int, stop_ns: int) -> str:
        margin = int(round(self.margin_s * 1e9))
        values: dict[str, str] = {"start": time_literal(start_ns - margin),
                                  "stop": time_literal(stop_ns + margin),
                                  "duration_s": repr((stop_ns - start_ns) / 1e9)}
        if self.role is not None:
            values["role"] = string_literal(self.role)
        return self.template.format(**values).strip()


@dataclass(frozen=True)
class SeriesSpec:
    """A measurement whose raw points are exported; empty ``fields`` means all of them."""

    measurement: str
    fields: tuple[str, ...] = ()

    def render(self, start_ns: int, stop_ns: int) -> str:
        cols = ", ".join(identifier(f) for f in self.fields) if self.fields else "*"
        return (f"SELECT {cols} FROM {identifier(self.measurement)} "
                f"WHERE time >= {time_literal(start_ns)} AND time <= {time_literal(stop_ns)} "
                "GROUP BY *")


@dataclass(frozen=True)
class BusSpec:
    """A kind of bus, recognised by a series of one of ``measurements`` (of ``role``)."""

    name: str
    measurements: tuple[str, ...]
    role: str | None = None


#: ``FROM <measurement>`` in a template (a subquery's ``FROM (`` is not one)
_FROM = re.compile(r"\bFROM\s+(\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


def template_measurements(template: str) -> list[str]:
    """The measurements named after ``FROM`` in ``template`` (quoted or bare), in order."""
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", template)  # string literals hold no FROM
    out = []
    for m in _FROM.findall(code):
        name = re.sub(r"\\(.)", r"\1", m[1:-1]) if m.startswith('"') else m
        if name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class QuerySet:
    queries: tuple[QuerySpec, ...]
    timeseries: tuple[SeriesSpec, ...]
    source: str = "<inline>"
    buses: tuple[BusSpec, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [q.column for q in self.queries]

    @property
    def measurements(self) -> list[str]:
        """Every measurement the set reads: its templates', time series' and buses'."""
        out: list[str] = []
        names = [m for q in self.queries for m in template_measurements(q.template)]
        names += [s.measurement for s in self.timeseries]
        names += [m for b in self.buses for m in b.measurements]
        for n in names:
            if n not in out:
                out.append(n)
        return out

    def column_measurements(self, column: str) -> list[str]:
        """The measurements the template of ``column`` reads."""
        spec = next(q for q in self.queries if q.column == column)
        return template_measurements(spec.template)

    @classmethod
    def load(cls, path: Path | str, *, _seen: tuple[Path, ...] = ()) -> QuerySet:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise QueryConfigError(f"cannot read the query set {path}: {e}") from None
        return cls.from_dict(data, source=str(path), base_dir=path.parent,
                             _seen=(*_seen, path.resolve()))

    @classmethod
    def from_dict(cls, data: object, source: str = "<inline>", *,
                  base_dir: Path | str | None = None,
                  _seen: tuple[Path, ...] = ()) -> QuerySet:
        if not isinstance(data, Mapping):
            raise QueryConfigError(f"{source}: a query set is a mapping with 'queries' "
                                   "and optionally 'timeseries'")
        unknown = set(data) - {"queries", "timeseries", "description", "buses", "include"}
        if unknown:
            raise QueryConfigError(f"{source}: unknown keys {sorted(unknown)}")
        queries = tuple(_query_spec(q, f"{source}: queries[{i}]")
                        for i, q in enumerate(_list(data, "queries", source)))
        series = tuple(_series_spec(s, f"{source}: timeseries[{i}]")
                       for i, s in enumerate(_list(data, "timeseries", source)))
        buses = tuple(_bus_spec(b, f"{source}: buses[{i}]")
                      for i, b in enumerate(_list(data, "buses", source)))
        for inc in _list(data, "include", source, "a list of query sets"):
            path = resolve_query_set_path(inc, base_dir)
            if path.resolve() in _seen:
                raise QueryConfigError(f"{source}: include {inc!r} includes itself")
            other = cls.load(path, _seen=_seen)
            queries += other.queries
            series += other.timeseries
            buses += other.buses
        for what, names in (("column", [q.column for q in queries]),
                            ("bus", [b.name for b in buses])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise QueryConfigError(f"{source}: {what} {twice[0]!r} is defined twice")
        return cls(queries=queries, timeseries=series, source=source, buses=buses)


def _list(data: Mapping[str, Any], key: str, source: str, what: str = "a list") -> Sequence[Any]:
    """``data[key]`` (absent or null: empty), refused unless it is a list."""
    raw = data.get(key) or []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise QueryConfigError(f"{source}: {key!r} must be {what}")
    return raw


def _query_spec(raw: object, where: str) -> QuerySpec:
    if not isinstance(raw, Mapping):
        raise QueryConfigError(f"{where} must be a mapping with column and template")
    unknown = set(raw) - {"column", "template", "role", "description", "margin_s"}
    if unknown:
        raise QueryConfigError(f"{where}: unknown keys {sorted(unknown)}")
    column, template, role = raw.get("column"), raw.get("template"), raw.get("role")
    margin = raw.get("margin_s", 0.0)
    if (not isinstance(margin, int | float) or isinstance(margin, bool)
            or not 0 <= margin <= _MAX_MARGIN_S):
        raise QueryConfigError(f"{where}: margin_s must be a number of seconds from 0 to "
                               f"{_MAX_MARGIN_S:g}, not {margin!r}")
    if not isinstance(column, str) or not _COLUMN.fullmatch(column):
        raise QueryConfigError(f"{where}: column must be a name like min_usage_idle_bus, "
                               f"not {column!r}")
    where = f"{where} ({column})"
    if not isinstance(template, str) or not template.strip():
        raise QueryConfigError(f"{where}: template must be a non-empty string")
    fields = _placeholders(template, where)
    if not {"start", "stop"} <= fields:
        raise QueryConfigError(f"{where}: the template must restrict the query to the run "
                               "window with both {start} and {stop}")
    if ("role" in fields) != (role is not None):
        raise QueryConfigError(f"{where}: 'role' must be given exactly when the template "
                               "uses {role}")
    if role is not None:
        string_literal(role)  # validates
    _check_read_only(template, where)
    return QuerySpec(column=column, template=template, role=role, margin_s=float(margin))


def _placeholders(template: str, where: str) -> set[str]:
    found: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise QueryConfigError(f"{where}: bad placeholder syntax ({e}); "
                               "write literal braces as {{ }}") from None
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conv:
            raise QueryConfigError(f"{where}: unknown placeholder {{{name}}}: only "
                                   f"{', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}")
        found.add(name)
    return found


def _check_read_only(template: str, where: str) -> None:
    code = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "''", template)  # drop literals
    if ";" in code:
        raise QueryConfigError(f"{where}: one statement per template (no ';')")
    if not re.match(r"\s*SELECT\b", code, re.IGNORECASE):
        raise QueryConfigError(f"{where}: a template is a SELECT statement")
    if not {"{start}", "{stop}"} <= set(re.findall(r"\{\w+\}", code)):
        raise QueryConfigError(f"{where}: placeholders are rendered as literals: do not quote "
                               "them ({start}, not '{start}')")
    if re.search(r"\bINTO\b", code, re.IGNORECASE):
        raise QueryConfigError(f"{where}: SELECT ... INTO writes to the database: refused")


def _series_spec(raw: object, where: str) -> SeriesSpec:
    if not isinstance(raw, Mapping):
        raise QueryConfigError(f"{where} must be a mapping with measurement and fields")
    unknown = set(raw) - {"measurement", "fields", "description"}
    if unknown:
        raise QueryConfigError(f"{where}: unknown keys {sorted(unknown)}")
    measurement = raw.get("measurement")
    _check_text(measurement, f"{where}: measurement")
    fields: Any = raw.get("fields", "*")
    if fields == "*":
        return SeriesSpec(measurement=str(measurement))
    if not isinstance(fields, Sequence) or isinstance(fields, str) or not fields:
        raise QueryConfigError(f"{where}: fields must be '*' or a non-empty list of names")
    for f in fields:
        _check_text(f, f"{where}: field")
    if len(set(fields)) != len(fields):
        raise QueryConfigError(f"{where}: duplicate fields")
    return SeriesSpec(measurement=str(measurement), fields=tuple(fields))


def _bus_spec(raw: object, where: str) -> BusSpec:
    if not isinstance(raw, Mapping):
        raise QueryConfigError(f"{where} must be a mapping with name and measurements")
    unknown = set(raw) - {"name", "measurements", "role", "description"}
    if unknown:
        raise QueryConfigError(f"{where}: unknown keys {sorted(unknown)}")
    name = _check_text(raw.get("name"), f"{where}: name")
    ms = raw.get("measurements")
    if not isinstance(ms, Sequence) or isinstance(ms, str) or not ms:
        raise QueryConfigError(f"{where}: measurements must be a non-empty list of names")
    for m in ms:
        _check_text(m, f"{where}: measurement")
    role = raw.get("role")
    if role is not None:
        string_literal(role)  # validates
    return BusSpec(name=name, measurements=tuple(ms), role=role)


# --------------------------------------------------------------------------- location


#: the query presets shipped in the package: ``influx.queries: telegraf`` is
#: ``ombt_postmortem/data/queries/telegraf.yaml``
PRESETS_DIR = data.path("queries")
_PRESET_NAME = re.compile(r"[A-Za-z0-9_-]+")


def preset_names() -> list[str]:
    """The names of the packaged query presets, e.g. ``["qdr", "telegraf"]``."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def resolve_query_set_path(value: str, base_dir: Path | str | None = None) -> Path:
    """Find a query set file: ``value`` is a preset name like ``telegraf``, or a path.

    A preset name is a file of the package (:data:`PRESETS_DIR`). A relative path is
    looked for under ``base_dir`` (e.g. the folder of the file that includes it),
    then the current folder. ``config/queries/<preset>.yaml``, where the presets were
    kept before they moved into the package, still names the preset when no such
    file is found (configurations written for that layout keep working).
    """
    if not isinstance(value, str) or not value:
        raise QueryConfigError(f"influx.queries must be a path or a preset name, not {value!r}")
    if _PRESET_NAME.fullmatch(value) and (PRESETS_DIR / f"{value}.yaml").is_file():
        return PRESETS_DIR / f"{value}.yaml"
    p = Path(value)
    if p.is_absolute():
        candidates = [p]
    else:
        bases = [Path(base_dir)] if base_dir is not None else []
        candidates = [b / p for b in [*bases, Path.cwd()]]
        if p.parent == Path("config", "queries") and p.suffix == ".yaml":
            candidates.append(PRESETS_DIR / p.name)
    for c in candidates:
        if c.is_file():
            return c
    raise QueryConfigError(f"query set {value!r} not found (looked for "
                           f"{', '.join(str(c) for c in candidates)}; the presets are "
                           f"{', '.join(preset_names())})")
