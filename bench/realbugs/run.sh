#!/usr/bin/env bash
# The real-bug benchmark end to end: extracts every case (extract.py), lints
# the extracted tree once with SARIF output, and scores it (score.py).
#
#   bench/realbugs/run.sh [--markdown]
#
# Environment: LINT (a linter binary; default: build the release binary of
# this checkout), REALBUGS_MIRROR (where the repositories' git directories
# are; default /work/.mirror, else they are cloned, which needs network),
# REALBUGS_OUT (scratch, default target/realbugs). Run by hand: CI cannot
# fetch repositories. The fixtures written from these cases run in CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${REALBUGS_OUT:-$repo/target/realbugs}

if [ -z "${LINT:-}" ]; then
    cargo build --quiet --release -p lifecycle-lint --manifest-path "$repo/Cargo.toml"
    LINT=$repo/target/release/cargo-lifecycle-lint
fi

python3 "$here/extract.py" --out "$out"
# From inside the tree, so URIs read <id>/pre/<path>. Findings make the exit
# status non-zero; a run that wrote no SARIF is what fails.
(cd "$out/cases" && "$LINT" . --format sarif --no-cache --quiet > "$out/results.sarif") || true
[ -s "$out/results.sarif" ] || { echo "the linter wrote no SARIF log" >&2; exit 1; }
python3 "$here/score.py" "$out/results.sarif" "$@"
