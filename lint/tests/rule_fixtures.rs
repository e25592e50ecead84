//! Runs every rule over its fixtures.
//!
//! Layout: `fixtures/<rule_id>/flag/*` must produce findings and
//! `fixtures/<rule_id>/pass/*` must not. A fixture is one `.rs` file, or a
//! directory of `.rs` files linted together as one crate (for facts that cross
//! files). Every line that must be reported ends with `//~ <rule_id>`; the
//! set of reported (file, line, rule) must equal the set of annotations, for
//! all rules, so a fixture also proves the other rules stay quiet on it.
//! The findings' full text is snapshot-tested per rule.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use lifecycle_lint::rules::syntax_rules;
use lifecycle_lint::{check_file, CrateFacts, Options, Vocabulary};

const MIN_CASES: usize = 8;

struct Source {
    name: String,
    text: String,
    file: syn::File,
}

fn load(fixture: &Path) -> Vec<Source> {
    let paths: Vec<PathBuf> = if fixture.is_dir() {
        let mut p: Vec<_> = fs::read_dir(fixture)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        p.sort();
        p
    } else {
        vec![fixture.to_path_buf()]
    };
    paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            let file = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{}: fixture does not parse: {e}", p.display()));
            let name = p
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .display()
                .to_string();
            Source { name, text, file }
        })
        .collect()
}

fn annotations(source: &Source) -> BTreeSet<(String, usize, String)> {
    let mut expected = BTreeSet::new();
    for (i, line) in source.text.lines().enumerate() {
        if let Some((_, rules)) = line.split_once("//~") {
            for rule in rules.split([',', ' ']).filter(|r| !r.is_empty()) {
                expected.insert((source.name.clone(), i + 1, rule.to_string()));
            }
        }
    }
    expected
}

fn cases(rule: &str, kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rule)
        .join(kind);
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    cases
}

/// Lints one fixture; returns the reported set and a rendering for the snapshot.
/// (file, line, rule) triples.
type Locations = BTreeSet<(String, usize, String)>;

fn lint(fixture: &Path) -> (Locations, Locations, String) {
    let sources = load(fixture);
    let vocabulary = Vocabulary::default();
    let facts = CrateFacts::collect(sources.iter().map(|s| &s.file), &vocabulary);
    let mut expected = BTreeSet::new();
    let mut reported = BTreeSet::new();
    let mut rendered = String::new();
    for source in &sources {
        expected.extend(annotations(source));
        let mut findings = check_file(&source.file, &Options::new(&vocabulary, &facts));
        findings.sort_by_key(|f| (f.span.start().line, f.span.start().column, f.rule.id));
        for f in findings {
            let start = f.span.start();
            reported.insert((source.name.clone(), start.line, f.rule.id.to_string()));
            rendered.push_str(&format!(
                "{}:{}:{}: {}[{}]: {}\n",
                source.name,
                start.line,
                start.column + 1,
                f.rule.default_level,
                f.rule.id,
                f.message
            ));
            for label in &f.labels {
                let at = label.span.start();
                rendered.push_str(&format!(
                    "    label {}:{}: {}\n",
                    at.line,
                    at.column + 1,
                    label.message
                ));
            }
            rendered.push_str(&format!("    help: {}\n", f.help));
        }
    }
    (expected, reported, rendered)
}

#[test]
fn every_rule_has_enough_fixtures_and_they_hold() {
    let mut failures = Vec::new();
    // Rules that read comments are tested end to end (tests/tests/suppressions.rs).
    for rule in syntax_rules() {
        let id = rule.info.id;
        let flag = cases(id, "flag");
        let pass = cases(id, "pass");
        assert!(
            flag.len() >= MIN_CASES,
            "{id}: {} flag fixtures, want at least {MIN_CASES}",
            flag.len()
        );
        assert!(
            pass.len() >= MIN_CASES,
            "{id}: {} pass fixtures, want at least {MIN_CASES}",
            pass.len()
        );
        let mut snapshot = String::new();
        for fixture in flag.iter().chain(&pass) {
            let (expected, reported, rendered) = lint(fixture);
            let is_flag = flag.contains(fixture);
            if is_flag && !expected.iter().any(|(_, _, r)| r == id) {
                failures.push(format!(
                    "{}: a flag fixture must annotate at least one `//~ {id}`",
                    fixture.display()
                ));
            }
            if !is_flag && expected.iter().any(|(_, _, r)| r == id) {
                failures.push(format!(
                    "{}: a pass fixture must not expect `{id}`",
                    fixture.display()
                ));
            }
            for missing in expected.difference(&reported) {
                failures.push(format!(
                    "missing: {}:{} {}",
                    missing.0, missing.1, missing.2
                ));
            }
            for extra in reported.difference(&expected) {
                failures.push(format!("unexpected: {}:{} {}", extra.0, extra.1, extra.2));
            }
            snapshot.push_str(&rendered);
        }
        insta::assert_snapshot!(id, snapshot);
    }
    assert!(
        failures.is_empty(),
        "fixture mismatches:\n{}",
        failures.join("\n")
    );
}
