#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on loopback (127.0.0.1) from Debian's packages, as root,
# for CI and for trying profiles/slurm on one machine.
#
#   eval "$(bash ci/slurm-up.sh)"   # idempotent: installs what is missing, starts
#                                   # what is not running; prints `export OMBT_SLURM=1`
#   bash ci/slurm-down.sh           # stops only the daemons this script started
#
# On stdout it prints only shell exports; progress goes to stderr.
# Facts behind the settings: ../shared/notes/slurm-and-podman.md. No systemd is
# assumed: daemons are started by hand; all of them listen on 127.0.0.1 only.
# Accounting (slurmdbd + MariaDB) is NOT set up, so `sacct` does not work here: the
# plugin's default status command would never see a job end. The workflow sees that
# before submitting and follows the jobs with squeue (workflow/rules/cluster.smk);
# MinJobAge=600 keeps finished jobs visible to squeue long enough for the plugin to
# accept that. (Accounting would cost ~8 s of packages and
# ~1 s of start, but Slurm 22.05's slurmdbd can only listen on all addresses.)
#
# Measured on a 2-core Debian 12 VM: ~8-15 s from scratch (packages included),
# ~0.4 s with the packages installed, ~0.1 s when the cluster is already up.
#
# Environment:
#   OMBT_SLURM_STATE_DIR  where the pids of the started daemons are recorded
#                         (default /run/ombt-slurm; file "started", lines "<name> <pid>")
#   OMBT_SLURM_WAIT_S     seconds to wait for each daemon to become ready (default 60)
set -euo pipefail

STATE_DIR=${OMBT_SLURM_STATE_DIR:-/run/ombt-slurm}
STATE_FILE=$STATE_DIR/started
TIMEOUT=${OMBT_SLURM_WAIT_S:-60}
CONF=/etc/slurm/slurm.conf
MARK="# written by ombt-postmortem ci/slurm-up.sh"

log() { printf 'slurm-up: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

# stdout is for the exports only
exec 3>&1 1>&2

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- packages ---------------------------------------------------------------
PKGS=(slurm-wlm munge)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # an empty package list (fresh container) needs an update first; otherwise try
    # the install directly and update only if it fails (stale lists)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update -qq
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

mkdir -p "$STATE_DIR"
touch "$STATE_FILE"

record() { # name pid
    [[ -n $2 ]] || die "$1 started but its pid file names no live $1 process"
    echo "$1 $2" >>"$STATE_FILE"
    log "started $1 (pid $2)"
}

alive() { # pid name: is <pid> a live process called <name>?
    [[ -n ${1:-} && -r /proc/$1/comm ]] && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# forget entries of daemons that died since (crash, reboot of the container)
prune_state() {
    local name pid kept=""
    while read -r name pid; do
        alive "$pid" "$name" && kept+="$name $pid"$'\n'
    done <"$STATE_FILE"
    printf '%s' "$kept" >"$STATE_FILE"
}
prune_state

pid_from_file() { # pidfile name -> prints the pid if that process is alive
    local pid
    [[ -r $1 ]] || return 1
    pid=$(tr -dc '0-9' <"$1")
    alive "$pid" "$2" && echo "$pid"
}

wait_for() { # description command...
    local what=$1; shift
    local deadline=$(($(date +%s) + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        (($(date +%s) < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what"
        sleep 0.2
    done
}

# --- munge ------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key

munge_ok() { munge -n </dev/null | unmunge >/dev/null; }
if munge_ok 2>/dev/null; then
    log "munged already running"
else
    # daemons must not keep the caller's stdout (fd 3): `$(slurm-up.sh)` would never end
    runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 3>&-
    wait_for "munged" munge_ok
    record munged "$(pid_from_file /run/munge/munged.pid munged)"
fi

# --- slurm.conf ---------------------------------------------------------------
HOST=$(hostname -s)
# the daemons bind to the address the host name resolves to: it must be loopback
ADDR=$(getent ahostsv4 "$HOST" | awk 'NR == 1 { print $1 }')
[[ $ADDR == 127.* ]] || die "host name $HOST resolves to '${ADDR:-nothing}', not to a" \
    "loopback address: add '127.0.0.1 $HOST' to /etc/hosts"
CPUS=$(nproc)
MEM_MB=$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 * 0.85 }' /proc/meminfo)
install -d -m 0755 /etc/slurm /run/slurm /var/log/slurm /var/spool/slurmctld /var/spool/slurmd

new_conf=$(
    cat <<EOF
$MARK
# Single node on loopback; see ../shared/notes/slurm-and-podman.md
ClusterName=ombt-ci
SlurmctldHost=$HOST($ADDR)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# bind to the address the host name resolves to ($ADDR), not to INADDR_ANY
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# finished jobs stay visible to squeue for 10 min: snakemake-executor-plugin-slurm
# needs MinJobAge >= 3 x its first status delay to use --slurm-status-command squeue
MinJobAge=600
ReturnToService=2
# reject at submission a job that can never run here (e.g. more CPUs than the node
# has) instead of leaving it PENDING forever, and snakemake with it
EnforcePartLimits=ALL
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
NodeName=$HOST NodeAddr=$ADDR CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
)

ctld_ping() { scontrol ping | grep -q 'is UP'; }

if [[ -f $CONF ]] && ! head -n1 "$CONF" | grep -qF "$MARK"; then
    # someone else's configuration: keep it aside, once
    [[ -e $CONF.orig ]] || cp -p "$CONF" "$CONF.orig"
fi
# RealMemory follows MemAvailable, which moves: ignore it when comparing
same_but_memory() { [[ $(sed 's/RealMemory=[0-9]*//' "$CONF") == $(sed 's/RealMemory=[0-9]*//' <<<"$new_conf") ]]; }
if [[ -f $CONF ]] && same_but_memory; then
    :
elif ctld_ping 2>/dev/null; then
    log "WARNING: a slurmctld is running with another $CONF; left as is" \
        "(ci/slurm-down.sh then ci/slurm-up.sh to apply ours)"
else
    printf '%s\n' "$new_conf" >"$CONF"
    log "wrote $CONF (node $HOST, CPUs=$CPUS, RealMemory=${MEM_MB} MB)"
fi

# --- slurmctld ----------------------------------------------------------------
if ctld_ping 2>/dev/null; then
    log "slurmctld already UP"
else
    /usr/sbin/slurmctld </dev/null >/dev/null 3>&-
    wait_for "slurmctld (scontrol ping)" ctld_ping
    record slurmctld "$(pid_from_file /run/slurm/slurmctld.pid slurmctld)"
fi

# --- slurmd -------------------------------------------------------------------
if pid_from_file /run/slurm/slurmd.pid slurmd >/dev/null; then
    log "slurmd already running"
else
    /usr/sbin/slurmd -N "$HOST" </dev/null >/dev/null 3>&-
    wait_for "slurmd" pid_from_file /run/slurm/slurmd.pid slurmd
    record slurmd "$(pid_from_file /run/slurm/slurmd.pid slurmd)"
fi

node_state() { sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1; }
node_idle() { [[ $(node_state) =~ ^(idle|mixed|allocated) ]]; }
if ! node_idle; then
    # a node left DOWN/DRAIN by an earlier, killed cluster comes back with "resume"
    case $(node_state) in
    down* | drain* | fail*) scontrol update NodeName="$HOST" State=RESUME || true ;;
    esac
    wait_for "node $HOST to be idle in sinfo (state: $(node_state))" node_idle
fi

log "cluster up in $(elapsed)s: $(sinfo -h -o '%P %a %D %T %N' | tr '\n' ' ')"
echo "export OMBT_SLURM=1" >&3
