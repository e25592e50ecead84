//! `--fix`, `--fix --unsafe-fixes` and `--diff` on copies of the `fixable`
//! fixture in temporary directories, and the fixes as the output formats
//! carry them (snapshots; cargo JSON read as rust-analyzer reads it).

mod support;

use cargo_metadata::diagnostic::Applicability;
use cargo_metadata::Message;
use serde_json::Value;
use support::{fixture, package, Project};

const LIB: &str = "src/lib.rs";

fn fixable() -> Project {
    let text = std::fs::read_to_string(fixture("fixable").join(LIB)).unwrap();
    Project::new(&[("Cargo.toml", &package("fixable")), (LIB, &text)])
}

fn original() -> String {
    std::fs::read_to_string(fixture("fixable").join(LIB)).unwrap()
}

fn rules_at(run: &support::Run) -> Vec<(usize, String)> {
    support::findings(run)
        .into_iter()
        .map(|(_, line, rule)| (line, rule))
        .collect()
}

#[test]
fn fix_applies_only_the_safe_fixes_and_reports_what_remains() {
    let project = fixable();
    let run = project.lint(&["--fix", "--format", "short"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let fixed = project.read(LIB);
    let expected = original().replacen(
        "        let mut pace = interval(Duration::from_millis(100));\n        pace.tick().await;\n        source.pump_once().await;\n    }\n}\n\npub async fn batch",
        "        let mut pace = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_millis(100), Duration::from_millis(100));\n        pace.tick().await;\n        source.pump_once().await;\n    }\n}\n\npub async fn batch",
        1,
    );
    assert_ne!(expected, original());
    assert_eq!(fixed, expected, "only the machine-applicable fix");
    assert!(
        run.stderr
            .contains("fixed 1 finding in 1 file; 1 fix more with --unsafe-fixes"),
        "{}",
        run.stderr
    );
    // The report is of the fixed file: the two findings left.
    assert_eq!(
        rules_at(&run),
        [
            (19, "timer_leak".to_string()),
            (27, "silent_early_return".to_string())
        ]
    );
    // Nothing else was written: no temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(project.path().join("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["lib.rs"]);
    // Run again: nothing more to fix.
    let again = project.lint(&["--fix", "--format", "short"]);
    assert!(
        again.stderr.contains("fixed 0 findings in 0 files"),
        "{}",
        again.stderr
    );
    assert_eq!(project.read(LIB), expected);
}

#[test]
fn unsafe_fixes_add_the_maybe_incorrect_ones_but_never_placeholders() {
    let project = fixable();
    let run = project.lint(&["--fix", "--unsafe-fixes", "--format", "short"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let fixed = project.read(LIB);
    assert!(fixed.contains(
        "let mut timer = std::pin::pin!(tokio::time::sleep(Duration::from_secs(1)));\n    loop {"
    ));
    assert!(fixed.contains("_ = &mut timer => { timer.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(1)); sink.write_all(&mut held).await },"));
    assert!(
        !fixed.contains("warn!"),
        "a fix with a placeholder is never applied"
    );
    assert!(fixed.contains("// lifecycle-lint: allow(timer_leak) -- a demo"));
    assert!(
        fixed.contains("    loop {\n        // lifecycle-lint: allow(timer_leak) -- a demo of the immediate first tick\n        let mut pace = interval(Duration::from_millis(100));"),
        "the suppressed finding is not fixed"
    );
    syn::parse_file(&fixed).expect("the fixed file parses");
    // One line more above it: the pinned timer.
    assert_eq!(rules_at(&run), [(28, "silent_early_return".to_string())]);
    assert!(
        run.stderr.contains("fixed 2 findings in 1 file"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_shows_what_fix_would_do_and_writes_nothing() {
    let project = fixable();
    let run = project.lint(&["--diff"]);
    assert_eq!(run.code, 1, "something to fix: {}", run.stderr);
    assert_eq!(project.read(LIB), original(), "--diff writes nothing");
    insta::assert_snapshot!("fixable_diff", run.stdout);
    assert!(
        run.stderr.contains("would fix 1 finding in 1 file"),
        "{}",
        run.stderr
    );

    // The diff is what --fix writes: `git apply` of it gives the same file.
    let unsafe_diff = project.lint(&["--diff", "--unsafe-fixes"]);
    assert_eq!(unsafe_diff.code, 1);
    std::fs::write(project.path().join("fix.diff"), &unsafe_diff.stdout).unwrap();
    let applied = std::process::Command::new("git")
        .args(["apply", "--unsafe-paths", "fix.diff"])
        .current_dir(project.path())
        .output();
    if let Ok(applied) = applied {
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        let by_diff = project.read(LIB);
        let other = fixable();
        other.lint(&["--fix", "--unsafe-fixes"]);
        assert_eq!(by_diff, other.read(LIB));
    }

    // Nothing to fix: status 0 and no diff.
    let clean = Project::new(&[("Cargo.toml", &package("clean")), (LIB, "pub fn f() {}\n")]);
    let run = clean.lint(&["--diff"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    assert!(run.stderr.contains("nothing to fix"), "{}", run.stderr);
}

#[test]
fn conflicting_or_pointless_flags_are_refused() {
    let project = fixable();
    let both = project.lint(&["--fix", "--diff"]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains("'--fix' cannot be used with '--diff'"),
        "{}",
        both.stderr
    );
    let alone = project.lint(&["--unsafe-fixes"]);
    assert_eq!(alone.code, 2);
    assert!(
        alone
            .stderr
            .contains("--unsafe-fixes only chooses which fixes"),
        "{}",
        alone.stderr
    );
    let baseline = project.lint(&["--fix", "--write-baseline", "b.json"]);
    assert_eq!(baseline.code, 2);
    assert_eq!(project.read(LIB), original());
}

#[test]
fn a_read_only_file_is_not_written_and_the_run_fails() {
    let project = fixable();
    let path = project.path().join(LIB);
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions).unwrap();
    let run = project.lint(&["--fix", "--format", "short"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: src/lib.rs: read-only; not written"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 file not written"), "{}", run.stderr);
    assert_eq!(project.read(LIB), original());
    assert_eq!(rules_at(&run).len(), 3, "the findings are still reported");
}

#[test]
fn baselined_findings_are_not_fixed() {
    let project = fixable();
    let record = project.lint(&["--write-baseline", "baseline.json"]);
    assert_eq!(record.code, 0, "{}", record.stderr);
    let run = project.lint(&["--fix", "--unsafe-fixes", "--baseline", "baseline.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        project.read(LIB),
        original(),
        "every finding is in the baseline"
    );
    assert!(run.stderr.contains("fixed 0 findings"), "{}", run.stderr);
}

#[test]
fn a_file_in_an_excluded_directory_is_never_written() {
    let project = fixable();
    let text = original();
    project.write("vendored/copy.rs", &text);
    let run = project.lint(&["--fix", "--exclude", "vendored/**"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(project.read("vendored/copy.rs"), text);
    assert_ne!(project.read(LIB), text);
}

/// The human report shows each rewrite as rustc shows a suggestion.
#[test]
fn human_output_shows_the_fixes() {
    let run = support::lint(&fixture("fixable"), &["--color", "never"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("fixable_human", run.stdout);
}

fn messages(stdout: &str) -> Vec<cargo_metadata::diagnostic::Diagnostic> {
    Message::parse_stream(stdout.as_bytes())
        .filter_map(|m| match m.unwrap() {
            Message::CompilerMessage(m) => Some(m.message),
            _ => None,
        })
        .collect()
}

/// One replacement of a quick fix: byte start, byte end, new text.
type ByteEdit = (usize, usize, String);

/// As rust-analyzer reads cargo's messages: the spans of a child with
/// `suggested_replacement` are one quick fix, with its applicability.
/// Applying the machine-applicable ones gives what `--fix` writes.
#[test]
fn cargo_json_carries_the_fixes_as_rust_analyzer_reads_them() {
    let project = fixable();
    let run = project.lint(&["--message-format", "json"]);
    let diagnostics = messages(&run.stdout);
    assert_eq!(diagnostics.len(), 3);
    let mut quick_fixes: Vec<(Applicability, Vec<ByteEdit>)> = Vec::new();
    for diagnostic in &diagnostics {
        for child in &diagnostic.children {
            let spans: Vec<_> = child
                .spans
                .iter()
                .filter(|s| s.suggested_replacement.is_some())
                .collect();
            if spans.is_empty() {
                continue;
            }
            let applicability = spans[0].suggestion_applicability.clone().unwrap();
            assert!(spans
                .iter()
                .all(|s| s.suggestion_applicability == Some(applicability.clone())));
            quick_fixes.push((
                applicability,
                spans
                    .iter()
                    .map(|s| {
                        (
                            s.byte_start as usize,
                            s.byte_end as usize,
                            s.suggested_replacement.clone().unwrap(),
                        )
                    })
                    .collect(),
            ));
        }
    }
    let kinds: Vec<&Applicability> = quick_fixes.iter().map(|(a, _)| a).collect();
    assert_eq!(
        kinds,
        [
            &Applicability::MachineApplicable,
            &Applicability::HasPlaceholders,
            &Applicability::MaybeIncorrect,
            &Applicability::HasPlaceholders,
            &Applicability::HasPlaceholders,
            &Applicability::HasPlaceholders,
        ],
        "per finding: its rewrite, then the suppression"
    );
    assert_eq!(quick_fixes[2].1.len(), 3, "the pinned timer is three edits");
    let mut edits: Vec<(usize, usize, String)> = quick_fixes
        .iter()
        .filter(|(a, _)| *a == Applicability::MachineApplicable)
        .flat_map(|(_, e)| e.clone())
        .collect();
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    let mut text = original();
    for (start, end, replacement) in edits {
        text.replace_range(start..end, &replacement);
    }
    project.lint(&["--fix"]);
    assert_eq!(text, project.read(LIB));

    let children: Vec<Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-message")
        .map(|m| m["message"]["children"].clone())
        .collect();
    insta::assert_snapshot!(
        "fixable_cargo_children",
        serde_json::to_string_pretty(&children).unwrap()
    );
}

/// SARIF `fixes`: the rewrite first, then the suppression; valid against the
/// schema (see `tool_outputs`), with the applicability as a property.
#[test]
fn sarif_carries_the_fixes() {
    let run = support::lint(&fixture("fixable"), &["--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let fixes: Vec<Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fixes"].clone())
        .collect();
    insta::assert_snapshot!(
        "fixable_sarif_fixes",
        serde_json::to_string_pretty(&fixes).unwrap()
    );
}
