#!/usr/bin/env python3
"""Benchmark cargo-lifecycle-lint against the parse floor and a peer.

One command, one run:  python3 bench/run.py [--rounds N] [--scratch DIR]

1. Vendors the pinned corpus (bench/corpus/Cargo.toml + Cargo.lock: tokio,
   hyper, tonic, async-nats, kube-runtime, openraft, lapin, pulsar, sled and
   their whole dependency graph) with `cargo vendor` into a scratch directory
   (not committed), and copies the lifecycle-heavy crates into a "slice".
2. Builds the release binaries (the linter, and examples/parse_floor).
3. Measures, each as its own process, N rounds (median) on the corpus:
   (1) read only, (2) syn::parse_file with span locations, one thread,
   (3) lint -j1 --no-cache, (4) lint on all cores --no-cache,
   (5) lint on all cores with a warm cache, (6) `ast-grep scan` with the
   rules in bench/ast-grep/ (where ast-grep is installed), -j1 and all cores;
   and (2), (3) on the slice.
4. Prints medians, MB/s, lines/s, peak RSS (from wait4) and each time as a
   ratio to (2).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLICE = ["tokio-", "tokio-util-", "hyper-", "tonic-", "async-nats-", "openraft-", "kube-runtime-", "lapin-", "sled-"]


def run(cmd, cwd=None, env=None):
    """Runs cmd; returns (seconds, peak RSS in MB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def corpus_stats(directory):
    files = lines = size = 0
    for base, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "target"]
        for name in names:
            if name.endswith(".rs"):
                data = Path(base, name).read_bytes()
                files += 1
                size += len(data)
                lines += data.count(b"\n")
    return files, lines, size


def vendor(scratch):
    vendored = scratch / "vendor"
    if not vendored.is_dir():
        print(f"vendoring the corpus into {vendored} ...", flush=True)
        subprocess.run(
            ["cargo", "vendor", "--versioned-dirs", "--locked", str(vendored)],
            cwd=ROOT / "bench" / "corpus", check=True, stdout=subprocess.DEVNULL,
        )
    sliced = scratch / "slice"
    if not sliced.is_dir():
        sliced.mkdir()
        for crate in sorted(vendored.iterdir()):
            name = crate.name
            if any(name.startswith(p) and name[len(p):][:1].isdigit() for p in SLICE):
                shutil.copytree(crate, sliced / name)
    return vendored, sliced


def measure(label, cmd, rounds, stats, floor=None, cwd=None, env=None, prepare=None):
    times, peaks = [], []
    for _ in range(rounds):
        if prepare:
            prepare()
        seconds, peak, code = run(cmd, cwd=cwd, env=env)
        if code not in (0, 1):
            print(f"  {label}: exit code {code}: {' '.join(map(str, cmd))}", file=sys.stderr)
        times.append(seconds)
        peaks.append(peak)
    median = statistics.median(times)
    files, lines, size = stats
    ratio = f"{median / floor:5.2f}x" if floor else "   - "
    print(f"{label:<44} {median:8.2f} s {size / 1e6 / median:8.1f} MB/s {lines / median / 1e3:9.0f}k lines/s "
          f"{max(peaks):7.0f} MB   {ratio}", flush=True)
    return median


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/lifecycle-lint-bench"))
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    vendored, sliced = vendor(args.scratch)

    print("building release binaries ...", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "lifecycle-lint", "--bins", "--example", "parse_floor"],
                   cwd=ROOT, check=True)
    lint = ROOT / "target" / "release" / "cargo-lifecycle-lint"
    floor_tool = ROOT / "target" / "release" / "examples" / "parse_floor"
    cores = os.cpu_count()
    cache_env = dict(os.environ, CARGO_TARGET_DIR=str(args.scratch / "cache"))
    ast_grep = shutil.which("ast-grep") or shutil.which("sg")

    for name, directory in (("corpus", vendored), ("slice (lifecycle-heavy crates)", sliced)):
        stats = corpus_stats(directory)
        print(f"\n{name}: {stats[0]} files, {stats[1] / 1e6:.2f}M lines, {stats[2] / 1e6:.0f} MB; "
              f"{cores} cores; median of {args.rounds} rounds")
        print(f"{'':<44} {'median':>10} {'MB/s':>13} {'lines/s':>17} {'peak RSS':>10} {'vs (2)':>7}")
        measure("(1) read only, 1 thread", [floor_tool, "read", directory], args.rounds, stats)
        floor = measure("(2) syn parse (span locations), 1 thread", [floor_tool, "parse", directory], args.rounds, stats)
        lint_cmd = [lint, str(directory), "--format", "short", "--quiet"]
        one = measure("(3) lint -j1 --no-cache", lint_cmd + ["-j1", "--no-cache"], args.rounds, stats, floor)
        if directory is sliced:
            continue
        many = measure(f"(4) lint -j{cores} --no-cache", lint_cmd + ["--no-cache"], args.rounds, stats, floor)
        cache_dir = args.scratch / "cache"
        shutil.rmtree(cache_dir, ignore_errors=True)
        run(lint_cmd, cwd=directory, env=cache_env)  # prime the cache
        warm = measure(f"(5) lint -j{cores}, warm cache", lint_cmd, args.rounds, stats, floor, cwd=directory, env=cache_env)
        grep_one = grep_many = None
        if ast_grep:
            rules = ROOT / "bench" / "ast-grep" / "sgconfig.yml"
            scan = [ast_grep, "scan", "--config", str(rules), str(directory)]
            grep_one = measure("(6) ast-grep scan, 1 thread", scan + ["--threads", "1"], args.rounds, stats, floor)
            grep_many = measure(f"(6) ast-grep scan, {cores} threads", scan + ["--threads", str(cores)], args.rounds, stats, floor)
        else:
            print("(6) ast-grep: not installed (pip install ast-grep-cli)")
        print(f"\n(4) is {one / many:.2f}x faster than (3); (5) takes {warm / many:.0%} of (4)"
              + (f"; lint is {grep_one / one:.1f}x faster than ast-grep on 1 thread, "
                 f"{grep_many / many:.1f}x on {cores}" if grep_one else ""))


if __name__ == "__main__":
    main()
