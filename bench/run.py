#!/usr/bin/env python3
"""Benchmark cargo-lifecycle-lint against the parse floor and a peer.

One command, one run:  python3 bench/run.py [--rounds N] [--scratch DIR] [--baseline BINARY]

1. Vendors the pinned corpus (bench/corpus/Cargo.toml + Cargo.lock: tokio,
   hyper, tonic, async-nats, kube-runtime, openraft, lapin, pulsar, sled and
   their whole dependency graph) with `cargo vendor` into a scratch directory
   (not committed), and copies the lifecycle-heavy crates into a "slice".
2. Builds the release binaries (the linter, and examples/parse_floor).
3. Measures, each as its own process, N >= 3 rounds (median) on the corpus,
   interleaved (every measurement once per round, in turn, so that a change
   of load hits them all), with the load average before and after; ratios
   are marked * when the load moved by more than 0.5:
   (1) read only, (2) syn::parse_file with span locations, one thread,
   (3) lint -j1 --no-cache, (3c) the same with --parse-all (every file
   parsed whole), (4) lint on all cores --no-cache,
   (5) lint on all cores with a warm cache, (6) `ast-grep scan` with the
   rules in bench/ast-grep/ (where ast-grep is installed), -j1 and all cores;
   and (1)-(3c) on the slice. With --baseline BINARY, an older build is
   measured as (3b) in the same rounds, and the ratio printed.
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


def find_ast_grep():
    """ast-grep's binary, as `ast-grep` or `sg` -- but Debian's `sg` is
    shadow's switch-group command, so a candidate must say it is ast-grep."""
    for name in ("ast-grep", "sg"):
        path = shutil.which(name)
        if not path:
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "ast-grep" in out:
            return path
    return None


class Measurement:
    """One command measured over the rounds; its times are kept per round."""

    def __init__(self, label, cmd, cwd=None, env=None, prepare=None):
        self.label, self.cmd, self.cwd, self.env, self.prepare = label, cmd, cwd, env, prepare
        self.times, self.peaks = [], []

    def once(self):
        if self.prepare:
            self.prepare()
        seconds, peak, code = run(self.cmd, cwd=self.cwd, env=self.env)
        if code not in (0, 1):
            print(f"  {self.label}: exit code {code}: {' '.join(map(str, self.cmd))}", file=sys.stderr)
        self.times.append(seconds)
        self.peaks.append(peak)

    @property
    def median(self):
        return statistics.median(self.times)


def load():
    return os.getloadavg()[0]


def measure_interleaved(measurements, rounds):
    """Runs round after round, each round every measurement once in turn
    (floor, lint, floor, lint ...), so that a change of the machine's load
    hits all of them alike. Returns the 1-minute load average before and
    after."""
    before = load()
    for _ in range(rounds):
        for m in measurements:
            m.once()
    return before, load()


def report(measurements, stats, floor, trusted):
    files, lines, size = stats
    for m in measurements:
        median = m.median
        if floor is None or m is floor:
            ratio = "   - "
        else:
            ratio = f"{median / floor.median:5.2f}x" + ("" if trusted else "*")
        print(f"{m.label:<44} {median:8.2f} s {size / 1e6 / median:8.1f} MB/s {lines / median / 1e3:9.0f}k lines/s "
              f"{max(m.peaks):7.0f} MB   {ratio}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/lifecycle-lint-bench"))
    parser.add_argument("--baseline", type=Path, metavar="BINARY",
                        help="another cargo-lifecycle-lint (an older build) measured -j1 --no-cache in the same rounds")
    parser.add_argument("--lint", type=Path, metavar="BINARY",
                        help="measure this cargo-lifecycle-lint instead of this checkout's release build "
                             "(e.g. one built with the same profile as --baseline)")
    parser.add_argument("--corpus-only", action="store_true", help="skip the slice")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: a median of fewer is one lucky run")
    args.scratch.mkdir(parents=True, exist_ok=True)
    vendored, sliced = vendor(args.scratch)

    print("building release binaries ...", flush=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "lifecycle-lint", "--bins", "--example", "parse_floor"],
                   cwd=ROOT, check=True)
    lint = args.lint or ROOT / "target" / "release" / "cargo-lifecycle-lint"
    floor_tool = ROOT / "target" / "release" / "examples" / "parse_floor"
    cores = os.cpu_count()
    cache_dir = args.scratch / "cache"
    cache_env = dict(os.environ, CARGO_TARGET_DIR=str(cache_dir))
    ast_grep = find_ast_grep()

    directories = [("corpus", vendored)] + ([] if args.corpus_only else [("slice (lifecycle-heavy crates)", sliced)])
    for name, directory in directories:
        stats = corpus_stats(directory)
        lint_cmd = [lint, str(directory), "--format", "short", "--quiet"]
        floor = Measurement("(2) syn parse (span locations), 1 thread", [floor_tool, "parse", directory])
        one = Measurement("(3) lint -j1 --no-cache", lint_cmd + ["-j1", "--no-cache"])
        parse_all = Measurement("(3c) lint -j1 --no-cache --parse-all", lint_cmd + ["-j1", "--no-cache", "--parse-all"])
        measurements = [Measurement("(1) read only, 1 thread", [floor_tool, "read", directory]), floor, one, parse_all]
        baseline = None
        if args.baseline:
            baseline = Measurement("(3b) baseline lint -j1 --no-cache",
                                   [args.baseline, str(directory), "--format", "short", "--quiet", "-j1", "--no-cache"])
            measurements.append(baseline)
        many = warm = grep_one = grep_many = None
        if directory is vendored:
            many = Measurement(f"(4) lint -j{cores} --no-cache", lint_cmd + ["--no-cache"])
            shutil.rmtree(cache_dir, ignore_errors=True)
            run(lint_cmd, cwd=directory, env=cache_env)  # prime the cache
            warm = Measurement(f"(5) lint -j{cores}, warm cache", lint_cmd, cwd=directory, env=cache_env)
            measurements += [many, warm]
            if ast_grep:
                rules = ROOT / "bench" / "ast-grep" / "sgconfig.yml"
                scan = [ast_grep, "scan", "--config", str(rules), str(directory)]
                grep_one = Measurement("(6) ast-grep scan, 1 thread", scan + ["--threads", "1"])
                grep_many = Measurement(f"(6) ast-grep scan, {cores} threads", scan + ["--threads", str(cores)])
                measurements += [grep_one, grep_many]
        print(f"\n{name}: {stats[0]} files, {stats[1] / 1e6:.2f}M lines, {stats[2] / 1e6:.0f} MB; "
              f"{cores} cores; median of {args.rounds} interleaved rounds", flush=True)
        before, after = measure_interleaved(measurements, args.rounds)
        trusted = abs(after - before) <= 0.5
        print(f"load average (1 min): {before:.2f} before, {after:.2f} after"
              + ("" if trusted else " -- it moved by more than 0.5, so the ratios (marked *) are not trusted"))
        print(f"{'':<44} {'median':>10} {'MB/s':>13} {'lines/s':>17} {'peak RSS':>10} {'vs (2)':>7}")
        report(measurements, stats, floor, trusted)
        mark = "" if trusted else "*"
        if baseline:
            print(f"\nthis build takes {one.median / baseline.median:.2f}x{mark} the baseline's time (-j1 --no-cache; "
                  f"per round: {', '.join(f'{a / b:.2f}' for a, b in zip(one.times, baseline.times))})")
        if many:
            print(f"(4) is {one.median / many.median:.2f}x{mark} faster than (3); (5) takes {warm.median / many.median:.0%} of (4)"
                  + (f"; lint is {grep_one.median / one.median:.1f}x{mark} faster than ast-grep on 1 thread, "
                     f"{grep_many.median / many.median:.1f}x{mark} on {cores}" if grep_one else ""))
            if not ast_grep:
                print("(6) ast-grep: not installed (pip install ast-grep-cli)")


if __name__ == "__main__":
    main()
