#!/usr/bin/env python3
"""Scores a SARIF log of a run over the extracted real-bug cases.

    bench/realbugs/score.py RESULTS.sarif [--markdown]

The log must come from linting the extracted tree (`OUT/cases`, see
extract.py) from inside that directory, so every result's URI reads
`<id>/pre/<path>` or `<id>/fixed/<path>`. A case is *found* when its rule
reports a result whose first line lies in `pre_lines` of the pre-fix file,
and has a *post-fix false positive* when its rule still reports inside
`fixed_lines` of the fixed file. Prints every case, then recall and post-fix
false positives per rule (`--markdown`: the table for the README). Exits 1
only on a malformed log.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import sys
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from extract import HERE, load_cases  # noqa: E402


def results(sarif_path: pathlib.Path, cases_dir: pathlib.Path):
    """(rule, path relative to cases_dir, line) of every result. URIs are
    relative to their uriBaseId (the workspace root the linter ran in, which
    may lie above the cases directory) or absolute file:// URIs."""
    try:
        log = json.loads(sarif_path.read_text())
        for run in log["runs"]:
            bases = {k: urllib.parse.urlparse(v["uri"]).path for k, v in run.get("originalUriBaseIds", {}).items()}
            for result in run["results"]:
                location = result["locations"][0]["physicalLocation"]
                artifact = location["artifactLocation"]
                path = urllib.parse.unquote(urllib.parse.urlparse(artifact["uri"]).path)
                if "uriBaseId" in artifact:
                    path = os.path.join(bases[artifact["uriBaseId"]], path)
                if os.path.isabs(path):
                    path = os.path.relpath(path, cases_dir)
                # else: a log from a linter that showed paths relative to
                # where it ran, the cases directory.
                yield (result["ruleId"], path, location["region"]["startLine"])
    except (OSError, ValueError, KeyError, IndexError) as e:
        raise SystemExit(f"{sarif_path}: not a SARIF log of lifecycle-lint ({e})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sarif", type=pathlib.Path)
    parser.add_argument("--markdown", action="store_true", help="print the per-rule table as Markdown")
    parser.add_argument("--cases", type=pathlib.Path,
                        help="the extracted cases the log is of (default: cases/ beside the log)")
    args = parser.parse_args()
    cases_dir = (args.cases or args.sarif.parent / "cases").resolve()

    cases = load_cases(HERE / "cases")
    by_file = collections.defaultdict(list)
    for rule, uri, line in results(args.sarif, cases_dir):
        by_file[uri].append((rule, line))

    rows = collections.defaultdict(lambda: collections.Counter())
    print(f"{'case':58} {'rule':26} before  after")
    for case in cases:
        rule = case["rule"]
        pre = by_file.get(f"{case['id']}/pre/{case['path']}", [])
        fixed = by_file.get(f"{case['id']}/fixed/{case['fixed_path']}", [])
        lo, hi = case["pre_lines"]
        found = [line for r, line in pre if r == rule and lo <= line <= hi]
        lo, hi = case["fixed_lines"]
        still = [line for r, line in fixed if r == rule and lo <= line <= hi]
        rows[rule]["cases"] += 1
        rows[rule]["found"] += bool(found)
        rows[rule]["post_fp"] += bool(still)
        before = f"line {found[0]}" if found else "missed"
        after = f"FP line {still[0]}" if still else "silent"
        print(f"{case['id']:58} {rule:26} {before:9} {after}")

    total = collections.Counter()
    for counts in rows.values():
        total.update(counts)
    rows["all"] = total

    def recall(c):
        return f"{c['found'] / c['cases']:.0%}" if c["cases"] else "n/a"

    print()
    if args.markdown:
        print("| rule | cases | found before the fix | recall | post-fix false positives |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for rule in sorted(k for k in rows if k != "all") + ["all"]:
            c = rows[rule]
            name = "**all**" if rule == "all" else f"`{rule}`"
            print(f"| {name} | {c['cases']} | {c['found']} | {recall(c)} | {c['post_fp']} |")
    else:
        for rule in sorted(k for k in rows if k != "all") + ["all"]:
            c = rows[rule]
            print(f"{rule:26} {c['found']:3} of {c['cases']:3} found ({recall(c):>4}), {c['post_fp']} post-fix false positives")
    return 0


if __name__ == "__main__":
    sys.exit(main())
