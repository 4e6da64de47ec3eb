"""A private ``influxd`` (InfluxDB 1.x binary) on a restored data folder.

:func:`native_server` writes a generated config (meta/data/wal inside the
given folder; HTTP and the RPC ``bind-address`` - 8088 by default - on free
ports of 127.0.0.1; reporting, self-monitoring, retention, continuous queries,
subscriptions and every other listener off), starts ``influxd`` with:

- ``GOMAXPROCS`` = ``Limits.threads`` (influxd 1.6 logs and honours it:
  ``msg="Go runtime" maxprocs=N``);
- ``GOMEMLIMIT`` = ``Limits.mem_mb`` MiB. This is a *soft* limit of the Go
  runtime, honoured from Go 1.19 on. Debian's influxd 1.6.7 is built with
  go1.19.8 (read from the binary's build info by :func:`go_version`), so it
  applies; the GC then works harder near the limit, but nothing kills the
  server above it (use the docker backend or a cgroup for a hard limit). For
  a binary built with an older Go, GOMEMLIMIT would be silently ignored, so
  ``GOGC=50`` is set instead (a smaller heap overshoot, for more GC CPU);
- a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) so it dies
  with the process that started it, even when that one is SIGKILLed. Linux
  delivers it when the *thread* that forked exits: enter and leave the context
  manager in the same, long-lived thread (the main thread of a job is fine);
- ``INFLUXDB_*`` variables removed from its environment (influxd would let
  them override the generated config, e.g. the bind addresses);
- its stdout/stderr appended to ``log_path``.

Readiness is polled on ``/ping``; a port taken between choosing and binding
makes influxd exit with "address already in use", and the start is retried on
new ports. The server is always stopped (SIGTERM, SIGKILL after a grace) and
reaped, and the generated config folder removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ombt_postmortem.errors import EnvironmentFault
from ombt_postmortem.influx.backends.ready import ServerNotReady, free_port, wait_ready
from ombt_postmortem.influx.backends.server import Limits, ServerHandle
from ombt_postmortem.influx.restore import (
    PRIVATE_PREFIX,
    private_dir,
    remove_tree,
    sweep_stale,
)

HOST = "127.0.0.1"
_PORT_IN_USE = re.compile(rb"address already in use", re.IGNORECASE)
_PR_SET_PDEATHSIG = 1
_BUILDINFO_MAGIC = b"\xff Go buildinf:"


class InfluxdNotFound(EnvironmentFault):
    """No ``influxd`` binary on PATH."""


# --------------------------------------------------------------------------- Go runtime


def go_version(binary: str | Path) -> tuple[int, int] | None:
    """The Go (major, minor) a binary was built with, from its build info; None if unknown.

    Go >= 1.18 stores the version inline after the ``\\xff Go buildinf:`` magic.
    Older binaries store pointers instead: they are reported as (1, 17), which
    is all callers need to know (older than 1.19).
    """
    try:
        with open(binary, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            i = m.find(_BUILDINFO_MAGIC)
            if i < 0:
                return None
            flags = m[i + 15]
            if not flags & 0x2:
                return (1, 17)
            n, j = _uvarint(m, i + 32)
            text = m[j:j + n].decode("ascii", "replace")
    except (OSError, ValueError, IndexError):
        return None
    match = re.match(r"go(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _uvarint(buf: mmap.mmap, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def runtime_env(limits: Limits, go: tuple[int, int] | None,
                base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ``base`` (default os.environ) with Go limits set."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("INFLUXDB_")}
    env["GOMAXPROCS"] = str(max(1, int(limits.threads)))
    env.pop("GOGC", None)
    if go is None or go >= (1, 19):
        env["GOMEMLIMIT"] = f"{max(1, int(limits.mem_mb))}MiB"
    else:
        env.pop("GOMEMLIMIT", None)
        env["GOGC"] = "50"
    return env


# --------------------------------------------------------------------------- config


def _toml_str(value: str | Path) -> str:
    s = str(value)
    if any(ord(c) < 0x20 or c in '"\\' for c in s):
        raise ValueError(f"refusing path with quotes, backslashes or control chars: {s!r}")
    return f'"{s}"'


def render_config(data_dir: Path, http_port: int, rpc_port: int, *, threads: int = 1) -> str:
    """The influxd TOML config: everything inside ``data_dir``, only two listeners on 127.0.0.1."""
    d = Path(data_dir)
    return f"""\
# generated by ombt-postmortem: a private, read-mostly server on a restored backup
reporting-enabled = false
bind-address = {_toml_str(f"{HOST}:{rpc_port}")}

[meta]
  dir = {_toml_str(d / "meta")}
  retention-autocreate = false
  logging-enabled = true

[data]
  dir = {_toml_str(d / "data")}
  wal-dir = {_toml_str(d / "wal")}
  query-log-enabled = false
  max-concurrent-compactions = {max(1, int(threads))}

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = {_toml_str(f"{HOST}:{http_port}")}
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  https-enabled = false
  unix-socket-enabled = false
  max-row-limit = 0

[ifql]
  enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "info"
  suppress-logo = true

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""


def pick_ports() -> tuple[int, int]:
    """Two distinct free ports of 127.0.0.1: (http, rpc)."""
    http = free_port(HOST)
    rpc = free_port(HOST)
    while rpc == http or rpc == 8088:
        rpc = free_port(HOST)
    return http, rpc


# --------------------------------------------------------------------------- process


def _pdeathsig_preexec(parent_pid: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def stop_process(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; always reaps."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def tail(path: Path, start: int = 0, lines: int = 15, max_bytes: int = 64 * 1024) -> str:
    """The last ``lines`` lines of ``path`` written after byte ``start``."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(start, end - max_bytes))
            data = f.read()
    except OSError as e:
        return f"(log {path} unreadable: {e})"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:]) if text else "(empty log)"


def _read_from(path: Path, start: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read()
    except OSError:
        return b""


@contextmanager
def native_server(
    data_dir: Path | str,
    limits: Limits,
    *,
    log_path: Path | str | None = None,
    ready_timeout_s: float = 60.0,
    influxd: str | None = None,
    stop_grace_s: float = 10.0,
    port_attempts: int = 4,
    tmp_root: Path | str | None = None,
) -> Iterator[ServerHandle]:
    """Start ``influxd`` on ``data_dir`` (holding meta/, data/, wal/); yield its handle; stop it.

    Raises :class:`InfluxdNotFound` when there is no binary, and
    :class:`~ombt_postmortem.influx.backends.ready.ServerNotReady` (quoting the last log
    lines) when it exits early or does not answer ``/ping`` in time.
    """
    binary = influxd or shutil.which("influxd")
    if not binary:
        raise InfluxdNotFound("influxd is not on PATH (Debian/Ubuntu: apt-get install influxdb)")
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"InfluxDB data folder not found: {data_dir}")
    go = go_version(binary)
    env = runtime_env(limits, go)
    sweep_stale(tmp_root)
    # the generated config's folder: under tmp_root (the run's private folder when
    # called from the workflow), else the system's temp folder
    conf_dir = private_dir(tmp_root, prefix=PRIVATE_PREFIX + "conf-")
    log = Path(log_path) if log_path is not None else conf_dir / "influxd.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(1, port_attempts + 1):
            http_port, rpc_port = pick_ports()
            conf = conf_dir / "influxd.conf"
            conf.write_text(render_config(data_dir, http_port, rpc_port, threads=limits.threads))
            url = f"http://{HOST}:{http_port}"
            with open(log, "ab") as logf:
                offset = logf.tell()
                logf.write(
                    f"[ombt-postmortem] starting {binary} (attempt {attempt}): http {url}, "
                    f"rpc {HOST}:{rpc_port}, data {data_dir}, GOMAXPROCS={env['GOMAXPROCS']} "
                    f"GOMEMLIMIT={env.get('GOMEMLIMIT', '-')} GOGC={env.get('GOGC', '-')}\n"
                    .encode())
                logf.flush()
                proc = subprocess.Popen(
                    [binary, "run", "-config", str(conf)],
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                    env=env, cwd=conf_dir, close_fds=True,
                    preexec_fn=_pdeathsig_preexec(os.getpid()),
                )
            running = proc

            def last_logs(start: int = offset) -> str:
                return tail(log, start)

            try:
                waited = wait_ready(url, ready_timeout_s, alive=lambda p=running: p.poll() is None,
                                    last_logs=last_logs)
                _confirm_own_listener(running, log, offset, http_port, last_logs)
            except ServerNotReady:
                stop_process(running, stop_grace_s)
                proc = None
                if attempt < port_attempts and _PORT_IN_USE.search(_read_from(log, offset)):
                    continue
                raise
            break
        assert proc is not None
        yield ServerHandle(
            url=url, host=HOST, port=http_port, backend="native", log_path=log,
            info={"pid": str(proc.pid), "rpc_port": str(rpc_port), "config": str(conf),
                  "binary": str(binary), "go_version": f"{go[0]}.{go[1]}" if go else "unknown",
                  "ready_s": f"{waited:.3f}", "attempts": str(attempt),
                  "GOMAXPROCS": env["GOMAXPROCS"], "GOMEMLIMIT": env.get("GOMEMLIMIT", ""),
                  "GOGC": env.get("GOGC", "")},
        )
    finally:
        try:
            if proc is not None:
                stop_process(proc, stop_grace_s)
                with contextlib.suppress(OSError), open(log, "ab") as logf:
                    logf.write(f"[ombt-postmortem] influxd pid {proc.pid} stopped "
                               f"(exit status {proc.returncode})\n".encode())
        finally:
            remove_tree(conf_dir)


def _confirm_own_listener(proc: subprocess.Popen[bytes], log: Path, offset: int, port: int,
                          last_logs: Callable[[], str], timeout_s: float = 5.0) -> None:
    """Make sure the /ping that answered came from *our* influxd, not a port thief.

    influxd logs ``Listening on HTTP ... addr=127.0.0.1:<port>`` once its listener
    is bound; if it died instead (port taken by someone else who answers /ping),
    raise ServerNotReady so that the caller retries on new ports.
    """
    needle = re.compile(rb"addr=" + re.escape(f"{HOST}:{port}".encode()) + rb"(?!\d)")
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise ServerNotReady(f"influxd exited (status {proc.returncode}) although "
                                 f"{HOST}:{port} answered /ping; last log lines:\n{last_logs()}")
        if needle.search(_read_from(log, offset)):
            return
        if time.monotonic() > deadline:
            raise ServerNotReady(f"influxd never logged listening on {HOST}:{port}; "
                                 f"last log lines:\n{last_logs()}")
        time.sleep(0.02)
