#!/usr/bin/env bash
# Undo ci/podman-up.sh for this session: remove the containers labelled
# ombt-postmortem (leftovers of killed jobs) and stop the Podman API service
# that podman-up.sh started (found by its pidfile; any other podman process
# is left alone). Packages, config and the image stay, so the next
# podman-up.sh is warm. Idempotent.
set -euo pipefail

RUN_DIR=/run/ombt-podman
SOCK="$RUN_DIR/podman.sock"
PIDFILE="$RUN_DIR/podman.pid"

say() { printf 'podman-down: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { say "ERROR: must run as root"; exit 1; }

if command -v podman >/dev/null; then
    ids=$(podman ps -aq --filter label=ombt-postmortem=1 2>/dev/null || true)
    if [ -n "$ids" ]; then
        say "removing leftover containers: $(echo $ids | tr '\n' ' ')"
        # shellcheck disable=SC2086
        podman rm -f $ids >/dev/null
    fi
fi

if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "podman system service"; then
        say "stopping podman system service (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "still alive after 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "pidfile names no running podman service (stale): ignored"
    fi
    rm -f "$PIDFILE"
else
    say "no service started by podman-up.sh"
fi
rm -f "$SOCK"
