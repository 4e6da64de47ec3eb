"""Launcher of the per-run jobs (rules run_logs, influx_metrics):
``python workflow/job.py STAGE SPEC ...`` runs :func:`ombt_postmortem.jobs.main`
with the library of this clone, installed or not (see workflow/rules/jobs.smk)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ombt_postmortem.jobs import main  # noqa: E402

sys.exit(main())
