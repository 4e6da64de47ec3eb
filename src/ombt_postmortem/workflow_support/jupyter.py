"""What the workflow's notebook rule needs from Jupyter, found before any job runs."""

from __future__ import annotations

import importlib.util

#: the modules :mod:`.notebook_run` executes the campaign notebook with (nbclient comes
#: with nbconvert, the kernel is ipykernel's)
NEEDED = ("nbformat", "nbclient", "ipykernel")


def notebook_modules_missing() -> str | None:
    """None when the notebook can run, else a one-line reason saying what to install."""
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    return (f"{', '.join(missing)} not installed: install the notebook extra, "
            f"pip install '.[notebook]' (nbconvert, nbclient, ipykernel)")
