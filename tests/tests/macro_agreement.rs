//! `cargo lifecycle-lint` and `#[quorum_gated_delete]` must never disagree.
//!
//! The macro's compile-fail cases (`macros/tests/ui/`) carry the compiler's
//! real output in `.stderr` files, which trybuild keeps up to date. Here the
//! CLI lints the same files, and the (file, line, rule) of every finding must
//! equal what the compiler reported through the macro. The pass cases must
//! be clean for both.

mod support;

use std::collections::BTreeSet;
use std::fs;

use support::{lint, workspace};

type Reports = BTreeSet<(String, u64, String)>;

/// `error: [rule] message` followed (after help lines) by `--> path:line:col`.
/// A plain `error: message` in an `arg_*` case is the macro rejecting its
/// arguments, which the CLI reports as `invalid_suppression`.
fn compiler_reports(stderr: &str) -> Reports {
    let mut reports = Reports::new();
    let mut pending: Option<Option<String>> = None;
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("error: [") {
            let (rule, message) = rest.split_once("] ").expect("`[rule] message`");
            // Labels are reported as `[rule] note: ..`; they are not findings.
            pending = (!message.starts_with("note:")).then(|| Some(rule.to_string()));
        } else if line.starts_with("error: ") {
            pending = Some(None);
        } else if let (Some(rule), Some(location)) =
            (&pending, line.trim_start().strip_prefix("--> "))
        {
            let mut parts = location.rsplitn(3, ':');
            let (_column, line_number, path) =
                (parts.next(), parts.next().unwrap(), parts.next().unwrap());
            let file = path.rsplit('/').next().unwrap().to_string();
            let rule = match rule {
                Some(rule) => Some(rule.clone()),
                None => file
                    .starts_with("arg_")
                    .then(|| "invalid_suppression".to_string()),
            };
            if let Some(rule) = rule {
                reports.insert((file, line_number.parse().unwrap(), rule));
            }
            pending = None;
        }
    }
    reports
}

fn cli_reports(dir: &str) -> Reports {
    let run = lint(&workspace(), &[dir, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            (
                path.rsplit('/').next().unwrap().to_string(),
                f["region"]["start_line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_cli_reports_what_the_compiler_reports_through_the_macro() {
    let dir = workspace().join("macros/tests/ui/fail");
    let mut from_compiler = Reports::new();
    let mut stderr_files = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stderr") {
            stderr_files += 1;
            from_compiler.extend(compiler_reports(&fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(
        stderr_files >= 8,
        "the macro's compile-fail cases are missing"
    );
    let rules: BTreeSet<&str> = from_compiler.iter().map(|(_, _, r)| r.as_str()).collect();
    assert_eq!(
        rules.len(),
        lifecycle_lint::rules::syntax_rules().count() + 1,
        "every rule is exercised, and rejected arguments: {rules:?}"
    );
    assert!(
        from_compiler
            .iter()
            .filter(|(_, _, r)| r == "invalid_suppression")
            .count()
            >= 4,
        "each arg_* case is a rejected argument: {from_compiler:?}"
    );
    assert_eq!(cli_reports("macros/tests/ui/fail"), from_compiler);
}

#[test]
fn the_cli_is_quiet_where_the_macro_lets_the_build_pass() {
    assert_eq!(cli_reports("macros/tests/ui/pass"), Reports::new());
}
