#!/usr/bin/env bash
# Snakemake runs this in the new conda env of ombt-postmortem.yaml (--sdm conda), once,
# after creating it: it installs the library itself, editable (the jobs then run this
# clone's src/, as the venv's jobs do), without its pip dependencies (the env lists
# what the jobs import; Snakemake is not one of them). Snakemake runs a copy of this
# file from .snakemake/conda/, so the clone's folder comes from the Snakefile:
# OMBT_POSTMORTEM_ROOT.
# Not tested by the test suite (no conda where it was written and is tested).
set -euo pipefail
root=${OMBT_POSTMORTEM_ROOT:?"set by the Snakefile: the folder of the ombt-postmortem clone"}
python -m pip install --quiet --disable-pip-version-check --no-deps --editable "$root"
