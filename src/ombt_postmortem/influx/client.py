"""The HTTP client of a run's InfluxDB server: the ``influxdb`` 1.x client, one query at a time.

:func:`influx_client` builds the client (msgpack bodies, no gzip, no credentials,
no retries), imported on first use without pandas; :func:`client_query` runs one
statement, a failure an :class:`~ombt_postmortem.errors.InfluxQueryError`;
:func:`run_query` does so for one run, a failure a
:class:`~ombt_postmortem.errors.RunDataError` naming the run and its archive.
"""

from __future__ import annotations

import importlib
import json
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ombt_postmortem.errors import InfluxQueryError, RunDataError
from ombt_postmortem.keepout import refused

if TYPE_CHECKING:
    from influxdb import InfluxDBClient


#: headers of every request (requests' session would otherwise ask for gzip)
CLIENT_HEADERS = {"Accept": "application/x-msgpack", "Accept-Encoding": "identity"}


def _client_class() -> type[InfluxDBClient]:
    """``influxdb.InfluxDBClient``, imported on first use without pulling pandas in.

    The package's ``__init__`` imports its DataFrameClient, which imports pandas when
    it can (0.4 s, and the per-run jobs keep pandas out: jobs.keep_unneeded_out);
    pandas is refused during that import, so influxdb.DataFrameClient is the
    package's stub in this process (nothing here uses it).
    """
    if "influxdb.client" not in sys.modules and "pandas" not in sys.modules:
        with refused("pandas", by="while influxdb.client is imported"):
            importlib.import_module("influxdb.client")
    from influxdb.client import InfluxDBClient
    return InfluxDBClient


def influx_client(url: str, *, timeout_s: float = 300.0) -> InfluxDBClient:
    """An ``influxdb`` 1.x client of the server at ``url`` (``http://host:port[/path]``).

    It asks for msgpack bodies (InfluxDB >= 1.4 answers them; older servers
    answer JSON, which the client reads too), not gzipped (on loopback, gzip only
    costs CPU on both ends: +50% on the export), no credentials, no retries.
    """
    client_class = _client_class()
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"not an InfluxDB URL: {url!r}")
    return client_class(host=u.hostname, port=u.port or (443 if u.scheme == "https" else 80),
                        username=None, password=None, ssl=u.scheme == "https",
                        verify_ssl=u.scheme == "https", timeout=timeout_s, retries=1,
                        path=u.path.strip("/"), headers=dict(CLIENT_HEADERS))


def _error_text(e: Exception) -> str:
    content = getattr(e, "content", None) or str(e)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    try:
        err = json.loads(content)
    except ValueError:
        return str(content)
    return str(err.get("error", content)) if isinstance(err, dict) else str(content)


def client_query(client: InfluxDBClient, q: str, db: str | None = None, *,
                 epoch: str = "ns") -> dict[str, Any]:
    """Run one statement; return its result object (``series``...), raise InfluxQueryError."""
    from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError
    from requests.exceptions import RequestException

    try:
        res = client.query(q, database=db, epoch=epoch)
    except (InfluxDBClientError, InfluxDBServerError) as e:
        raise InfluxQueryError(_error_text(e)) from None
    except RequestException as e:
        raise InfluxQueryError(f"no answer from {client._baseurl}: {e}") from None
    if isinstance(res, list):  # the client returns a list unless exactly one result
        res = res[0] if res else None
    return dict(res.raw) if res is not None else {}


def run_query(run: str, tar_path: Path, client: InfluxDBClient, q: str, db: str | None,
              what: str) -> dict[str, Any]:
    """:func:`client_query` for run ``run``: a failure is a RunDataError naming the run,
    its archive, ``what`` was asked and the query."""
    try:
        return client_query(client, q, db)
    except InfluxQueryError as e:
        raise RunDataError(run, tar_path, f"query {what} failed: {e} (query: {q})") from None
