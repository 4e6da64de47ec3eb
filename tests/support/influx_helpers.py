"""Shared helpers of the influx tests: the real fixture, an independent influxd, /proc probes.

Everything here is written independently of ``ombt_postmortem.influx``: the
reference server is started with a hand-written minimal config on a plain
``tar xzf`` extraction, and queried with plain urllib.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

CAMPAIGN = REPO / "resources" / "example-campaign"
INFLUXD = shutil.which("influxd")

needs_influxd = pytest.mark.skipif(INFLUXD is None,
                                   reason="influxd not on PATH (apt-get install influxdb)")
#: marks of every test that needs the real influxd binary (``pytestmark = influx``)
influx = [pytest.mark.influx, needs_influxd]


def influx_test(f):  # type: ignore[no-untyped-def]
    """Decorator: the test needs the real influxd binary."""
    return pytest.mark.influx(needs_influxd(f))


def run_dirs() -> list[Path]:
    """The 8 run folders of the real fixture campaign, sorted."""
    return sorted(p for p in CAMPAIGN.iterdir() if p.is_dir())


def controller_log(run_dir: Path) -> Path:
    (path,) = [p for p in run_dir.glob("*_controller-*.log") if not p.name.endswith("_docker.log")]
    return path


def run_window(run_dir: Path) -> tuple[float, float]:
    """min(start of clients and servers), max(stop of them), straight from the JSON lines."""
    lines = controller_log(run_dir).read_text().splitlines()
    agents = [r for line in lines[:2] for r in json.loads(line).values()]
    return min(a["start_time"] for a in agents), max(a["stop_time"] for a in agents)


# --------------------------------------------------------------------------- independent server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_query(url: str, q: str, db: str | None = None) -> dict:
    params = {"q": q, "epoch": "ns"}
    if db:
        params["db"] = db
    with urllib.request.urlopen(f"{url}/query?{urllib.parse.urlencode(params)}",
                                timeout=30) as r:
        payload = json.loads(r.read())
    result = payload["results"][0]
    assert "error" not in result, result
    return result


def points(url: str, db: str, q: str) -> list[dict]:
    """Rows of a raw SELECT as dicts (column name -> value)."""
    out = []
    for s in http_query(url, q, db).get("series", []):
        for row in s["values"]:
            out.append({**s.get("tags", {}), **dict(zip(s["columns"], row, strict=True))})
    return out


@contextlib.contextmanager
def reference_server(data_parent: Path) -> Iterator[str]:
    """influxd on ``data_parent/influxdb-data`` with a minimal hand-written config."""
    assert INFLUXD
    d = data_parent / "influxdb-data"
    http, rpc = _free_port(), _free_port()
    conf = data_parent / "reference.toml"
    conf.write_text(
        f'reporting-enabled = false\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{d}/meta"\n'
        f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
        '[monitor]\n  store-enabled = false\n'
        f'[http]\n  bind-address = "127.0.0.1:{http}"\n  log-enabled = false\n')
    logf = open(data_parent / "reference.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([INFLUXD, "run", "-config", str(conf)], stdout=logf,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=1) as r:
                    if r.status == 204:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert proc.poll() is None, (data_parent / "reference.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "reference influxd not ready"
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        logf.close()


def untar(tar: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "xzf", str(tar), "-C", str(dest)], check=True)
    return dest


def make_tar_of(folder: Path, tar: Path, arcname: str = "influxdb-data") -> Path:
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(folder, arcname=arcname)
    return tar


# --------------------------------------------------------------------------- malicious tars


def add_file(tf: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def add_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tf.addfile(info)


def add_link(tf: tarfile.TarFile, name: str, target: str, *, hard: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    tf.addfile(info)


def influx_layout(tf: tarfile.TarFile, prefix: str = "influxdb-data/") -> None:
    for d in ("", "meta", "data", "wal"):
        add_dir(tf, (prefix + d).rstrip("/") or ".")
    add_file(tf, prefix + "meta/meta.db", b"m")


# --------------------------------------------------------------------------- /proc probes


def proc_state(pid: int) -> str | None:
    """The /proc state letter of ``pid`` (R, S, Z ...), None when it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def is_dead(pid: int) -> bool:
    return proc_state(pid) in (None, "Z", "X")


def influxd_children(parent: int | None = None) -> list[int]:
    """Live influxd processes whose parent is ``parent`` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if comm == "influxd" and int(fields[1]) == parent and fields[0] not in "ZX":
            found.append(int(p.name))
    return found


def processes_with_arg(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmd and not is_dead(int(p.name)):
            out.append(int(p.name))
    return out


def _hex_addr(text: str) -> tuple[str, int]:
    addr, port = text.split(":")
    if len(addr) == 8:
        ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1])
    else:
        raw = bytes.fromhex(addr)
        ip = socket.inet_ntop(socket.AF_INET6,
                              b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
    return ip, int(port, 16)


def sockets_of(pid: int) -> dict[str, list[tuple[str, int, str]]]:
    """Sockets of ``pid`` by protocol: (local ip, local port, state hex) from /proc/net."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out: dict[str, list[tuple[str, int, str]]] = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        rows = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        for row in rows:
            f = row.split()
            if f[9] in inodes:
                ip, port = _hex_addr(f[1])
                out.setdefault(proto, []).append((ip, port, f[3]))
    return out
