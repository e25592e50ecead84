#!/usr/bin/env python3
"""Checks a sweep's findings against its triage file (shared by sweep.sh
and sweep-apps.sh).

    scripts/triage.py FINDINGS.tsv TRIAGE.tsv "RULE RULE ..."

FINDINGS.tsv has one finding a line: source, version or commit, path, line,
rule. TRIAGE.tsv has the same five columns plus a verdict (true|false) and
the reason, `#` comments allowed. Prints every finding with its verdict,
precision per rule, the true findings, and the entries no longer reported;
exits 1 if a finding is not triaged.
"""
import collections, sys
findings_path, triage_path, rules = sys.argv[1:4]
findings = [tuple(l.rstrip("\n").split("\t")) for l in open(findings_path) if l.strip()]
triage = {}
try:
    lines = open(triage_path).readlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if line.startswith("#") or not line.strip():
        continue
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 7 or fields[5] not in ("true", "false") or not fields[6].strip():
        sys.exit(f"{triage_path}: want 7 tab-separated columns ending in true|false and a reason: {line!r}")
    triage[tuple(fields[:5])] = (fields[5], fields[6])

print(f"{len(findings)} findings")
for f in findings:
    verdict, why = triage.get(f, ("UNTRIAGED", ""))
    print(f"  {verdict:9} {f[4]:26} {f[0]} {f[2]}:{f[3]}  {why}")
per_rule = collections.defaultdict(collections.Counter)
for f in findings:
    per_rule[f[4]][triage.get(f, ("UNTRIAGED",))[0]] += 1
print("\nper rule, this run (true / false / untriaged):")
for rule in rules.split():
    counts = per_rule[rule]
    shown = counts["true"] + counts["false"]
    precision = f"{counts['true'] / shown:.0%}" if shown else "n/a"
    print(f"  {rule:26} {counts['true']:3} / {counts['false']:3} / {counts['UNTRIAGED']:3}  precision {precision}")
true_now = [f for f in findings if triage.get(f, ("",))[0] == "true"]
print(f"\ntrue findings this run: {len(true_now)}")
for f in true_now:
    print(f"  {f[4]:26} {f[0]} {f[1][:12]} {f[2]}:{f[3]}  {triage[f][1]}")
stale = sorted(set(triage) - set(findings))
true_total = sum(1 for v in triage.values() if v[0] == "true")
false_total = sum(1 for v in triage.values() if v[0] == "false")
print(f"\ntriage file: {len(triage)} entries ({true_total} true, {false_total} false); "
      f"{len(stale)} no longer reported (false positives since fixed, or true ones lost)")
for s in stale:
    print(f"  no longer reported: {triage[s][0]:5} {s[4]} {s[0]} {s[2]}:{s[3]}: {triage[s][1]}")
untriaged = [f for f in findings if f not in triage]
if untriaged:
    print(f"\n{len(untriaged)} findings are not triaged yet: add them to {triage_path}")
    sys.exit(1)
