#!/usr/bin/env bash
# Make sure the system pieces the project needs are there: python3-venv and influxd;
# with --test also what the tests need: chromium (headless, the report's browser test).
# As root on Debian they are installed with apt-get; otherwise say what is missing.
set -euo pipefail
PYTHON=${PYTHON:-python3}
missing=()
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
if [ "${1:-}" = --test ]; then
  # (fonts-liberation: a recommended package of chromium, not installed with it below)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ombt-postmortem: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # apt may start nothing here (no systemd), and must not: each run starts its own influxd
  exit 0
fi
echo "ombt-postmortem: missing system packages: ${missing[*]}" >&2
echo "  install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})," >&2
echo "  or use influx.backend: docker with a Docker engine for the InfluxDB stage." >&2
exit 1
