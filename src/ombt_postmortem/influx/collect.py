"""One run's metrics: restore its backup, serve it, query its window, export, clean up.

:func:`collect_run_metrics` restores the run's archive (:mod:`.restore`), starts a
server on it (:mod:`.backends`), finds the database holding the run's data, runs the
query set over the run's window (one value per query, and the notes saying why a
value is NaN), exports the time series (:mod:`.export`), and always stops the
server and deletes the folder. Data faults (no window, bad archive, server failing
on the restored data, database missing) raise
:class:`~ombt_postmortem.errors.RunDataError`; a missing measurement or field is
NaN, never an error. The stage (:mod:`.stage`) calls it once per run.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ombt_postmortem import arrow_io as aio
from ombt_postmortem.errors import RunDataError
from ombt_postmortem.influx.backends.choose import open_server
from ombt_postmortem.influx.backends.ready import ServerNotReady
from ombt_postmortem.influx.backends.server import Limits
from ombt_postmortem.influx.client import influx_client, run_query
from ombt_postmortem.influx.config import InfluxConfig
from ombt_postmortem.influx.export import empty_timeseries, export_timeseries
from ombt_postmortem.influx.queries import (
    QuerySet,
    epoch_ns,
    identifier,
    string_literal,
    template_measurements,
    time_literal,
)
from ombt_postmortem.influx.restore import restored

if TYPE_CHECKING:
    import pandas as pd
    from influxdb import InfluxDBClient

log = logging.getLogger(__name__)

INTERNAL_DB = "_internal"


# --------------------------------------------------------------------------- result


@dataclass
class RunMetrics:
    values: dict[str, float]
    #: long form: measurement, field, host, role, any other tag, time (UTC), value
    timeseries_table: pa.Table
    notes: list[str] = field(default_factory=list)
    database: str | None = None
    backend: str | None = None
    window: tuple[float, float] | None = None  # the queried window, margin included
    #: seconds per step: extract, start_to_ready, queries, export, stop, cleanup
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def timeseries(self) -> pd.DataFrame:
        """The exported time series as pandas (imported on first use)."""
        return aio.to_frame(self.timeseries_table)


# --------------------------------------------------------------------------- the run


class _RunLog:
    """Lines of the stage appended to the rule's log (shared with influxd's output)."""

    def __init__(self, run: str, path: Path | None) -> None:
        self.run, self.path = run, path

    def __call__(self, msg: str) -> None:
        log.info("run %s: %s", self.run, msg)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(f"[ombt-postmortem] {msg}\n")


def check_window(run: str, window: tuple[float, float] | None) -> tuple[float, float]:
    """The run's test window as two finite epoch seconds with 0 < start <= stop, or a
    RunDataError: the stage's one check of the window (None: the ombt statistics,
    and the agents' logs, gave no start/stop time)."""
    if window is None:
        raise RunDataError(run, None, "no test window: the ombt statistics have no "
                                      "start/stop time (see the run's ombt problems)")
    try:
        start, stop = (float(window[0]), float(window[1]))
    except (TypeError, ValueError, IndexError):
        raise RunDataError(run, None, f"invalid test window {window!r}") from None
    if not (math.isfinite(start) and math.isfinite(stop)) or stop < start or start <= 0:
        raise RunDataError(run, None, f"invalid test window {window!r}")
    return start, stop


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def collect_run_metrics(
    run: str,
    tar_path: Path | None,
    window: tuple[float, float] | None,
    cfg: InfluxConfig,
    log_path: Path | None,
    limits: Limits,
) -> RunMetrics:
    """Restore ``tar_path``, serve it, query the window, export the series; clean up always.

    ``window`` is (min start, max stop) of the run's clients and servers, epoch
    seconds; it is widened by ``cfg.window_margin_s`` on both sides.
    """
    start, stop = check_window(run, window)
    if tar_path is None:
        raise RunDataError(run, None, "no influxdb-data.tar.gz in the run's backup folder")
    tar_path = Path(tar_path)
    log_path = Path(log_path) if log_path is not None else None
    note = _RunLog(run, log_path)
    lo, hi = start - cfg.window_margin_s, stop + cfg.window_margin_s
    lo_ns, hi_ns = epoch_ns(lo), epoch_ns(hi, up=True)
    out = RunMetrics(values={}, timeseries_table=empty_timeseries(), window=(lo, hi))
    qs = cfg.query_set
    note(f"run {run}: window {_iso(lo)} .. {_iso(hi)} (margin {cfg.window_margin_s:g} s), "
         f"archive {tar_path}, query set {qs.source}")
    t = time.monotonic()
    with restored(run, tar_path, cfg.max_extract_mb, tmp_root=cfg.tmpdir) as data_dir:
        out.timings["extract"] = time.monotonic() - t
        t = time.monotonic()
        entered = False
        try:
            with open_server(cfg.backend, data_dir, limits, log_path, cfg.ready_timeout_s,
                             cfg.docker) as server:
                entered = True
                out.backend = server.backend
                out.timings["start_to_ready"] = time.monotonic() - t
                note(f"{server.backend} server ready at {server.url} in "
                     f"{out.timings['start_to_ready']:.3f} s")
                t = time.monotonic()
                client = influx_client(server.url)
                try:
                    out.database, present = resolve_database(
                        run, tar_path, client, cfg.database, qs.measurements, out.notes)
                    if qs.buses:
                        out.notes.append(bus_note(run, tar_path, client, out.database, qs,
                                                  present))
                    out.values = _run_queries(run, tar_path, client, out.database, qs,
                                              lo_ns, hi_ns, out.notes, present)
                    if qs.queries and all(math.isnan(v) for v in out.values.values()):
                        out.notes.append(all_nan_note(run, tar_path, client, out.database,
                                                      qs, present, lo, hi))
                    out.timings["queries"] = time.monotonic() - t
                    t = time.monotonic()
                    if cfg.export_timeseries:
                        em = cfg.window_margin_s if cfg.export_margin_s is None \
                            else cfg.export_margin_s
                        out.timeseries_table = export_timeseries(
                            run, tar_path, server.url, out.database, qs, epoch_ns(start - em),
                            epoch_ns(stop + em, up=True), out.notes)
                    out.timings["export"] = time.monotonic() - t
                finally:
                    client.close()
                _hold(server.url, note)
                t = time.monotonic()
        except ServerNotReady as e:
            # before the server answered: it failed on the restored data (an engine or
            # image fault is a DockerBackendError, not a ServerNotReady: it propagates)
            if entered:
                raise
            raise RunDataError(run, tar_path, "InfluxDB failed to start on the restored data: "
                               + " | ".join(str(e).splitlines())) from None
        out.timings["stop"] = time.monotonic() - t
        t = time.monotonic()
    out.timings["cleanup"] = time.monotonic() - t
    for n in out.notes:
        note(n)
    note("timings (s): " + ", ".join(f"{k} {v:.3f}" for k, v in out.timings.items()))
    return out


HOLD_ENV = "OMBT_POSTMORTEM_HOLD_S"


def _hold(url: str, note: _RunLog) -> None:
    """With OMBT_POSTMORTEM_HOLD_S=N, keep the run's server up N more seconds.

    For looking at a run's database by hand (``influx -port ...``) while its
    job waits; the server is stopped and the folder deleted afterwards as usual.
    """
    try:
        hold = float(os.environ.get(HOLD_ENV, "0") or 0)
    except ValueError:
        hold = 0.0
    if hold > 0:
        note(f"{HOLD_ENV}={hold:g}: holding the server at {url} for {hold:g} s")
        time.sleep(hold)


def _databases(run: str, tar_path: Path, client: InfluxDBClient) -> list[str]:
    result = run_query(run, tar_path, client, "SHOW DATABASES", None, "SHOW DATABASES")
    return [row[0] for s in result.get("series", []) for row in s.get("values", [])]


def _measurements(run: str, tar_path: Path, client: InfluxDBClient, db: str) -> set[str]:
    result = run_query(run, tar_path, client, "SHOW MEASUREMENTS", db, f"SHOW MEASUREMENTS ({db})")
    return {str(row[0]) for s in result.get("series", []) for row in s.get("values", [])}


def resolve_database(run: str, tar_path: Path, client: InfluxDBClient, wanted: str,
                     queried: list[str], notes: list[str]) -> tuple[str, set[str]]:
    """The database holding the run's data, and the queried measurements it holds.

    ``wanted`` (influx.database) when it holds one of the ``queried`` measurements;
    otherwise the one user database that does, said in ``notes``. Several or none:
    a :class:`RunDataError` naming the databases. ombt-orchestrator 1.1.x writes to
    ``ombt-orchestrator`` and creates an empty ``telegraf`` beside it
    (roles/telegraf/templates/telegraf.conf.j2, roles/influxdb/tasks/deploy.yml);
    earlier versions wrote to ``telegraf``.
    """
    names = _databases(run, tar_path, client)
    users = [n for n in names if n != INTERNAL_DB]
    wanted_set = set(queried)
    holding: dict[str, set[str]] = {}
    for db in users:
        found = _measurements(run, tar_path, client, db) & wanted_set
        if found:
            holding[db] = found
    if wanted in holding:
        return wanted, holding[wanted]
    if len(holding) == 1:
        (db, found), = holding.items()
        why = "absent" if wanted not in names else "holds none of the queried measurements"
        notes.append(f"database {wanted} {why}: used {db}, the one database holding them")
        return db, found
    listed = ", ".join(names) if names else "none"
    if holding:
        raise RunDataError(run, tar_path, "several databases hold the queried measurements ("
                           + ", ".join(sorted(holding)) + f"), none is influx.database "
                           f"{wanted}: set influx.database to one of them")
    raise RunDataError(run, tar_path, f"no database holds any queried measurement "
                                      f"({', '.join(queried) or 'none'}); databases found: "
                                      f"{listed}")


def bus_note(run: str, tar_path: Path, client: InfluxDBClient, db: str, qs: QuerySet,
             present: set[str]) -> str:
    """``bus: rabbitmq (...)``, ``bus: qdr (...)`` or ``bus: none ...``: the query set's
    buses with a series (of the bus's role, if it has one) in ``db``."""
    found: list[str] = []
    for bus in qs.buses:
        ms = [m for m in bus.measurements if m in present]
        if not ms:
            continue
        if bus.role is not None:
            q = (f"SHOW SERIES FROM {', '.join(identifier(m) for m in ms)} "
                 f"WHERE \"role\" = {string_literal(bus.role)} LIMIT 1")
            if not run_query(run, tar_path, client, q, db, f"bus {bus.name}").get("series"):
                continue
        role = f" of role {bus.role}" if bus.role is not None else ""
        found.append(f"{bus.name} ({', '.join(ms)}{role})")
    if not found:
        return ("bus: none found (no series of "
                + ", ".join(m for b in qs.buses for m in b.measurements) + ")")
    return "bus: " + " and ".join(found)


def all_nan_note(run: str, tar_path: Path, client: InfluxDBClient, db: str, qs: QuerySet,
                 present: set[str], lo: float, hi: float) -> str:
    """Why every metric is NaN: no point of the queried measurements in the window (and
    where the database's points are), or points the queries do not select."""
    window = f"{_iso(lo)} .. {_iso(hi)}"
    inside = (f"time >= {time_literal(epoch_ns(lo))} "
              f"AND time <= {time_literal(epoch_ns(hi, up=True))}")
    spans, in_window = [], False
    for m in sorted(present):
        for order, where in (("ASC", ""), ("DESC", ""), ("ASC", f" WHERE {inside}")):
            r = run_query(run, tar_path, client, f"SELECT * FROM {identifier(m)}{where} "
                       f"ORDER BY time {order} LIMIT 1", db, f"a point of {m}")
            times = [row[0] for s in r.get("series", []) for row in s.get("values", [])]
            if where:
                in_window = in_window or bool(times)
            else:
                spans.extend(times)
    if not spans:
        return f"every metric is NaN: database {db} holds no point of the queried measurements"
    held = (f"database {db} holds points from {_iso(min(spans) / 1e9)} to "
            f"{_iso(max(spans) / 1e9)}")
    if not in_window:
        return (f"every metric is NaN: no point of the queried measurements in the window "
                f"{window} (shorter than the sampling interval, or outside the data: "
                f"{held})")
    return (f"every metric is NaN: the window {window} has points of the queried "
            "measurements, but none that the queries select (fields, roles or tags absent, "
            "or fewer samples than a counter needs)")



def _run_queries(run: str, tar_path: Path, client: InfluxDBClient, db: str, qs: QuerySet,
                 lo_ns: int, hi_ns: int, notes: list[str],
                 present: set[str] | None = None) -> dict[str, float]:
    """One value per query. A query whose measurements are all absent from ``db`` is
    NaN without being run, and those columns are said in one note, by measurement."""
    values: dict[str, float] = {}
    absent: dict[tuple[str, ...], list[str]] = {}
    nodata: list[str] = []
    for spec in qs.queries:
        ms = template_measurements(spec.template)
        if present is not None and ms and not set(ms) & present:
            absent.setdefault(tuple(ms), []).append(spec.column)
            values[spec.column] = math.nan
            continue
        if hi_ns <= lo_ns and spec.uses_duration:  # a rate over a window of no length
            nodata.append(spec.column)
            values[spec.column] = math.nan
            continue
        q = spec.render(lo_ns, hi_ns)
        result = run_query(run, tar_path, client, q, db, spec.column)
        values[spec.column] = _scalar(spec.column, result, notes, nodata)
    if nodata:
        notes.append("no data in the window (no point of the field in it; a counter's "
                     f"in-run count and rate need two): NaN: {', '.join(nodata)}")
    if absent:
        ms = sorted({m for k in absent for m in k})
        cols = [c for v in absent.values() for c in v]
        notes.append(f"NaN (measurement{'s' if len(ms) > 1 else ''} {', '.join(ms)} absent "
                     f"from database {db}): {', '.join(cols)}")
    return values


def _scalar(column: str, result: dict[str, Any], notes: list[str],
            nodata: list[str] | None = None) -> float:
    series = result.get("series") or []
    if not series:
        if nodata is not None:
            nodata.append(column)
        else:
            notes.append(f"{column}: no data in the window (measurement or field absent): NaN")
        return math.nan
    rows = series[0].get("values") or []
    if len(series) > 1 or len(rows) > 1:
        raise ValueError(f"query of {column} must return one value, got {len(series)} "
                         f"series and {len(rows)} rows: fix its template")
    cols = series[0].get("columns") or []
    idx = next((i for i, c in enumerate(cols) if c != "time"), None)
    if not rows or idx is None:
        notes.append(f"{column}: empty result: NaN")
        return math.nan
    value = rows[0][idx]
    if value is None:
        notes.append(f"{column}: null in the window: NaN")
        return math.nan
    if isinstance(value, bool | int | float):
        return float(value)
    notes.append(f"{column}: non-numeric value {value!r}: NaN")
    return math.nan
