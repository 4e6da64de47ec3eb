"""Launcher of the per-run jobs (rules run_logs, influx_metrics):
``python workflow/job.py STAGE SPEC ...`` runs :func:`ombt_postmortem.workflow_support.jobs.main`
of the installed library: the venv's editable install of this clone, or the conda
env's (workflow/envs/ombt-postmortem.post-deploy.sh); see workflow/rules/jobs.smk."""

import sys

from ombt_postmortem.workflow_support.jobs import main

sys.exit(main())
