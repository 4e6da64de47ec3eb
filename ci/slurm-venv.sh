#!/usr/bin/env bash
# The SLURM executor plugin in an environment of its own, layered on the project's venv.
#
#   eval "$(bash ci/slurm-venv.sh)"   # prints `export OMBT_SLURM_PYTHON=<venv>-slurm/bin/python`
#   .venv-slurm/bin/python -m snakemake --profile profiles/slurm
#
# Why: snakemake imports every installed executor plugin at start, and the SLURM plugin
# (2.8) then runs `scontrol show config`. Where SLURM's client tools are installed but
# no controller answers (a workstation, or the CI machine once ci/slurm-down.sh has
# run) that waits ~9 s, in every snakemake start, local runs (`make run`) included.
# So the project's venv does not hold the plugin; this one does. It has no pip and no
# copy of the project's packages: a .pth adds the project venv's site-packages (after
# its own), and pip installs here only what that venv lacks (the plugin, its jobstep
# plugin, throttler). Idempotent: ~3 s the first time, ~1 s after.
#
# Environment: VENV (the project's venv, default .venv), OMBT_SLURM_VENV (default
# $VENV-slurm). On a cluster's login node, `pip install 'ombt-postmortem[slurm]'` in a
# single environment is fine: there the controller answers at once.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${VENV:-.venv}
DEST=${OMBT_SLURM_VENV:-$BASE-slurm}
[[ -x $BASE/bin/python ]] || { echo "slurm-venv: no $BASE/bin/python (make setup)" >&2; exit 1; }
purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
base_site=$(cd "$("$BASE/bin/python" -c "$purelib")" && pwd -P)
[[ -x $DEST/bin/python ]] || "$BASE/bin/python" -m venv --without-pip "$DEST" >&2
dest_site=$("$DEST/bin/python" -c "$purelib")
printf 'import site; site.addsitedir(%s)\n' "'$base_site'" >"$dest_site/_ombt_project_venv.pth"
"$BASE/bin/pip" --python "$DEST/bin/python" install -q --disable-pip-version-check \
    'snakemake-executor-plugin-slurm>=2.8' >&2
echo "export OMBT_SLURM_PYTHON=$(cd "$DEST" && pwd -P)/bin/python"
