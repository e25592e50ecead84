//! Baselines: record, compare, survive moved code, list fixed entries, and
//! never let an entry point outside the baseline's directory.

mod support;

use support::{at, findings, package, Project, DEFERRED_DELETE, SILENT_RETURN};

fn legacy() -> Project {
    Project::new(&[
        ("Cargo.toml", &package("legacy")),
        ("src/reaper.rs", DEFERRED_DELETE),
        ("src/expire.rs", SILENT_RETURN),
    ])
}

#[test]
fn a_written_baseline_silences_the_recorded_findings() {
    let project = legacy();
    let run = project.lint(&[
        "--write-baseline",
        "lifecycle-lint-baseline.json",
        "--format",
        "short",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("wrote 2 findings to lifecycle-lint-baseline.json"),
        "{}",
        run.stderr
    );
    let run = project.lint(&[
        "--baseline",
        "lifecycle-lint-baseline.json",
        "--format",
        "short",
    ]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("(2 in the baseline)"), "{}", run.stderr);
    insta::assert_snapshot!(
        "baseline_file",
        project.read("lifecycle-lint-baseline.json")
    );
}

#[test]
fn entries_survive_inserted_lines_and_only_new_findings_are_reported() {
    let project = legacy();
    project.lint(&["--write-baseline", "baseline.json"]);
    let shifted = format!(
        "use std::sync::Arc;\n\n/// Moved down by a new import and this comment.\n{}",
        DEFERRED_DELETE.replace("let _cleanup", "let  _cleanup")
    );
    project.write("src/reaper.rs", &shifted);
    let run = project.lint(&["--baseline", "baseline.json", "--format", "short"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("(2 in the baseline)"),
        "both moved findings were found and matched: {}",
        run.stderr
    );

    let new_bug = DEFERRED_DELETE.replace("delete_not_active", "delete_expired");
    project.write("src/expired.rs", &new_bug);
    let run = project.lint(&["--baseline", "baseline.json", "--format", "short"]);
    assert_eq!(run.code, 1);
    assert_eq!(findings(&run), [at("src/expired.rs", 2, "deferred_delete")]);
}

#[test]
fn a_second_identical_finding_in_the_same_function_is_new() {
    let project = legacy();
    project.lint(&["--write-baseline", "baseline.json"]);
    let doubled = DEFERRED_DELETE.replacen(
        "    meta.forward_proposal",
        "    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());\n    meta.forward_proposal",
        1,
    );
    project.write("src/reaper.rs", &doubled);
    let run = project.lint(&["--baseline", "baseline.json", "--format", "short"]);
    assert_eq!(findings(&run).len(), 1, "{}", run.stdout);
}

#[test]
fn fixed_entries_are_listed() {
    let project = legacy();
    project.lint(&["--write-baseline", "baseline.json"]);
    project.write("src/expire.rs", "pub fn expire_inactive() {}\n");
    let run = project.lint(&["--baseline", "baseline.json"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("1 baseline entry is no longer found (fixed)")
            && run
                .stderr
                .contains("  src/expire.rs:3: silent_early_return in `expire_inactive`: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(1 in the baseline, 1 fixed)"),
        "{}",
        run.stderr
    );
    // Entries of files this run did not lint are not taken for fixed.
    let run = project.lint(&["--baseline", "baseline.json", "src/reaper.rs"]);
    assert!(!run.stderr.contains("fixed"), "{}", run.stderr);
}

#[test]
fn paths_are_relative_to_the_baseline_wherever_it_is_run_from() {
    let project = legacy();
    project.lint(&["--write-baseline", "baseline.json"]);
    let run = support::lint(
        &project.path().join("src"),
        &["--baseline", "../baseline.json", "--format", "short"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("(2 in the baseline)"),
        "the findings were found and matched from src/: {}",
        run.stderr
    );
}

#[test]
fn a_baseline_entry_cannot_point_outside_its_directory() {
    let project = legacy();
    for path in ["../outside.rs", "/etc/passwd", "src/../../x.rs"] {
        project.write(
            "baseline.json",
            &format!(
                r#"{{"version": 1, "findings": [{{"path": "{path}", "item": "", "rule": "timer_leak", "snippet_hash": "0", "line": 1, "message": ""}}]}}"#
            ),
        );
        let run = project.lint(&["--baseline", "baseline.json"]);
        assert_eq!(run.code, 2, "{path}");
        assert!(
            run.stderr.contains("entry 1 has path") && run.stderr.contains("stay inside it"),
            "{}",
            run.stderr
        );
    }
    project.write("baseline.json", "{\"version\": 2, \"findings\": []}");
    let run = project.lint(&["--baseline", "baseline.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("baseline version 2 is not supported"),
        "{}",
        run.stderr
    );
    let run = project.lint(&["--baseline", "missing.json"]);
    assert_eq!(run.code, 2);
    let run = project.lint(&["--baseline", "a.json", "--write-baseline", "b.json"]);
    assert_eq!(run.code, 2, "one or the other");
}
