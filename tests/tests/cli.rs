//! The command as a user runs it: formats, exit codes, discovery.

mod support;

use std::fs;

use support::{fixture, lint, without_timing};

#[test]
fn human_output_shows_snippets_labels_help_and_the_rule() {
    let run = lint(&fixture("mixed"), &["--color", "never"]);
    assert_eq!(
        run.code, 1,
        "a deny-level finding fails the run\n{}",
        run.stderr
    );
    insta::assert_snapshot!("mixed_human", run.stdout);
    insta::assert_snapshot!("mixed_summary", without_timing(&run.stderr));
}

#[test]
fn short_output_is_one_line_per_finding() {
    let run = lint(&fixture("mixed"), &["--format", "short"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("mixed_short", run.stdout);
}

#[test]
fn json_output_follows_the_documented_schema() {
    let run = lint(&fixture("mixed"), &["--format", "json"]);
    assert_eq!(run.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    for finding in doc["findings"].as_array().unwrap() {
        for key in [
            "rule", "level", "path", "region", "message", "help", "labels",
        ] {
            assert!(
                finding.get(key).is_some(),
                "finding without `{key}`: {finding}"
            );
        }
    }
    let root = fixture("mixed").display().to_string();
    assert_eq!(
        doc["root"],
        root.as_str(),
        "paths are relative to the package root"
    );
    insta::assert_snapshot!("mixed_json", run.stdout.replace(&root, "[ROOT]"));
}

#[test]
fn sarif_output_is_one_run_with_rules_and_relative_locations() {
    let run = lint(&fixture("mixed"), &["--format", "sarif"]);
    assert_eq!(run.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let rules = runs[0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), lifecycle_lint::RULES.len());
    assert!(rules.iter().all(|r| r["help"]["text"]
        .as_str()
        .unwrap()
        .contains("What it flags")));
    let results = runs[0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("src/"));
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(location["region"]["startColumn"].as_u64().unwrap() >= 1);
        assert!(result["partialFingerprints"]["lifecycleLint/v1"].is_string());
    }
    let mut fingerprints: Vec<_> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["lifecycleLint/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(
        fingerprints.len(),
        results.len(),
        "one fingerprint per result"
    );
    assert_eq!(runs[0]["columnKind"], "unicodeCodePoints");
    assert_eq!(runs[0]["automationDetails"]["id"], "lifecycle-lint/");
    let root = format!("file://{}/", fixture("mixed").display());
    assert_eq!(
        runs[0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        root.as_str()
    );
    assert!(rules
        .iter()
        .all(|r| r["fullDescription"]["text"] != r["shortDescription"]["text"]));
    for rule in rules {
        let uri = rule["helpUri"].as_str().unwrap();
        let id = rule["id"].as_str().unwrap();
        assert!(
            uri.starts_with("https://docs.rs/lifecycle-lint/") && uri.contains(&format!("/{id}/")),
            "{uri}"
        );
    }
    insta::assert_snapshot!("mixed_sarif", run.stdout.replace(&root, "file:///[ROOT]/"));
}

/// Fingerprints survive lines inserted above a finding (the alert keeps its
/// identity in code scanning), as the baseline's entries do.
#[test]
fn sarif_fingerprints_survive_inserted_lines() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |extra: &str| {
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::copy(
            fixture("mixed").join("Cargo.toml"),
            dir.path().join("Cargo.toml"),
        )
        .unwrap();
        for name in ["lib.rs", "flush.rs", "reaper.rs"] {
            let text = std::fs::read_to_string(fixture("mixed").join("src").join(name)).unwrap();
            std::fs::write(dir.path().join("src").join(name), format!("{extra}{text}")).unwrap();
        }
    };
    let prints = || {
        let run = lint(dir.path(), &["--format", "sarif"]);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["partialFingerprints"]["lifecycleLint/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    copy("");
    let before = prints();
    copy("// a comment\n\n// and another\n");
    let after = prints();
    assert!(!before.is_empty());
    assert_eq!(
        before.iter().map(|(f, _)| f).collect::<Vec<_>>(),
        after.iter().map(|(f, _)| f).collect::<Vec<_>>()
    );
    assert!(before
        .iter()
        .zip(&after)
        .all(|((_, a), (_, b))| b == &(a + 3)));
}

/// Run from a subdirectory of the workspace, paths stay relative to the
/// workspace root (as cargo prints them), so CI annotations point at files.
#[test]
fn paths_are_relative_to_the_workspace_root_from_any_directory() {
    let from_root = lint(&fixture("mixed"), &["--format", "short"]);
    let from_src = lint(&fixture("mixed").join("src"), &["--format", "short"]);
    assert_eq!(from_root.stdout, from_src.stdout);
    let named = lint(
        &fixture("mixed").join("src"),
        &["--format", "short", "reaper.rs"],
    );
    assert!(
        named.stdout.starts_with("src/reaper.rs:"),
        "{}",
        named.stdout
    );
    let sarif = lint(&fixture("mixed").join("src"), &["--format", "sarif", "."]);
    assert!(
        !sarif.stdout.contains("\"uri\": \"file://")
            || sarif.stdout.matches("file://").count() == 1,
        "only the base is absolute: {}",
        sarif.stdout
    );
}

#[test]
fn github_output_is_workflow_commands() {
    let run = lint(&fixture("mixed"), &["--format", "github"]);
    assert_eq!(run.code, 1);
    assert!(run
        .stdout
        .lines()
        .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")));
    insta::assert_snapshot!("mixed_github", run.stdout);
}

#[test]
fn exit_codes() {
    assert_eq!(lint(&fixture("clean"), &["."]).code, 0, "no findings");
    assert_eq!(
        lint(&fixture("warn_only"), &["."]).code,
        0,
        "warnings alone pass"
    );
    assert_eq!(
        lint(&fixture("warn_only"), &[".", "--deny-warnings"]).code,
        1,
        "--deny-warnings"
    );
    assert_eq!(
        lint(&fixture("clean"), &["no/such/path"]).code,
        2,
        "I/O error"
    );
    assert_eq!(
        lint(&fixture("clean"), &["--no-such-flag"]).code,
        2,
        "usage error"
    );
    assert_eq!(
        lint(&fixture("clean"), &["--jobs", "0"]).code,
        2,
        "usage error"
    );
    assert_eq!(
        lint(&fixture("clean"), &["--exclude", "[", "."]).code,
        2,
        "bad glob"
    );
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_the_rest_are_still_linted() {
    let run = lint(
        &fixture("broken"),
        &[".", "--format", "short", "--parse-all"],
    );
    insta::assert_snapshot!("broken_short", run.stdout);
    for expected in [
        "parse_error.rs:1:14: warning[unparsable_file]: not valid Rust:",
        "not_utf8.rs:2:7: warning[unparsable_file]: not UTF-8",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains("reaper.rs:"),
        "the parsable file is still linted:\n{}",
        run.stdout
    );
    // A file the parser cannot read is a warning, not a failed run.
    let only_broken = lint(
        &fixture("broken"),
        &["parse_error.rs", "not_utf8.rs", "--format", "short"],
    );
    assert_eq!(only_broken.code, 0, "{}", only_broken.stdout);
    assert!(
        only_broken.stderr.contains("0 errors, 2 warnings"),
        "{}",
        only_broken.stderr
    );
    // ... and an error where the configuration (or -D) says so.
    let denied = lint(
        &fixture("broken"),
        &[
            "parse_error.rs",
            "--format",
            "short",
            "-D",
            "unparsable_file",
        ],
    );
    assert_eq!(denied.code, 1);
    assert!(
        denied.stdout.contains("error[unparsable_file]"),
        "{}",
        denied.stdout
    );
    let allowed = lint(
        &fixture("broken"),
        &[
            "parse_error.rs",
            "--format",
            "short",
            "-A",
            "unparsable_file",
        ],
    );
    assert_eq!((allowed.code, allowed.stdout.as_str()), (0, ""));
}

#[test]
fn a_file_named_on_the_command_line_is_always_parsed() {
    // parse_error.rs holds no word any rule looks for: in a directory run
    // the pre-filter skips it, but a file the user named is parsed.
    let run = lint(&fixture("broken"), &["parse_error.rs", "--format", "short"]);
    assert!(
        run.stdout
            .contains("parse_error.rs:1:14: warning[unparsable_file]"),
        "{}",
        run.stdout
    );
    // Even when a directory run cached it as skipped.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"t\"\n").unwrap();
    fs::write(dir.path().join("bad.rs"), "pub fn broken( {\n").unwrap();
    let whole = lint(dir.path(), &[".", "--format", "short"]);
    assert!(!whole.stdout.contains("bad.rs"), "{}", whole.stdout);
    let named = lint(dir.path(), &["bad.rs", "--format", "short"]);
    assert!(
        named
            .stdout
            .contains("bad.rs:1:16: warning[unparsable_file]"),
        "{}",
        named.stdout
    );
}

#[test]
fn a_cargo_script_front_matter_is_skipped_as_rustc_skips_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("script.rs"),
        "#!/usr/bin/env -S cargo +nightly -Zscript\n---cargo\n[dependencies]\ntokio = \"1\"\n---\n\nasync fn poll(d: Duration) {\n    loop {\n        tokio::time::interval(d).tick().await;\n    }\n}\n",
    )
    .unwrap();
    // An unclosed header is not front matter: the parser reports it.
    fs::write(dir.path().join("unclosed.rs"), "---\nfn sleep() {}\n").unwrap();
    let run = lint(dir.path(), &[".", "--format", "short"]);
    assert!(
        run.stdout.contains("script.rs:9:9: warning[timer_leak]"),
        "the script is linted, lines and columns as in the file:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("unclosed.rs:1:1: warning[unparsable_file]"),
        "{}",
        run.stdout
    );
}

#[test]
fn files_with_nothing_any_rule_looks_for_are_not_parsed_unless_asked() {
    let run = lint(&fixture("broken"), &[".", "--format", "short"]);
    assert!(
        !run.stdout.contains("parse_error.rs"),
        "skipped unparsed:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("reaper.rs:"), "{}", run.stdout);
    assert!(
        run.stderr.contains("(1 with nothing any rule looks for)"),
        "{}",
        run.stderr
    );
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let run = lint(&fixture("clean"), &["lifecycle-lint", "--list-rules"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("list_rules", run.stdout);
}

#[test]
fn explain_prints_each_rules_documentation() {
    for rule in lifecycle_lint::RULES {
        let run = lint(&fixture("clean"), &["--explain", rule.info.id]);
        assert_eq!(run.code, 0);
        for heading in ["What it flags", "Why it is a bug", "Example", "Fix"] {
            assert!(
                run.stdout.contains(heading),
                "{}: no `{heading}` section",
                rule.info.id
            );
        }
    }
    let run = lint(&fixture("clean"), &["--explain", "no_such_rule"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown rule or group `no_such_rule`; known rules: deferred_delete"),
        "{}",
        run.stderr
    );
}

#[test]
fn with_no_paths_it_lints_the_enclosing_package() {
    let run = lint(&fixture("mixed").join("src"), &["--format", "short"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("reaper.rs"), "{}", run.stdout);
    assert!(run.stderr.contains("3 files checked"), "{}", run.stderr);
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    let one = lint(&fixture("mixed"), &["--format", "json", "-j1"]);
    let two = lint(&fixture("mixed"), &["--format", "json", "-j2"]);
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn skips_hidden_ignored_target_and_excluded_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bug = fs::read_to_string(fixture("warn_only").join("flush.rs")).unwrap();
    for path in [
        "src/linted.rs",
        ".hidden/a.rs",
        "target/debug/b.rs",
        "ignored/c.rs",
        "fixtures/bad/d.rs",
        "tests/common/e.rs",
    ] {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, &bug).unwrap();
    }
    fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    fs::write(
        root.join("target/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    )
    .unwrap();
    fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    let run = lint(root, &["--format", "short", "--exclude", "fixtures/**"]);
    let files: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert!(!files.is_empty(), "{}", run.stderr);
    assert!(files.iter().all(|f| *f == "src/linted.rs"), "{files:?}");
    assert!(run.stderr.contains("1 file checked"), "{}", run.stderr);

    // Integration tests are test code, linted only when named.
    let named = lint(root, &["--format", "short", "tests"]);
    assert!(
        named.stdout.contains("tests/common/e.rs"),
        "{}{}",
        named.stdout,
        named.stderr
    );
}

/// `tests/` is a package's integration tests only beside a `[package]`
/// manifest: a workspace member named `tests` and a `tests` module
/// directory under `src/` are linted.
#[test]
fn only_a_packages_integration_test_directory_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bug = fs::read_to_string(fixture("warn_only").join("flush.rs")).unwrap();
    for path in [
        "tests/src/lib.rs",
        "crate/src/tests/f.rs",
        "crate/tests/g.rs",
    ] {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, &bug).unwrap();
    }
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"tests\", \"crate\"]\n",
    )
    .unwrap();
    for member in ["tests", "crate"] {
        fs::write(
            root.join(member).join("Cargo.toml"),
            format!("[package]\nname = \"{member}\"\nversion = \"0.1.0\"\n"),
        )
        .unwrap();
    }
    let run = lint(root, &["--format", "short"]);
    let mut files: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    files.dedup();
    assert_eq!(
        files,
        ["crate/src/tests/f.rs", "tests/src/lib.rs"],
        "{}",
        run.stderr
    );
}

/// `-D warnings` prints warnings as errors (as rustc and clippy do), not
/// only in the exit status; `--exit-zero` keeps the report and exits 0.
#[test]
fn deny_warnings_prints_errors_and_exit_zero_exits_zero() {
    let plain = lint(&fixture("mixed"), &["--format", "short"]);
    assert!(
        plain.stdout.contains("warning[timer_leak]"),
        "{}",
        plain.stdout
    );
    let denied = lint(&fixture("mixed"), &["--format", "short", "-D", "warnings"]);
    assert_eq!(denied.code, 1);
    assert!(!denied.stdout.contains("warning["), "{}", denied.stdout);
    assert!(
        denied.stdout.contains("error[timer_leak]"),
        "{}",
        denied.stdout
    );
    assert_eq!(denied.stdout.lines().count(), plain.stdout.lines().count());
    let zero = lint(&fixture("mixed"), &["--format", "short", "--exit-zero"]);
    assert_eq!(zero.code, 0, "deny findings, but --exit-zero");
    assert_eq!(zero.stdout, plain.stdout);
    let unreadable = lint(&fixture("mixed"), &["no/such/dir", "--exit-zero"]);
    assert_eq!(
        unreadable.code, 2,
        "trouble is not a finding: {}",
        unreadable.stderr
    );
}

/// `--statistics`: one line per rule and level, most findings first.
#[test]
fn statistics_count_findings_per_rule() {
    let run = lint(
        &fixture("mixed"),
        &["--format", "short", "--statistics", "-q"],
    );
    let table: Vec<&str> = run.stdout.lines().filter(|l| !l.contains(".rs:")).collect();
    assert_eq!(
        table,
        [
            "     1  error    deferred_delete",
            "     1  warning  silent_early_return",
            "     1  warning  timer_leak",
        ]
    );
    let json = lint(
        &fixture("mixed"),
        &["--format", "json", "--statistics", "-q"],
    );
    serde_json::from_str::<serde_json::Value>(&json.stdout)
        .expect("stdout stays one JSON document");
    assert!(
        json.stderr.contains("1  error    deferred_delete"),
        "{}",
        json.stderr
    );
}
