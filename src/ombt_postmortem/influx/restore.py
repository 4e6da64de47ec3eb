"""Safe restore of a run's ``influxdb-data.tar.gz`` into a private temp folder.

The archive comes from a remote machine and is treated as untrusted:

- every member goes through :func:`tarfile.data_filter` *and* stricter checks
  of our own: no absolute name, no ``..`` component, no link (soft or hard)
  whose target leaves the folder, no device/fifo, and once everything is
  extracted every symlink is resolved again (a later link can turn an earlier
  one into an escape);
- regular files are written by copying their content in chunks while counting
  the bytes really written (so a lying header or a sparse member cannot blow
  past the cap); every member also costs one 512-byte header, which bounds a
  bomb made of millions of empty entries;
- the folder holding ``meta/`` and ``data/`` is then looked for wherever the
  tar put it (``influxdb-data/``, ``./influxdb-data/``, ``var/lib/influxdb/``,
  the top level ...);
- the temp folder is deleted when the context manager exits, whatever happens;
  a job killed by SIGKILL cannot do that, so the folder records its owner
  (host, pid, process start time) and the next restore on this host removes
  the folders whose owner is dead (:func:`sweep_stale`).

Faults of the archive raise :class:`~ombt_postmortem.errors.RunDataError`.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ombt_postmortem.errors import OmbtPostmortemError, RunDataError
from ombt_postmortem.influx import owner

_CHUNK = 1 << 20
_HEADER_COST = 512
#: how deep below the extraction root the folder holding meta/ and data/ may be
MAX_DATA_DEPTH = 6
#: an InfluxDB folder has a few files per shard: more members than this is an attack
MAX_MEMBERS = 200_000


_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EMFILE,
                                 errno.ENFILE, errno.ENOMEM, errno.EROFS, errno.EACCES})


class _Fault(OmbtPostmortemError):
    """A data fault found while extracting; turned into RunDataError by the caller."""


@contextmanager
def restored(
    run: str,
    tar_path: Path | str,
    max_mb: float,
    *,
    tmp_root: Path | str | None = None,
) -> Iterator[Path]:
    """Extract ``tar_path`` into a fresh private temp folder; yield the InfluxDB folder.

    The yielded path is the folder holding ``meta/`` and ``data/`` (and usually
    ``wal/``). ``max_mb`` caps the bytes written (MiB). ``tmp_root`` is where the
    temp folder is made (default: :func:`tempfile.gettempdir`, i.e. ``$TMPDIR``).
    The temp folder is removed on exit, even on error.
    """
    tar_path = Path(tar_path)
    if not tar_path.is_file():
        raise RunDataError(run, tar_path, f"InfluxDB backup {tar_path} is missing")
    sweep_stale(tmp_root)
    tmp = private_dir(tmp_root)
    try:
        target = tmp / "x"
        target.mkdir(mode=0o700)
        try:
            extract(tar_path, target, max_bytes=int(max_mb * 1024 * 1024))
        except _Fault as e:
            raise RunDataError(run, tar_path, str(e)) from None
        except OSError as e:
            if e.errno in _ENVIRONMENT_ERRNOS:  # the machine's fault, not the archive's
                raise
            raise RunDataError(run, tar_path, _read_fault(e)) from None
        except (tarfile.ReadError, EOFError, zlib.error) as e:
            raise RunDataError(run, tar_path, _read_fault(e)) from None
        found = find_data_dir(target)
        if found is None:
            raise RunDataError(
                run, tar_path,
                "no folder holding both meta/ and data/ in the archive "
                f"(top level: {_listing(target)})")
        yield found
    finally:
        remove_tree(tmp)


def _read_fault(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    if isinstance(e, gzip.BadGzipFile):
        return f"not a gzip-compressed tar archive ({msg})"
    if isinstance(e, EOFError | zlib.error) or "unexpected end" in msg:
        return f"truncated or corrupt archive ({msg})"
    if isinstance(e, tarfile.ReadError):
        return f"not a valid gzip-compressed tar archive ({msg})"
    return f"cannot extract the archive: {type(e).__name__}: {msg}"


def _listing(folder: Path, limit: int = 10) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "empty"
    more = f" ... (+{len(names) - limit})" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def extract(tar_path: Path, target: Path, *, max_bytes: int,
            max_members: int = MAX_MEMBERS) -> int:
    """Extract every member of the gzip tar ``tar_path`` below ``target``; return bytes used.

    Raises ``_Fault`` on an unsafe member or when ``max_bytes`` would be exceeded,
    and lets tarfile/gzip/zlib read errors through (the caller words them).
    """
    with tar_path.open("rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            raise _Fault("not a gzip-compressed tar archive (no gzip magic number)")
    root = Path(os.path.realpath(target))
    used = 0
    dirs: list[tuple[Path, int]] = []
    # "r:gz" (gzip.GzipFile) decompresses ~2x faster than the "r|gz" stream mode; it
    # keeps a TarInfo per member, hence the member cap
    with tarfile.open(tar_path, mode="r:gz") as tf:
        for count, member in enumerate(tf, start=1):
            if count > max_members:
                raise _Fault(f"archive has more than {max_members} members")
            used += _HEADER_COST
            if used > max_bytes:
                raise _too_big(max_bytes)
            name = _check_name(member.name)
            if member.issym() or member.islnk():
                _check_link(member, name, root)
            elif not (member.isfile() or member.isdir()):
                raise _Fault(f"member {member.name!r} is a device, fifo or other special file")
            try:
                tarfile.data_filter(member, str(root))
            except tarfile.FilterError as e:
                raise _Fault(f"unsafe member {member.name!r}: {e}") from None
            if not name.parts:  # "." or "./": the target folder itself
                if member.isdir():
                    continue
                raise _Fault(f"member {member.name!r} is not a folder but names the target")
            dest = root.joinpath(*name.parts)
            _check_inside(dest.parent, root, member.name)
            if member.isdir():
                dest.mkdir(mode=0o700, parents=True, exist_ok=True)
                _check_inside(dest, root, member.name)
                dirs.append((dest, member.mode))
            elif member.isfile():
                if member.size > max_bytes - used:
                    raise _too_big(max_bytes)
                dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _check_inside(dest.parent, root, member.name)
                used = _copy_counted(tf, member, dest, used, max_bytes)
            else:
                dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _make_link(member, name, dest, root)
    for d, mode in dirs:  # keep the owner able to enter, list and write
        os.chmod(d, (mode & 0o755) | 0o700, follow_symlinks=False)
    _recheck_symlinks(root)
    return used


def _recheck_symlinks(root: Path) -> None:
    """Every symlink must still resolve inside ``root`` once all members exist.

    Each link was checked when created, but a later link can change how an
    earlier one resolves (``a -> c/b/../..`` then ``c/b -> ..``); influxd would
    then read and write through it.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            p = os.path.join(dirpath, name)
            if os.path.islink(p) and not Path(os.path.realpath(p)).is_relative_to(root):
                rel = os.path.relpath(p, root)
                raise _Fault(f"symlink {rel!r} -> {os.readlink(p)!r} resolves outside the "
                             "target folder once the archive is extracted")


def _too_big(max_bytes: int) -> _Fault:
    return _Fault(f"archive expands beyond the cap of {max_bytes / 1048576:g} MB "
                  "(influx.max_extract_mb)")


def _check_name(raw: str) -> PurePosixPath:
    if not raw or "\x00" in raw:
        raise _Fault(f"member {raw!r} has an invalid name")
    if raw.startswith("/") or raw.startswith("\\") or (len(raw) > 1 and raw[1] == ":"):
        raise _Fault(f"member {raw!r} has an absolute path")
    p = PurePosixPath(raw)
    if ".." in p.parts:
        raise _Fault(f"member {raw!r} has a '..' component: it would leave the target folder")
    return PurePosixPath(*[part for part in p.parts if part != "."])


def _check_link(member: tarfile.TarInfo, name: PurePosixPath, root: Path) -> None:
    link = member.linkname
    kind = "symlink" if member.issym() else "hardlink"
    if not link or link.startswith("/"):
        raise _Fault(f"{kind} {member.name!r} -> {link!r} points outside the target folder")
    # a symlink is relative to its own folder, a hardlink to the archive root
    base = root.joinpath(*name.parent.parts) if member.issym() else root
    resolved = Path(os.path.realpath(base / link))
    if not resolved.is_relative_to(root):
        raise _Fault(f"{kind} {member.name!r} -> {link!r} points outside the target folder")


def _check_inside(path: Path, root: Path, member_name: str) -> None:
    if not Path(os.path.realpath(path)).is_relative_to(root):
        raise _Fault(f"member {member_name!r} would be extracted outside the target folder")


def _copy_counted(tf: tarfile.TarFile, member: tarfile.TarInfo, dest: Path,
                  used: int, max_bytes: int) -> int:
    src = tf.extractfile(member)
    if src is None:  # pragma: no cover - isfile() members always have data
        raise _Fault(f"member {member.name!r} has no data")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except OSError as e:  # e.g. ELOOP: dest is a symlink planted by an earlier member
        raise _Fault(f"member {member.name!r} cannot be written safely ({e.strerror})") from None
    with os.fdopen(fd, "wb") as out, src:
        while chunk := src.read(_CHUNK):
            used += len(chunk)
            if used > max_bytes:
                raise _too_big(max_bytes)
            out.write(chunk)
    os.chmod(dest, (member.mode & 0o755) | 0o600)
    return used


def _make_link(member: tarfile.TarInfo, name: PurePosixPath, dest: Path, root: Path) -> None:
    if dest.exists() or dest.is_symlink():
        raise _Fault(f"link member {member.name!r} would overwrite an existing entry")
    if member.issym():
        os.symlink(member.linkname, dest)
    else:
        src = root.joinpath(*PurePosixPath(member.linkname).parts)
        _check_inside(src, root, member.name)
        if src.is_symlink() or not src.is_file():
            raise _Fault(f"hardlink {member.name!r} -> {member.linkname!r} has no regular "
                         "file to link to")
        os.link(src, dest, follow_symlinks=False)


def find_data_dir(top: Path, max_depth: int = MAX_DATA_DEPTH) -> Path | None:
    """The shallowest folder under ``top`` (itself included) holding ``meta/`` and ``data/``.

    Breadth-first, links are not followed; ties at the same depth go to the
    first in sorted order.
    """
    level = [top]
    for _ in range(max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            if _is_real_dir(d / "meta") and _is_real_dir(d / "data"):
                return d
            nxt.extend(c for c in sorted(d.iterdir()) if _is_real_dir(c))
        if not nxt:
            break
        level = nxt
    return None


def _is_real_dir(p: Path) -> bool:
    try:
        return stat.S_ISDIR(p.lstat().st_mode)
    except OSError:
        return False


def remove_tree(path: Path) -> None:
    """Delete ``path`` recursively (links are removed, never followed).

    Folders are first made owner-writable so that restrictive modes (from the
    archive or from influxd) cannot stop the removal.
    """
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                full = os.path.join(dirpath, d)
                if not os.path.islink(full):
                    os.chmod(full, 0o700)
        shutil.rmtree(path)
    else:
        path.unlink()


# --------------------------------------------------------------------------- owners

PRIVATE_PREFIX = "ombt-influx-"
_OWNER_FILE = ".ombt-postmortem-owner"


def _owner_line() -> str:
    host, pid, start = owner.me()
    return f"{host} {pid} {start or '?'}\n"


def private_dir(tmp_root: Path | str | None = None, prefix: str = PRIVATE_PREFIX) -> Path:
    """A fresh ``0700`` temp folder recording its owner, for :func:`sweep_stale`."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_root))
    (d / _OWNER_FILE).write_text(_owner_line())
    return d


def sweep_stale(tmp_root: Path | str | None = None) -> list[Path]:
    """Remove ``ombt-influx*`` folders of ``tmp_root`` left by dead processes of this host.

    Only folders with an owner record naming this host are considered; one is
    stale when its pid no longer runs, or runs with another start time (reuse).
    """
    root = Path(tmp_root) if tmp_root is not None else Path(tempfile.gettempdir())
    host = socket.gethostname()
    removed = []
    try:
        candidates = list(root.glob(PRIVATE_PREFIX.rstrip("-") + "*"))
    except OSError:
        return removed
    for d in candidates:
        try:
            owner_host, pid, start = (d / _OWNER_FILE).read_text().split()
            if owner_host != host or not pid.isdigit():
                continue
            if owner.alive(int(pid), None if start == "?" else start):
                continue  # its owner still runs
        except (OSError, ValueError):
            continue
        with contextlib.suppress(OSError):
            remove_tree(d)
            removed.append(d)
    return removed
