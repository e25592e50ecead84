#!/usr/bin/env bash
# A 3-member etcd cluster on loopback ports, in a directory of its own, for
# quorum-reaper's etcd tests (and to try the etcd backend by hand).
#
#   etcd-cluster.sh run CMD...        start a cluster in a temporary directory,
#                                     run CMD with QUORUM_REAPER_ETCD_* set, and
#                                     always stop the cluster and remove the
#                                     directory afterwards (trap); exits with CMD's status
#   etcd-cluster.sh start DIR         start the cluster in DIR, wait until healthy
#   etcd-cluster.sh stop DIR          stop every member started from DIR
#   etcd-cluster.sh kill DIR NAME     SIGKILL one member (m0, m1 or m2)
#   etcd-cluster.sh heal DIR          restart the members that are not running
#                                     (same data directories), wait until healthy
#   etcd-cluster.sh env DIR           print the variables the tests read
#
# Ports: clients on 127.0.0.1:BASE, BASE+2, BASE+4; peers on BASE+1, +3, +5,
# with BASE = $QUORUM_REAPER_ETCD_BASE_PORT (default 32379).
set -euo pipefail

MEMBERS=(m0 m1 m2)
BASE_PORT=${QUORUM_REAPER_ETCD_BASE_PORT:-32379}
HEALTH_TIMEOUT_S=${QUORUM_REAPER_ETCD_HEALTH_TIMEOUT:-30}

die() { echo "etcd-cluster.sh: $*" >&2; exit 2; }

member_index() {
    local i
    for i in "${!MEMBERS[@]}"; do
        [[ ${MEMBERS[$i]} == "$1" ]] && { echo "$i"; return; }
    done
    die "unknown member '$1' (expected one of ${MEMBERS[*]})"
}
client_port() { echo $((BASE_PORT + 2 * $1)); }
peer_port() { echo $((BASE_PORT + 2 * $1 + 1)); }

endpoints() {
    local i out=()
    for i in "${!MEMBERS[@]}"; do out+=("http://127.0.0.1:$(client_port "$i")"); done
    local IFS=,
    echo "${out[*]}"
}

initial_cluster() {
    local i out=()
    for i in "${!MEMBERS[@]}"; do out+=("${MEMBERS[$i]}=http://127.0.0.1:$(peer_port "$i")"); done
    local IFS=,
    echo "${out[*]}"
}

is_running() { # DIR NAME
    local pid
    pid=$(cat "$1/$2.pid" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null
}

start_member() { # DIR NAME
    local dir=$1 name=$2 i
    i=$(member_index "$name")
    command -v etcd >/dev/null || die "etcd is not installed (Debian: apt-get install etcd-server)"
    # A member restarted on its data directory ignores the initial-cluster flags.
    etcd --name "$name" \
        --data-dir "$dir/$name.data" \
        --listen-client-urls "http://127.0.0.1:$(client_port "$i")" \
        --advertise-client-urls "http://127.0.0.1:$(client_port "$i")" \
        --listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
        --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
        --initial-cluster "$(initial_cluster)" \
        --initial-cluster-token quorum-reaper-tests \
        --initial-cluster-state new \
        --heartbeat-interval 100 --election-timeout 1000 \
        --logger zap --log-level warn \
        >>"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
    # Not this shell's job: no "Killed" notice when a test kills it.
    disown $!
}

healthy() { # PORT: the member's /health says true (bash's /dev/tcp: no curl needed)
    local reply
    reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 &&
        printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3" 2>/dev/null) || return 1
    [[ $reply == *'"health":"true"'* ]]
}

wait_healthy() { # DIR
    local deadline=$((SECONDS + HEALTH_TIMEOUT_S)) i
    for i in "${!MEMBERS[@]}"; do
        until healthy "$(client_port "$i")"; do
            if ((SECONDS >= deadline)); then
                echo "etcd-cluster.sh: member ${MEMBERS[$i]} not healthy after ${HEALTH_TIMEOUT_S}s; its log:" >&2
                tail -n 20 "$1/${MEMBERS[$i]}.log" >&2 || true
                return 1
            fi
            sleep 0.2
        done
    done
}

cmd_start() { # DIR
    local dir=$1 name
    mkdir -p "$dir"
    for name in "${MEMBERS[@]}"; do
        is_running "$dir" "$name" && die "member $name already runs from $dir"
        start_member "$dir" "$name"
    done
    wait_healthy "$dir"
}

cmd_stop() { # DIR
    local dir=$1 name pid
    for name in "${MEMBERS[@]}"; do
        pid=$(cat "$dir/$name.pid" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null || true
    done
    for name in "${MEMBERS[@]}"; do
        pid=$(cat "$dir/$name.pid" 2>/dev/null) || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/$name.pid"
    done
}

cmd_kill() { # DIR NAME
    local pid
    member_index "$2" >/dev/null
    pid=$(cat "$1/$2.pid" 2>/dev/null) || die "member $2 was not started from $1"
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

cmd_heal() { # DIR
    local dir=$1 name
    for name in "${MEMBERS[@]}"; do
        is_running "$dir" "$name" || start_member "$dir" "$name"
    done
    wait_healthy "$dir"
}

cmd_env() { # DIR
    echo "QUORUM_REAPER_ETCD_ENDPOINTS=$(endpoints)"
    echo "QUORUM_REAPER_ETCD_CLUSTER=$1"
}

cmd_run() { # CMD...
    (($# > 0)) || die "run: no command given"
    local dir status=0
    dir=$(mktemp -d "${TMPDIR:-/tmp}/quorum-reaper-etcd.XXXXXX")
    # Always stop the cluster and remove its directory, whatever happens.
    trap 'cmd_stop "'"$dir"'"; rm -rf "'"$dir"'"' EXIT
    trap 'exit 130' INT TERM
    cmd_start "$dir"
    QUORUM_REAPER_ETCD_ENDPOINTS=$(endpoints) QUORUM_REAPER_ETCD_CLUSTER=$dir "$@" || status=$?
    return "$status"
}

case ${1:-} in
    run) shift; cmd_run "$@" ;;
    start | stop | heal | env)
        (($# == 2)) || die "usage: $0 $1 DIR"
        "cmd_$1" "$2" ;;
    kill)
        (($# == 3)) || die "usage: $0 kill DIR NAME"
        cmd_kill "$2" "$3" ;;
    *) die "usage: $0 run CMD... | start DIR | stop DIR | kill DIR NAME | heal DIR | env DIR" ;;
esac
