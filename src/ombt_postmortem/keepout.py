"""Keep optional packages out of a process: ``import X`` fails, loudly.

pyarrow imports numpy when it is installed (at ``import pyarrow``) and pandas on
its first conversion, both optional for it; a per-run job that needs neither
saves their import (numpy about 0.1 s, pandas 0.3 s of CPU per job) by refusing
them first (:func:`keep_out`, for the whole process). The ``influxdb`` client
imports pandas when it can, for a class nothing here uses: :func:`refused` keeps
it out during that one import. Nothing here imports pyarrow: :func:`keep_out`
must run before it for numpy. (A meta path finder, rather than
``sys.modules[name] = None``, which pyarrow's compiled import ignores.)

Domain-neutral: the workflow's jobs (:mod:`.workflow_support.jobs`) and the
domain packages (:mod:`.influx.client`) both use it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class _KeepOut:
    """A meta path finder that refuses the given top-level packages."""

    def __init__(self, names: frozenset[str], by: str) -> None:
        self.names = names
        self.by = by

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{name} is kept out of this process ({self.by})",
                                      name=name)


def keep_out(*packages: str, by: str) -> None:
    """Make ``import`` of each of ``packages`` (and their submodules) fail in this
    process; ``by`` names the caller in the error. An already imported one is a
    RuntimeError: it is too late."""
    loaded = [p for p in packages if p in sys.modules]
    if loaded:
        raise RuntimeError(f"{by}(): {', '.join(loaded)} is already imported")
    names = frozenset(packages)
    if not any(isinstance(f, _KeepOut) and f.names >= names for f in sys.meta_path):
        sys.meta_path.insert(0, _KeepOut(names, by))  # type: ignore[arg-type]


@contextmanager
def refused(*packages: str, by: str) -> Iterator[None]:
    """Within the block only, ``import`` of each of ``packages`` fails (``by`` names
    the caller in the error): a module that imports them when it can is imported
    without them. An already imported package is not unloaded."""
    finder = _KeepOut(frozenset(packages), by)
    sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    try:
        yield
    finally:
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
