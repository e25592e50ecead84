#!/usr/bin/env bash
# The GitHub Action's lint step (action.yml): one analysis, printed as
# workflow-command annotations and written as SARIF, with the exit status
# and the SARIF path in $GITHUB_OUTPUT. Runs anywhere (tests run it
# locally): LIFECYCLE_LINT picks the binary (default: cargo-lifecycle-lint
# on PATH), GITHUB_OUTPUT defaults to /dev/null.
#
# Environment: LIFECYCLE_LINT_ARGS (extra arguments, split on spaces),
# LIFECYCLE_LINT_BASELINE (a baseline file, optional), LIFECYCLE_LINT_SARIF
# (default lifecycle-lint.sarif).
set -uo pipefail
lint=${LIFECYCLE_LINT:-cargo-lifecycle-lint}
sarif=${LIFECYCLE_LINT_SARIF:-lifecycle-lint.sarif}
output=${GITHUB_OUTPUT:-/dev/null}
read -r -a extra <<< "${LIFECYCLE_LINT_ARGS:-}"
if [ -n "${LIFECYCLE_LINT_BASELINE:-}" ]; then
    extra+=(--baseline "$LIFECYCLE_LINT_BASELINE")
fi

# Annotations first, then the SARIF log; the result cache makes the second
# run read every file from it.
"$lint" "${extra[@]}" --format github
status=$?
"$lint" "${extra[@]}" --format sarif --quiet > "$sarif"
sarif_status=$?
if [ "$sarif_status" -eq 2 ] || [ ! -s "$sarif" ]; then
    echo "::error::lifecycle-lint could not write $sarif (exit status $sarif_status)"
    status=2
fi
{
    echo "exit-code=$status"
    echo "sarif-file=$sarif"
} >> "$output"
# The action fails the job in its last step, after the upload.
exit 0
