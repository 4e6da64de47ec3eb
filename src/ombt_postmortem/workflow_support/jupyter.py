"""What the workflow's notebook rule needs from Jupyter, found before any job runs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

#: the command Snakemake's ``notebook:`` directive runs through the shell
NBCONVERT = "jupyter-nbconvert"


def nbconvert_on_path() -> str | None:
    """Make sure the shell of a job finds ``jupyter-nbconvert``.

    When it is not on PATH, the one installed next to the running Python (a venv's
    ``bin/``, not on PATH unless the venv is activated) is put first on PATH.
    Returns None when found, else a one-line reason saying what to install.
    """
    if shutil.which(NBCONVERT) is not None:
        return None
    here = Path(sys.executable).parent
    if not (here / NBCONVERT).is_file():
        return (f"{NBCONVERT} not found (on PATH or in {here}): install the notebook "
                f"extra, pip install '.[notebook]' (nbconvert, ipykernel)")
    os.environ["PATH"] = f"{here}{os.pathsep}{os.environ.get('PATH', '')}"
    return None
