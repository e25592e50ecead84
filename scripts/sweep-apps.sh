#!/usr/bin/env bash
# The precision sweep over application code: extracts a fixed, commit-pinned
# set of large public Rust applications full of lifecycle code (databases,
# brokers, proxies, chain clients, controllers; listed in
# scripts/sweep-apps.tsv) into a scratch directory (never committed), lints
# them all in one run, and prints every finding and a count per rule. Each
# finding is checked against scripts/sweep-apps-triage.tsv, where every
# finding ever reported is marked true or false with the reason; the script
# fails if a finding is not triaged yet, and reports precision per rule.
#
#   scripts/sweep-apps.sh [SCRATCH_DIR]     (default: target/sweep-apps)
#
# Environment:
#   MIRROR  where bare git dirs are looked up, as MIRROR/owner+name (or
#           MIRROR/owner+name/repo); default /work/.mirror. A repository not
#           there is cloned (bare, blobless) into SCRATCH/git, which needs
#           network access to github.com on the first run only.
#   LINT    the linter binary to run; default: build this workspace's
#           `cargo build --release -p lifecycle-lint` and use
#           target/release/cargo-lifecycle-lint.
#
# Files that do not parse are listed on stderr; the linter's own exit status
# (findings, parse errors) does not stop the sweep.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$repo/target/sweep-apps}
mirror=${MIRROR:-/work/.mirror}
manifest=$repo/scripts/sweep-apps.tsv
triage=$repo/scripts/sweep-apps-triage.tsv
trees=$scratch/trees
mkdir -p "$trees"
scratch=$(cd "$scratch" && pwd) trees=$(cd "$trees" && pwd)

# repo commit: one tree per repository, extracted once.
while IFS=$'\t' read -r name commit _what; do
    case $name in ''|'#'*) continue ;; esac
    dir=${name/\//+}
    [ -d "$trees/$dir" ] && continue
    git=""
    for candidate in "$mirror/$dir/repo" "$mirror/$dir" "$scratch/git/$dir"; do
        if git -C "$candidate" rev-parse --is-bare-repository > /dev/null 2>&1; then
            git=$candidate
            break
        fi
    done
    if [ -z "$git" ]; then
        git=$scratch/git/$dir
        mkdir -p "$scratch/git"
        git clone --quiet --bare --filter=blob:none "https://github.com/$name" "$git"
    fi
    if ! git -C "$git" cat-file -e "$commit^{commit}" 2> /dev/null; then
        git -C "$git" fetch --quiet origin "$commit"
    fi
    echo "extracting $name $commit" >&2
    rm -rf "$trees/$dir.part"
    mkdir -p "$trees/$dir.part"
    # Snapshots may lack their largest blobs (data files), which `git archive`
    # cannot skip by pathspec: then archive every other file by name, in
    # batches (concatenated tar streams).
    listing=$(git -C "$git" ls-tree -r --format='%(objectname)%x09%(path)' "$commit")
    missing=$(cut -f1 <<< "$listing" | git -C "$git" cat-file --batch-check 2> /dev/null |
        sed -n 's/ missing$//p')
    if [ -z "$missing" ]; then
        git -C "$git" archive "$commit" | tar -x -C "$trees/$dir.part"
    else
        echo "  leaving out $(wc -l <<< "$missing") files missing from the snapshot" >&2
        awk -F'\t' 'NR == FNR { gone[$1] = 1; next } !gone[$1] { printf "%s%c", $2, 0 }' \
            <(printf '%s\n' "$missing") <(printf '%s\n' "$listing") |
            xargs -0 git -C "$git" --literal-pathspecs archive "$commit" -- 2> /dev/null |
            tar -x --ignore-zeros -C "$trees/$dir.part"
    fi
    mv "$trees/$dir.part" "$trees/$dir"
done < "$manifest"

if [ -n "${LINT:-}" ]; then
    lint=$LINT
else
    cargo build --quiet --release -p lifecycle-lint --manifest-path "$repo/Cargo.toml"
    lint=$repo/target/release/cargo-lifecycle-lint
fi

# One run over every tree, as over a workspace of many packages (each
# repository's own lifecycle-lint configuration, if any, applies to it).
# This run's own outputs: runs of several checkouts may share the trees.
run_dir=$(mktemp -d "$scratch/run.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
findings=$run_dir/findings.tsv
start=$(date +%s)
(cd "$trees" && "$lint" . --format json --no-cache --quiet || true) > "$run_dir/findings.json"
echo "linted in $(( $(date +%s) - start ))s" >&2
(cd "$trees" && python3 - "$run_dir/findings.json" "$manifest") > "$findings" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
commits = {}
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    name, commit = line.rstrip("\n").split("\t")[:2]
    commits[name.replace("/", "+", 1)] = (name, commit)
print(doc["summary"]["files_checked"], "files linted", file=sys.stderr)
# Paths are relative to the workspace root the linter ran in ("root"),
# which may lie above the trees directory: make them relative to the trees.
import os
trees = os.getcwd()
def under_trees(path):
    return os.path.relpath(os.path.join(doc["root"], path), trees)
for f in doc["findings"]:
    tree, _, path = under_trees(f["path"]).partition("/")
    name, commit = commits.get(tree, (tree, "?"))
    print("\t".join([name, commit, path, str(f["region"]["start_line"]), f["rule"]]))
errors = doc.get("errors", [])
print(len(errors), "files could not be linted", file=sys.stderr)
for e in errors:
    print("could not lint", e["path"] + ":", e["kind"] + ":", e["message"], file=sys.stderr)
PY

# --list-rules prints the rules, a blank line, then the groups.
python3 "$repo/scripts/triage.py" "$findings" "$triage" "$("$lint" --list-rules | sed '/^$/,$d' | cut -d' ' -f1)"
