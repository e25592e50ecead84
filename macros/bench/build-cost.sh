#!/usr/bin/env bash
# What #[quorum_gated_delete] costs a build.
#
# Generates one crate with N lifecycle functions (default 1000) twice — with
# and without the attribute — in a scratch directory, compiles the
# dependencies once, then rebuilds each variant's own crate R times
# (default 5, alternating) and prints the median build times and their ratio.
# Usage: macros/bench/build-cost.sh [N] [R]
set -euo pipefail
functions=${1:-1000}
rounds=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

generate() { # $1 = crate dir, $2 = attribute line or empty
    mkdir -p "$1/src"
    cat > "$1/Cargo.toml" <<TOML
[package]
name = "gated-bench"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
lifecycle-macros = { path = "$root/macros" }

[workspace]
TOML
    {
        echo "#![allow(dead_code, unused_imports)]"
        echo "use lifecycle_macros::quorum_gated_delete;"
        echo "pub struct Consumer { pub key: String, pub generation: u64, pub closed: bool }"
        echo "pub trait Metalayer { fn propose_delete(&self, key: &str, generation: u64) -> Result<(), String>; fn is_ready(&self) -> bool; }"
        for i in $(seq 1 "$functions"); do
            [ -n "$2" ] && echo "$2"
            cat <<RUST
pub fn delete_not_active_$i(meta: &dyn Metalayer, consumer: &Consumer, attempts: &mut Vec<u64>) -> Result<bool, String> {
    if consumer.closed {
        return Ok(false);
    }
    if !meta.is_ready() {
        eprintln!("consumer {}: metalayer not ready, re-arming", consumer.key);
        return Err(format!("not ready: {}", consumer.key));
    }
    for attempt in 0..3u64 {
        attempts.push(attempt);
        match meta.propose_delete(&consumer.key, consumer.generation) {
            Ok(()) => return Ok(true),
            Err(e) if attempt < 2 => eprintln!("consumer {}: proposal {attempt} failed: {e}", consumer.key),
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
RUST
        done
    } > "$1/src/lib.rs"
}

generate "$scratch/plain" ""
generate "$scratch/gated" "#[quorum_gated_delete]"
export CARGO_TARGET_DIR="$scratch/target"
echo "building dependencies once ..."
(cd "$scratch/gated" && cargo build -q)
(cd "$scratch/plain" && cargo build -q)

time_build() { # prints seconds for one rebuild of the crate itself
    touch "$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    (cd "$1" && cargo build -q)
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

plain_times=()
gated_times=()
for _ in $(seq 1 "$rounds"); do
    plain_times+=("$(time_build "$scratch/plain")")
    gated_times+=("$(time_build "$scratch/gated")")
done
plain=$(printf '%s\n' "${plain_times[@]}" | median)
gated=$(printf '%s\n' "${gated_times[@]}" | median)
printf '%s functions, %s rounds, debug build of the crate itself (dependencies prebuilt), %s cores\n' "$functions" "$rounds" "$(nproc)"
printf 'without the attribute: median %.2f s  (%s)\n' "$plain" "${plain_times[*]}"
printf 'with the attribute:    median %.2f s  (%s)\n' "$gated" "${gated_times[*]}"
awk -v g="$gated" -v p="$plain" 'BEGIN { printf "ratio with/without:    %.2fx\n", g / p }'
