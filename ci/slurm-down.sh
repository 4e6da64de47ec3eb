#!/usr/bin/env bash
# Stop the SLURM daemons that ci/slurm-up.sh started (and only those), newest first.
# Idempotent: without a state file, or when the daemons are already gone, it does nothing.
# Daemons that were already running before slurm-up.sh ran are left alone.
set -euo pipefail

STATE_DIR=${OMBT_SLURM_STATE_DIR:-/run/ombt-slurm}
STATE_FILE=$STATE_DIR/started
TIMEOUT=${OMBT_SLURM_WAIT_S:-30}

log() { printf 'slurm-down: %s\n' "$*" >&2; }

if [[ ! -s $STATE_FILE ]]; then
    log "nothing to stop (no $STATE_FILE)"
    rm -f "$STATE_FILE"
    exit 0
fi

alive() { # pid name
    [[ -n ${1:-} && -r /proc/$1/comm ]] && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# newest first: slurmd, slurmctld, munged
mapfile -t entries < <(tac "$STATE_FILE")

# On a cluster of our own, cancel what is still queued or running first: a job's
# processes (slurmstepd and below) outlive slurmd and would be orphaned.
if grep -q '^slurmctld ' "$STATE_FILE" && scontrol ping 2>/dev/null | grep -q 'is UP'; then
    jobs=$(squeue --noheader --format=%i 2>/dev/null | tr '\n' ' ' || true)
    if [[ -n ${jobs// /} ]]; then
        log "cancelling leftover jobs: $jobs"
        # shellcheck disable=SC2086
        scancel $jobs || true
        deadline=$(($(date +%s) + TIMEOUT))
        while [[ -n $(squeue --noheader --format=%i 2>/dev/null) ]] && (($(date +%s) < deadline)); do
            sleep 0.5
        done
    fi
fi
for entry in "${entries[@]}"; do
    read -r name pid <<<"$entry"
    [[ -n ${pid:-} ]] || continue
    if ! alive "$pid" "$name"; then
        log "$name (pid $pid) already gone"
        continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(date +%s) + TIMEOUT))
    while alive "$pid" "$name" && (($(date +%s) < deadline)); do
        sleep 0.1
    done
    if alive "$pid" "$name"; then
        log "$name (pid $pid) ignored SIGTERM for ${TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    log "stopped $name (pid $pid)"
done
rm -f "$STATE_FILE"
