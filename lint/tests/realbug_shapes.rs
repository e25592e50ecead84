//! The shapes of the real-bug benchmark (`bench/realbugs/`), in the
//! project's own words, so CI guards what the hand-run benchmark measures.
//!
//! For every case `bench/realbugs/fixtures/<rule>/<id>.rs` (the buggy shape;
//! the line where the finding must start ends with `//~ <rule>`) and
//! `<id>.fixed.rs` (the fixed shape): the rule must report exactly the
//! annotated lines of the buggy file and nothing in the fixed one. Cases the
//! rules do not find yet are listed, with the reason, in
//! `bench/realbugs/known-misses.txt`; such a case must still miss (so a rule
//! that starts finding it gets its entry removed, and the list stays true),
//! and its fixed twin must still be silent.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use lifecycle_lint::{check_file, CrateFacts, Options, Vocabulary};

/// The benchmark holds at least this many cases: the test cannot pass on
/// an empty or half-deleted directory.
const MIN_CASES: usize = 18;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/realbugs")
}

/// Lines (1-based) where `rule` reports in `path`.
fn reported(path: &Path, rule: &str) -> BTreeSet<usize> {
    let text = fs::read_to_string(path).unwrap();
    let file = syn::parse_file(&text)
        .unwrap_or_else(|e| panic!("{}: does not parse: {e}", path.display()));
    let vocabulary = Vocabulary::default();
    let facts = CrateFacts::collect([&file], &vocabulary);
    check_file(&file, &Options::new(&vocabulary, &facts))
        .into_iter()
        .filter(|f| f.rule.id == rule)
        .map(|f| f.span.start().line)
        .collect()
}

fn annotated(path: &Path, rule: &str) -> BTreeSet<usize> {
    let marker = format!("//~ {rule}");
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains(&marker))
        .map(|(i, _)| i + 1)
        .collect()
}

/// `id -> reason` from known-misses.txt (`id<TAB>reason`, `#` comments).
fn known_misses() -> BTreeMap<String, String> {
    fs::read_to_string(root().join("known-misses.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("known-misses.txt: `{l}`: want id<TAB>reason"));
            assert!(!why.trim().is_empty(), "known-misses.txt: {id}: no reason");
            (id.to_string(), why.to_string())
        })
        .collect()
}

#[test]
fn the_real_bug_shapes_are_found_before_the_fix_and_not_after() {
    let misses = known_misses();
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for rule_dir in fs::read_dir(root().join("fixtures")).unwrap() {
        let rule_dir = rule_dir.unwrap().path();
        let rule = rule_dir.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            lifecycle_lint::rules::rule(&rule).is_some(),
            "{}: not a rule",
            rule_dir.display()
        );
        let mut buggy: Vec<PathBuf> = fs::read_dir(&rule_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "rs")
                    && !p.to_string_lossy().ends_with(".fixed.rs")
            })
            .collect();
        buggy.sort();
        for path in buggy {
            let id = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                root()
                    .join("cases")
                    .join(&rule)
                    .join(format!("{id}.toml"))
                    .is_file(),
                "{}: no case {rule}/{id}.toml beside it",
                path.display()
            );
            let fixed = path.with_file_name(format!("{id}.fixed.rs"));
            let want = annotated(&path, &rule);
            assert!(!want.is_empty(), "{}: no `//~ {rule}` line", path.display());
            let got = reported(&path, &rule);
            let after = reported(&fixed, &rule);
            if !after.is_empty() {
                failures.push(format!(
                    "{rule}/{id}: the fixed shape is reported at {after:?}"
                ));
            }
            match (misses.contains_key(&id), got == want) {
                (false, false) => failures.push(format!(
                    "{rule}/{id}: want findings at {want:?}, got {got:?}"
                )),
                (true, true) => failures.push(format!(
                    "{rule}/{id}: found now: remove it from known-misses.txt"
                )),
                (true, false) if !got.is_empty() => failures.push(format!(
                    "{rule}/{id}: a known miss reported elsewhere, at {got:?} (want {want:?})"
                )),
                _ => {}
            }
            seen.insert(id);
        }
    }
    assert!(
        seen.len() >= MIN_CASES,
        "{} real-bug shapes, want at least {MIN_CASES}",
        seen.len()
    );
    for id in misses.keys() {
        assert!(seen.contains(id), "known-misses.txt: no case `{id}`");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
