"""What the Snakemake workflow needs to run the library, and nothing of the domain:

- :mod:`.jobs` and :mod:`.jobspec`: the per-run jobs as plain programs
  (``workflow/job.py STAGE SPEC``) and one contract per stage (``LogsJob``,
  ``InfluxJob``) that builds and parses a job's spec;
- :mod:`.logutil`: one log file per job, a quiet console, SIGTERM as SystemExit;
- :mod:`.jupyter`: what the campaign notebook needs to run;
- :mod:`.runlock`: one writer per results folder, stale Snakemake locks told apart;
- :mod:`.slurm_fit` and :mod:`.slurm_route`: the cluster route's checks and its SIGTERM.

The workflow's rules and scripts import these; the domain packages never do. The
import guard that keeps pandas, numpy or jsonschema out of a job's process is
:mod:`ombt_postmortem.keepout`, shared with the influxdb client's import.
"""
