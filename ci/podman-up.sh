#!/usr/bin/env bash
# Bring up a real container engine serving the Docker API, for the tests of
# the `docker` InfluxDB backend (tests/integration/test_docker_backend.py).
#
# These machines (Debian 12, root, no systemd, hybrid cgroup v1) have no
# Docker engine and reach no container registry. Podman from Debian serves
# the same Docker API; this script
#   1. installs podman runc uidmap fuse-overlayfs slirp4netns when missing,
#   2. writes the two containers.conf settings Podman needs here
#      (ulimits it may set; runc + cgroupfs, since crun rejects hybrid cgroups),
#   3. builds the image localhost/influxdb-local:1.6 WITHOUT a registry from
#      the Debian /usr/bin/influxd (rebuilt only when missing or when influxd
#      changed), honouring the public influxdb:1.8 image's contract: data in
#      /var/lib/influxdb/{meta,data,wal}, HTTP on :8086, INFLUXDB_* env vars,
#   4. starts `podman system service` on unix:///run/ombt-podman/podman.sock
#      (detached, pidfile) unless it already answers, and waits for it.
# It is idempotent. On stdout it prints only shell exports, so use it as
#     eval "$(bash ci/podman-up.sh)"
# Progress goes to stderr. ci/podman-down.sh undoes step 4 and removes
# leftover containers labelled ombt-postmortem.
set -euo pipefail

RUN_DIR=/run/ombt-podman
SOCK="$RUN_DIR/podman.sock"
PIDFILE="$RUN_DIR/podman.pid"
SERVICE_LOG="$RUN_DIR/podman-service.log"
IMAGE=localhost/influxdb-local:1.6
CONF_DIR=/etc/containers/containers.conf.d
CONF="$CONF_DIR/50-ombt-postmortem.conf"
PACKAGES=(podman runc uidmap fuse-overlayfs slirp4netns)

say() { printf 'podman-up: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, runs rootful Podman)"
command -v /usr/bin/influxd >/dev/null || die "/usr/bin/influxd missing: apt-get install influxdb"

# --- 1. packages -----------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
fi

# --- 2. containers.conf ----------------------------------------------------
mkdir -p "$CONF_DIR"
want_conf='# written by ombt-postmortem ci/podman-up.sh
[containers]
# without it the runtime fails with "setrlimit ... Operation not permitted"
# (no CAP_SYS_RESOURCE here)
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
# crun fails with "cgroups in hybrid mode not supported"
runtime = "runc"
cgroup_manager = "cgroupfs"
'
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$(printf '%s' "$want_conf")" ]; then
    say "writing $CONF"
    printf '%s' "$want_conf" > "$CONF"
fi

# --- 3. the image, from the Debian influxd, no registry ---------------------
influxd_sha=$(sha256sum /usr/bin/influxd | cut -c1-16)
have_sha=$(podman image inspect --format '{{index .Labels "influxd-sha256"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have_sha" != "$influxd_sha" ]; then
    say "building $IMAGE from /usr/bin/influxd (sha256 $influxd_sha)"
    rootfs=$(mktemp -d /tmp/ombt-influx-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    mkdir -p "$rootfs"/{usr/bin,etc/influxdb,var/lib/influxdb,tmp}
    chmod 1777 "$rootfs/tmp"
    cp /usr/bin/influxd "$rootfs/usr/bin/influxd"
    # every library ldd names, at the path the binary asks for (symlinks resolved)
    for lib in $(ldd /usr/bin/influxd | grep -oE '/[^ ]+'); do
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\ninfluxdb:x:999:999::/var/lib/influxdb:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
    printf 'root:x:0:\ninfluxdb:x:999:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
    # same paths as the public influxdb:1.8 image; INFLUXDB_* env vars override
    cat > "$rootfs/etc/influxdb/influxdb.conf" <<'EOF'
reporting-disabled = true
[meta]
  dir = "/var/lib/influxdb/meta"
[data]
  dir = "/var/lib/influxdb/data"
  wal-dir = "/var/lib/influxdb/wal"
[http]
  bind-address = ":8086"
EOF
    podman image rm -f "$IMAGE" >/dev/null 2>&1 || true
    tar -C "$rootfs" -c . | podman import --quiet \
        --change 'CMD ["/usr/bin/influxd", "-config", "/etc/influxdb/influxdb.conf"]' \
        --change 'EXPOSE 8086' \
        --change 'ENV INFLUXDB_CONFIG_PATH=/etc/influxdb/influxdb.conf' \
        --change "LABEL influxd-sha256=$influxd_sha" \
        --change 'LABEL org.opencontainers.image.description="Debian influxd 1.6, built by ombt-postmortem ci/podman-up.sh"' \
        - "$IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
else
    say "image $IMAGE up to date"
fi

# --- 4. the Docker-API service -----------------------------------------------
answers() { curl -sf --max-time 2 --unix-socket "$SOCK" http://d/_ping 2>/dev/null | grep -q OK; }
ours_alive() {
    [ -f "$PIDFILE" ] || return 1
    local pid; pid=$(cat "$PIDFILE")
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "podman system service"
}

mkdir -p "$RUN_DIR"
if ours_alive && answers; then
    say "service already running (pid $(cat "$PIDFILE"))"
else
    if ours_alive; then  # running but deaf: restart it
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$PIDFILE" "$SOCK"
    say "starting podman system service on unix://$SOCK"
    # setsid: its own session, so a Ctrl-C in the caller's terminal does not
    # reach it; backgrounded from a non-interactive shell, setsid execs podman
    # directly, so $! is podman's pid
    # cwd $RUN_DIR: conmon drops an "oom" marker file in its working folder when
    # a container is OOM-killed; it must not land in the caller's folder
    (cd "$RUN_DIR" && exec setsid podman system service --time=0 "unix://$SOCK" \
        </dev/null >"$SERVICE_LOG" 2>&1) &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 200); do
        answers && break
        if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
            tail -20 "$SERVICE_LOG" >&2 || true
            die "podman system service exited"
        fi
        sleep 0.05
    done
    answers || { tail -20 "$SERVICE_LOG" >&2; die "podman service did not answer on $SOCK in 10 s"; }
    say "service up (pid $(cat "$PIDFILE"))"
fi

echo "export DOCKER_HOST=unix://$SOCK"
echo "export OMBT_DOCKER_HOST=unix://$SOCK"
