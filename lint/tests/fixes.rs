//! Each fix shape, end to end: a fixture is linted, its findings' rewrites
//! applied as `--fix` applies them, and the result compared with
//! `NAME.fixed.rs`, parsed with syn and linted again (the finding is gone).
//! See `fixtures/fixes/README.md` for the layout.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use lifecycle_lint::cli::{analyze_source, apply_suggestions, Analysis, Levels, Settings};
use lifecycle_lint::{Applicability, Vocabulary};

fn settings() -> Settings {
    Settings {
        vocabulary: Vocabulary::default(),
        levels: Levels::default(),
        jobs: 1,
        prefilter: true,
        parse_all: false,
        named_files: HashSet::new(),
        cache_dir: None,
        progress: false,
    }
}

fn lint(name: &str, text: &str) -> Analysis {
    analyze_source(name, text.as_bytes(), &settings())
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fixes");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs") && !p.to_string_lossy().ends_with(".fixed.rs")
        })
        .collect();
    cases.sort();
    cases
}

/// `// fix: RULE APPLICABILITY|none` on the first line.
fn expectation(text: &str) -> (String, Option<Applicability>) {
    let header = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// fix: "))
        .expect("the first line says `// fix: RULE APPLICABILITY`");
    let (rule, applicability) = header.split_once(' ').unwrap();
    let applicability = match applicability {
        "MachineApplicable" => Some(Applicability::MachineApplicable),
        "MaybeIncorrect" => Some(Applicability::MaybeIncorrect),
        "HasPlaceholders" => Some(Applicability::HasPlaceholders),
        "none" => None,
        other => panic!("unknown applicability {other}"),
    };
    (rule.to_string(), applicability)
}

#[test]
fn every_fix_shape_fixes_its_finding_and_leaves_valid_rust() {
    let cases = cases();
    assert!(cases.len() >= 10, "{} fix fixtures", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&case).unwrap();
        let expected = std::fs::read_to_string(case.with_extension("fixed.rs")).unwrap_or_default();
        let (rule, applicability) = expectation(&text);
        let analysis = lint(&name, &text);
        let findings: Vec<_> = analysis
            .findings
            .iter()
            .filter(|f| f.rule.id == rule)
            .collect();
        assert!(!findings.is_empty(), "{name}: no `{rule}` finding");
        for finding in &findings {
            let offered: Vec<Applicability> =
                finding.fixes.iter().map(|f| f.applicability).collect();
            assert_eq!(
                offered,
                applicability.into_iter().collect::<Vec<_>>(),
                "{name}:{}: the fixes offered",
                finding.region.start.line
            );
        }
        let fixed = apply_suggestions(&text, findings.iter().flat_map(|f| f.fixes.iter()))
            .unwrap_or_else(|| panic!("{name}: the fixes overlap"));
        if fixed != expected {
            failures.push(format!("{name}: fixed text differs; it is:\n{fixed}"));
            continue;
        }
        syn::parse_file(&fixed)
            .unwrap_or_else(|e| panic!("{name}: the fixed file does not parse: {e}"));
        let again = lint(&name, &fixed);
        let left: Vec<usize> = again
            .findings
            .iter()
            .filter(|f| f.rule.id == rule && applicability.is_some())
            .map(|f| f.region.start.line)
            .collect();
        assert!(
            left.is_empty(),
            "{name}: `{rule}` still reported at lines {left:?} after the fix"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Applying a fix twice is not possible (its text is gone), and a fixed
/// file offers nothing more of the same rule.
#[test]
fn a_fixed_file_offers_no_further_rewrite() {
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(fixed) = std::fs::read_to_string(case.with_extension("fixed.rs")) else {
            continue;
        };
        let (rule, applicability) = expectation(&fixed);
        if applicability.is_none() {
            continue;
        }
        let offered: usize = lint(&name, &fixed)
            .findings
            .iter()
            .filter(|f| f.rule.id == rule)
            .map(|f| f.fixes.len())
            .sum();
        assert_eq!(offered, 0, "{name}: the fixed file still offers rewrites");
    }
}
