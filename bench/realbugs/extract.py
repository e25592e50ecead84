#!/usr/bin/env python3
"""Extracts every real-bug case's files from git into a scratch directory.

    bench/realbugs/extract.py [--mirror DIR] [--out DIR] [--case ID ...]

For each `cases/<rule>/<id>.toml` it finds the repository's git directory in
the mirror (`DIR/<owner>+<name>/repo` as the project's fetch tool lays them out, or
`DIR/<owner>+<name>` bare;
default `$REALBUGS_MIRROR` or /work/.mirror), or clones it bare into
`OUT/repos/` when it is not there (that needs network access), and writes

    OUT/cases/<id>/pre/<path>      the file at the pre-fix commit
    OUT/cases/<id>/fixed/<path>    the file at the fix commit

plus each `context_paths` file at both commits, and a one-line Cargo.toml in
`pre/` and `fixed/` so every side is its own package (facts such as deleting
`Drop` types never leak from one case into another). Nothing extracted is
ever committed: OUT defaults to target/realbugs.

Every case is checked before it counts: both commits exist, the pre-fix
commit is an ancestor of the fix, the anchor line's SHA-256 matches, and the
line ranges lie inside their files. A case that fails a check is reported
and left out; the script exits 1 if any did.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import re
import subprocess
import sys
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
HEX40 = re.compile(r"^[0-9a-f]{40}$")
REQUIRED = {
    "id": str, "rule": str, "shape": str, "repo": str, "fix_commit": str,
    "pre_commit": str, "path": str, "pre_lines": list, "fixed_lines": list,
    "anchor_line": int, "anchor_sha256": str, "reference": str, "summary": str,
}


class CaseError(Exception):
    pass


def load_cases(cases_dir: pathlib.Path) -> list[dict]:
    cases = []
    for path in sorted(cases_dir.glob("*/*.toml")):
        try:
            case = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise SystemExit(f"{path}: not valid TOML: {e}")
        for key, kind in REQUIRED.items():
            if not isinstance(case.get(key), kind):
                raise SystemExit(f"{path}: `{key}` must be a {kind.__name__}")
        for key in ("pre_commit", "fix_commit"):
            if not HEX40.match(case[key]):
                raise SystemExit(f"{path}: `{key}` must be 40 lowercase hex digits")
        for key in ("pre_lines", "fixed_lines"):
            lo_hi = case[key]
            if len(lo_hi) != 2 or not all(isinstance(n, int) for n in lo_hi) or lo_hi[0] > lo_hi[1]:
                raise SystemExit(f"{path}: `{key}` must be [first, last] line numbers")
        if path.parent.name != case["rule"]:
            raise SystemExit(f"{path}: lies under {path.parent.name}/ but names rule {case['rule']}")
        if path.stem != case["id"]:
            raise SystemExit(f"{path}: file name must be the case id ({case['id']})")
        case.setdefault("fixed_path", case["path"])
        case.setdefault("context_paths", [])
        case["_file"] = str(path.relative_to(REPO_ROOT))
        cases.append(case)
    ids = [c["id"] for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate case ids: {sorted(dupes)}")
    return cases


def git(git_dir: pathlib.Path, *args: str) -> bytes:
    done = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True)
    if done.returncode != 0:
        raise CaseError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def git_dir_for(repo: str, mirror: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    name = repo.replace("/", "+")
    # The fetch tool lays a repository out as <owner>+<name>/repo (a git
    # directory without a work tree); a plain bare clone works too.
    for candidate in (mirror / name / "repo", mirror / name, out / "repos" / name):
        if (candidate / "HEAD").exists():
            return candidate
        if (candidate / ".git" / "HEAD").exists():
            return candidate / ".git"
    target = out / "repos" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"cloning {repo} into {target} (not in {mirror})", file=sys.stderr)
    done = subprocess.run(["git", "clone", "--quiet", "--bare", f"https://github.com/{repo}", str(target)])
    if done.returncode != 0:
        raise CaseError(f"{repo}: not in {mirror} and could not be cloned")
    return target


def write(dest: pathlib.Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def extract(case: dict, mirror: pathlib.Path, out: pathlib.Path) -> None:
    git_dir = git_dir_for(case["repo"], mirror, out)
    pre, fix = case["pre_commit"], case["fix_commit"]
    for commit in (pre, fix):
        git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    if subprocess.run(["git", "--git-dir", str(git_dir), "merge-base", "--is-ancestor", pre, fix]).returncode != 0:
        raise CaseError(f"pre_commit {pre[:12]} is not an ancestor of fix_commit {fix[:12]}")
    pre_text = git(git_dir, "show", f"{pre}:{case['path']}")
    fixed_text = git(git_dir, "show", f"{fix}:{case['fixed_path']}")
    pre_lines = pre_text.decode("utf-8", errors="replace").split("\n")
    fixed_count = fixed_text.decode("utf-8", errors="replace").count("\n") + 1
    lo, hi = case["pre_lines"]
    if hi > len(pre_lines):
        raise CaseError(f"pre_lines {lo}-{hi} run past the pre-fix file ({len(pre_lines)} lines)")
    if case["fixed_lines"][1] > fixed_count:
        raise CaseError(f"fixed_lines run past the fixed file ({fixed_count} lines)")
    anchor = case["anchor_line"]
    if not lo <= anchor <= hi:
        raise CaseError(f"anchor_line {anchor} is outside pre_lines {lo}-{hi}")
    digest = hashlib.sha256(pre_lines[anchor - 1].strip().encode()).hexdigest()
    if digest != case["anchor_sha256"]:
        raise CaseError(f"anchor line {anchor} does not hash to anchor_sha256 (got {digest[:16]}...): wrong commit or path")

    case_dir = out / "cases" / case["id"]
    for side, commit, path, text in (("pre", pre, case["path"], pre_text), ("fixed", fix, case["fixed_path"], fixed_text)):
        root = case_dir / side
        write(root / path, text)
        for extra in case["context_paths"]:
            write(root / extra, git(git_dir, "show", f"{commit}:{extra}"))
        package = re.sub(r"[^a-z0-9_]", "_", f"{case['id']}_{side}".lower())
        write(root / "Cargo.toml", f'[package]\nname = "{package}"\nversion = "0.0.0"\nedition = "2021"\n'.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=pathlib.Path, default=pathlib.Path(os.environ.get("REALBUGS_MIRROR", "/work/.mirror")))
    parser.add_argument("--out", type=pathlib.Path, default=REPO_ROOT / "target" / "realbugs")
    parser.add_argument("--case", action="append", help="extract only this case (repeatable)")
    args = parser.parse_args()

    cases = load_cases(HERE / "cases")
    if args.case:
        cases = [c for c in cases if c["id"] in set(args.case)]
    failed = 0
    cases_out = args.out / "cases"
    if cases_out.exists():
        # A fresh tree each time: a case removed from the manifest must not linger.
        subprocess.run(["rm", "-rf", str(cases_out)], check=True)
    for case in cases:
        try:
            extract(case, args.mirror, args.out)
        except CaseError as e:
            failed += 1
            print(f"{case['_file']}: {e}", file=sys.stderr)
    print(f"extracted {len(cases) - failed} of {len(cases)} cases into {cases_out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
