#!/usr/bin/env bash
# The sweep of real code: vendors a fixed, version-pinned set of crates full
# of lifecycle code (brokers and clients, consensus, controllers, pools,
# runtimes) and their dependencies from crates.io into a scratch directory
# (never committed), lints them all in one run, and prints every finding and
# a count per rule. Each finding is checked against scripts/sweep-triage.tsv, where every
# finding ever reported is marked true or false with the reason; the script
# fails if a finding is not triaged yet, and reports precision per rule.
#
#   scripts/sweep.sh [SCRATCH_DIR]     (default: target/sweep)
#
# Needs network access to crates.io on the first run only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$repo/target/sweep}
triage=$repo/scripts/sweep-triage.tsv

# name version: what each crate brings
crates=(
    "tokio 1.54.1"          # runtime: timers, tasks, shutdown
    "tokio-util 0.7.20"     # DelayQueue, CancellationToken
    "hyper 1.12.0"          # connection lifecycles, keep-alive timers
    "h2 0.4.20"             # stream reaping, GOAWAY
    "tower 0.5.3"           # timeouts, buffers, load shedding
    "tonic 0.14.9"          # gRPC channels and servers
    "async-nats 0.45.0"     # the NATS client: consumers, ping timers, reconnects
    "kube-runtime 2.0.1"    # controllers, finalizers, watchers
    "openraft 0.9.25"       # Raft: leases, elections, membership changes
    "etcd-client 0.21.1"    # leases, keep-alives, watches
    "lapin 3.7.2"           # AMQP consumers and channels
    "pulsar 6.5.0"          # Pulsar consumers, producers, reconnects
    "rskafka 0.6.0"         # Kafka client: brokers, consumer streams
    "sled 0.34.7"           # embedded database: flushers, GC
    "deadpool 0.12.3"       # pools: recycling, timeouts
    "bb8 0.9.1"             # pools: reaping idle connections
    "moka 0.12.16"          # caches: expiry, eviction
    "quinn 0.11.12"         # QUIC: idle timeouts, connection close
    "rumqttd 0.20.0"        # an MQTT broker: sessions, will delays, keep-alives
    "chitchat 0.13.0"       # gossip: failure detection, dead-node garbage collection
    "foca 2.0.0"            # SWIM membership: suspicion timers, member removal
    "ractor 0.16.5"         # actors: supervision, timers, shutdown
    "raft 0.7.0"            # Raft (TiKV): leader leases, election timers
    "rdkafka 0.39.0"        # Kafka consumers: rebalances, commits
    "tokio-postgres 0.7.18" # connections, cancellation
    "actix-server 2.10.0"   # workers, graceful shutdown
    "libp2p-swarm 0.48.0"   # connection handlers, idle timeouts
)

work=$scratch/workspace
vendor=$scratch/vendor
missing=0
for spec in "${crates[@]}"; do
    set -- $spec
    [ -d "$vendor/$1-$2" ] || missing=1
done
if [ "$missing" = 1 ]; then
    rm -rf "$vendor"
    mkdir -p "$work/src"
    : > "$work/src/lib.rs"
    {
        printf '[package]\nname = "sweep"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n'
        for spec in "${crates[@]}"; do
            set -- $spec
            printf '%s = "=%s"\n' "$1" "$2"
        done
    } > "$work/Cargo.toml"
    (cd "$work" && cargo vendor --quiet --versioned-dirs "$vendor" > /dev/null)
fi

cargo build --quiet --release -p lifecycle-lint --manifest-path "$repo/Cargo.toml"
lint=$repo/target/release/cargo-lifecycle-lint

# One run over every vendored crate (the crates above and their whole
# dependency closure), as over a workspace of many packages. Files that do
# not parse are listed on stderr.
findings=$scratch/findings.tsv
(cd "$vendor" && ("$lint" . --format json --quiet || true) |
    python3 -c '
import json, os, sys
doc = json.load(sys.stdin)
print(doc["summary"]["files_checked"], "files linted", file=sys.stderr)
# Paths are relative to the workspace root the linter ran in ("root"),
# which may lie above the vendor directory.
for f in doc["findings"]:
    crate_dir, _, path = os.path.relpath(os.path.join(doc["root"], f["path"])).partition("/")
    name, _, version = crate_dir.rpartition("-")
    print("\t".join([name, version, path, str(f["region"]["start_line"]), f["rule"]]))
for e in doc["errors"]:
    print("could not lint", e["path"] + ":", e["kind"] + ":", e["message"], file=sys.stderr)
') > "$findings"

# --list-rules prints the rules, a blank line, then the groups.
python3 "$repo/scripts/triage.py" "$findings" "$triage" "$("$lint" --list-rules | sed '/^$/,$d' | cut -d' ' -f1)"
