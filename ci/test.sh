#!/usr/bin/env bash
# The whole test suite, as `make test` (and CI) runs it: lint, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
"$BIN/ruff" check .
"$BIN/snakemake" --lint >/dev/null
"$BIN/python" -m pytest "$@"
