"""Files shipped inside the package: the configuration schema and the query presets.

``config.schema.yaml`` (every configuration key, its type and default: read by
:mod:`ombt_postmortem.config` and by the Snakefile's ``validate``) and
``queries/<preset>.yaml`` (the InfluxDB query sets named by ``influx.queries``, e.g.
``telegraf``). They are package data (pyproject.toml), read through
importlib.resources, so an installed package carries them, not only a clone.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """The file system path of a packaged file, e.g. ``path("queries", "telegraf.yaml")``.

    A path, not a resource: Snakemake's ``validate`` opens the schema by name, and a
    query set's ``include`` names files beside it. Every install but a zipped one
    (which pip never makes) has the files on disk.
    """
    found = files(__name__).joinpath(*parts)
    if not isinstance(found, Path):
        raise RuntimeError(f"ombt_postmortem is installed without a file system path for "
                           f"its data ({found}): install it from a wheel or a clone")
    return found
