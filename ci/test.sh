#!/usr/bin/env bash
# The whole test suite, as `make test` (and CI) runs it: lint, then pytest.
# As root it also brings up what the integration tests need and tears it down:
# a Podman engine serving the Docker API (the docker backend's tests) and a
# single-node SLURM cluster (the cluster test); each down script stops only
# what its up script started.
# Set OMBT_NO_SERVICES=1 to skip that (those tests then skip, saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

down=()
cleanup() {
  local rc=$?
  for cmd in "${down[@]}"; do bash "$cmd" >/dev/null 2>&1 || echo "warning: $cmd failed" >&2; done
  exit "$rc"
}
trap cleanup EXIT

# chromium for the report's browser test (tests/workflow/test_report_browser.py): installed
# by `make test` as root (ci/ensure-system.sh --test), then required, not skipped
if [ "$(id -u)" = 0 ] && command -v chromium >/dev/null 2>&1; then
  export OMBT_REQUIRE_CHROMIUM=1
fi

if [ "$(id -u)" = 0 ] && [ "${OMBT_NO_SERVICES:-0}" != 1 ]; then
  echo "== podman (Docker API) for the docker backend tests" >&2
  down+=(ci/podman-down.sh)
  eval "$(bash ci/podman-up.sh)"
  export OMBT_REQUIRE_PODMAN=1
  echo "== single-node SLURM on 127.0.0.1 for the cluster test" >&2
  down+=(ci/slurm-down.sh)
  eval "$(bash ci/slurm-up.sh)"
  # the SLURM executor plugin lives in its own venv (see ci/slurm-venv.sh)
  eval "$(bash ci/slurm-venv.sh)"
  export OMBT_REQUIRE_SLURM=1
fi

"$BIN/ruff" check .
"$BIN/snakemake" --lint >/dev/null
"$BIN/python" -m pytest --durations=12 "$@"
