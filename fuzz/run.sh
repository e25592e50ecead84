#!/usr/bin/env bash
# Builds a fuzz target with libFuzzer and sanitizer coverage on the stable
# toolchain (the same instrumentation `cargo fuzz build -s none` asks for, so
# no nightly and no cargo-fuzz are needed) and runs it.
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# TARGET is `bytes` or `rust` (see fuzz/Cargo.toml). The run starts from the
# committed seeds in fuzz/seeds/TARGET and keeps what it learns in
# fuzz/corpus/TARGET (not committed). A crash leaves its input in
# fuzz/artifacts/TARGET and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]}
shift 2

triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares"
# No `--cfg fuzzing` (cargo fuzz sets it): under it proc-macro2 stops tracking
# span positions, and positions are among what is checked.
# --target keeps the instrumentation off build scripts and proc-macros.
cargo build --release --locked --target "$triple" --bin "$target"

mkdir -p "corpus/$target" "artifacts/$target"
exec "target/$triple/release/$target" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=65536 \
    -artifact_prefix="artifacts/$target/" \
    -print_final_stats=1 \
    "$@" \
    "corpus/$target" "seeds/$target"
