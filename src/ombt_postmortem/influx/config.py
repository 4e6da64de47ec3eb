"""The InfluxDB stage's settings: the ``influx`` section of the workflow config.

Its keys, types and defaults have one home, the configuration schema
(``data/config.schema.yaml``, read by :mod:`ombt_postmortem.config`);
:class:`InfluxConfig` reads its defaults there and checks every instance against it.
The query set named by ``influx.queries`` is loaded here, once
(:mod:`ombt_postmortem.influx.queries`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ombt_postmortem import config
from ombt_postmortem.errors import ConfigError
from ombt_postmortem.influx.queries import QuerySet, resolve_query_set_path

#: the defaults of the ``influx`` section, read from the configuration schema (their one home)
_DEFAULTS = config.defaults("influx")


@dataclass(frozen=True)
class InfluxConfig:
    """The ``influx`` section of the workflow config.

    Keys, types and defaults are those of the configuration schema
    (see :mod:`ombt_postmortem.config`): the defaults below are read from it, and
    every instance is checked against it (a :class:`~ombt_postmortem.errors.ConfigError`
    naming the key).
    """

    backend: str = _DEFAULTS["backend"]
    database: str = _DEFAULTS["database"]
    window_margin_s: float = _DEFAULTS["window_margin_s"]
    #: margin of the exported time series (None: the queries' window_margin_s); a wider
    #: export shows the run in context (figures) without changing the metrics
    export_margin_s: float | None = _DEFAULTS["export_margin_s"]
    export_timeseries: bool = _DEFAULTS["export_timeseries"]
    max_extract_mb: float = _DEFAULTS["max_extract_mb"]
    ready_timeout_s: float = _DEFAULTS["ready_timeout_s"]
    #: path of a query-set YAML, a preset name (``telegraf``: a file of the package,
    #: :data:`~ombt_postmortem.influx.queries.PRESETS_DIR`),
    #: or an inline query set (mapping with ``queries`` and ``timeseries``)
    queries: str | Mapping[str, Any] = _DEFAULTS["queries"]
    #: ``image`` and ``base_url`` of the docker backend (missing keys: the schema's defaults)
    docker: Mapping[str, Any] = field(default_factory=lambda: dict(_DEFAULTS["docker"]))
    #: where the private temp folders go (None: $TMPDIR / the system default)
    tmpdir: str | None = _DEFAULTS["tmpdir"]
    #: folder against which a relative ``queries`` path is resolved first
    base_dir: str | None = None
    query_set: QuerySet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {k: getattr(self, k) for k in _SECTION_FIELDS}
        if isinstance(values["queries"], Mapping):
            values["queries"] = dict(values["queries"])
        values["docker"] = dict(self.docker or {})
        checked = config.validate(values, "influx")  # types, ranges, unknown docker keys
        for name in ("window_margin_s", "max_extract_mb", "ready_timeout_s", "export_margin_s"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):  # JSON has no NaN: Python has
                raise ConfigError(f"invalid configuration: influx.{name}: {v!r} is not finite")
        object.__setattr__(self, "docker", checked["docker"])
        if isinstance(self.queries, Mapping):
            qs = QuerySet.from_dict(self.queries, source="influx.queries",
                                    base_dir=self.base_dir)
        else:
            qs = QuerySet.load(resolve_query_set_path(self.queries, self.base_dir))
        object.__setattr__(self, "query_set", qs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, *,
                  base_dir: Path | str | None = None) -> InfluxConfig:
        """Build from the config's ``influx`` mapping; missing or null keys take the defaults.

        An unknown key is a :class:`~ombt_postmortem.errors.ConfigError` naming it;
        ``enabled``, ``threads`` and ``mem_mb`` are allowed and left to the caller
        (they decide whether the stage runs and the job's resources).
        """
        given = {k: v for k, v in dict(d or {}).items() if v is not None}
        if isinstance(given.get("docker"), Mapping):
            given["docker"] = {k: v for k, v in given["docker"].items() if v is not None}
        full = config.validate(given, "influx")
        kwargs = {k: full[k] for k in _SECTION_FIELDS}
        if base_dir is not None:
            kwargs["base_dir"] = str(base_dir)
        return cls(**kwargs)


#: the fields of InfluxConfig that are keys of the schema's ``influx`` section
_SECTION_FIELDS = tuple(f for f in InfluxConfig.__dataclass_fields__
                        if f not in ("base_dir", "query_set"))
