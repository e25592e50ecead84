//! Configuration: where it is read from, what each setting does, the
//! command-line levels, `--print-config`, and errors with their TOML spans.

mod support;

use support::{at, findings, package, Project, DEFERRED_DELETE, SILENT_RETURN};

fn workspace(metadata: &str) -> Project {
    Project::new(&[
        (
            "Cargo.toml",
            &format!("[workspace]\nmembers = [\"app\"]\n\n[workspace.metadata.lifecycle-lint]\n{metadata}"),
        ),
        ("app/Cargo.toml", &package("app")),
        ("app/src/reaper.rs", DEFERRED_DELETE),
        ("app/src/expire.rs", SILENT_RETURN),
    ])
}

#[test]
fn without_configuration_the_defaults_apply() {
    let project = workspace("");
    let run = project.lint(&["--format", "short"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        findings(&run),
        [
            at("app/src/expire.rs", 3, "silent_early_return"),
            at("app/src/reaper.rs", 2, "deferred_delete"),
        ]
    );
}

#[test]
fn rule_levels_come_from_the_workspace_metadata() {
    let project = workspace("[workspace.metadata.lifecycle-lint.rules]\ndeferred_delete = \"warn\"\nsilent_early_return = \"allow\"\n");
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        run.code, 0,
        "deferred_delete is only a warning now\n{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(" warning[deferred_delete]: "),
        "{}",
        run.stdout
    );
    assert_eq!(
        findings(&run),
        [at("app/src/reaper.rs", 2, "deferred_delete")]
    );
}

#[test]
fn the_package_metadata_is_nearer_than_the_workspace_metadata() {
    let project = workspace("rules = { silent_early_return = \"allow\" }\n");
    project.write(
        "app/Cargo.toml",
        &format!(
            "{}\n[package.metadata.lifecycle-lint.rules]\ndeferred_delete = \"allow\"\n",
            package("app")
        ),
    );
    let run = project.lint(&["--format", "short"]);
    // The nearest configuration is used whole: silent_early_return is back to its default.
    assert_eq!(
        findings(&run),
        [at("app/src/expire.rs", 3, "silent_early_return")]
    );
}

#[test]
fn a_lifecycle_lint_toml_is_read_too() {
    let project = workspace("");
    project.write("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n");
    project.write("lifecycle-lint.toml", "exclude = [\"app/src/expire.rs\"]\n");
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [at("app/src/reaper.rs", 2, "deferred_delete")]
    );
}

#[test]
fn the_search_stops_at_the_workspace_root() {
    let project = Project::new(&[
        (
            "lifecycle-lint.toml",
            "rules = { deferred_delete = \"allow\" }\n",
        ),
        ("inner/Cargo.toml", &package("inner")),
        ("inner/src/lib.rs", DEFERRED_DELETE),
    ]);
    let run = lint_in(&project, "inner");
    assert_eq!(
        findings(&run),
        [at("src/lib.rs", 2, "deferred_delete")],
        "a configuration above the package belongs to something else"
    );
}

fn lint_in(project: &Project, dir: &str) -> support::Run {
    support::lint(&project.path().join(dir), &["--format", "short"])
}

#[test]
fn config_flag_replaces_the_search() {
    let project = workspace("rules = { deferred_delete = \"allow\" }\n");
    project.write(
        "other.toml",
        "rules = { silent_early_return = \"allow\" }\n",
    );
    let run = project.lint(&["--format", "short", "--config", "other.toml"]);
    assert_eq!(
        findings(&run),
        [at("app/src/reaper.rs", 2, "deferred_delete")]
    );
    let run = project.lint(&["--config", "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read missing.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn command_line_levels_override_the_configuration_and_the_last_flag_wins() {
    let project = workspace("rules = { deferred_delete = \"allow\" }\n");
    let run = project.lint(&[
        "--format",
        "short",
        "-D",
        "deferred_delete",
        "-A",
        "silent_early_return",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        findings(&run),
        [at("app/src/reaper.rs", 2, "deferred_delete")]
    );

    let run = project.lint(&[
        "--format",
        "short",
        "-W",
        "deferred_delete",
        "--allow",
        "deferred_delete",
    ]);
    assert_eq!(
        findings(&run),
        [at("app/src/expire.rs", 3, "silent_early_return")]
    );
    assert_eq!(run.code, 0);
    let run = project.lint(&["--format", "short", "-D", "warnings"]);
    assert_eq!(run.code, 1, "`-D warnings` fails on warnings, as in clippy");

    let run = project.lint(&["-W", "timer_leaks"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "unknown rule or group `timer_leaks` in `-W timer_leaks`; did you mean `timer_leak`?"
        ),
        "{}",
        run.stderr
    );
    let run = project.lint(&["-W", "frobnicate"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "unknown rule or group `frobnicate` in `-W frobnicate`; known rules: deferred_delete"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_group_sets_every_rule_in_it_and_a_rule_named_alone_wins_in_the_file() {
    let project = workspace("");
    let run = project.lint(&["--format", "short", "-A", "lifecycle"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        findings(&run),
        [],
        "-A lifecycle turns every lifecycle rule off"
    );
    let run = project.lint(&["--format", "short", "-A", "all", "-W", "deferred_delete"]);
    assert_eq!(
        run.code, 0,
        "deferred_delete is a warning now: {}",
        run.stdout
    );
    assert_eq!(
        findings(&run),
        [at("app/src/reaper.rs", 2, "deferred_delete")]
    );

    // In the file, a rule's own entry wins over its group, whatever the order.
    let project = workspace(
        "[workspace.metadata.lifecycle-lint.rules]\nsilent_early_return = \"deny\"\nlifecycle = \"allow\"\n",
    );
    let run = project.lint(&["--format", "short"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        findings(&run),
        [at("app/src/expire.rs", 3, "silent_early_return")]
    );
    let printed = project.lint(&["--print-config"]);
    assert!(
        printed.stdout.contains("silent_early_return = \"deny\""),
        "{}",
        printed.stdout
    );
    assert!(
        printed.stdout.contains("deferred_delete = \"allow\""),
        "{}",
        printed.stdout
    );

    let project = workspace("[workspace.metadata.lifecycle-lint.rules]\nlifecyle = \"allow\"\n");
    let run = project.lint(&[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown rule or group `lifecyle`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `lifecycle`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn vocabularies_extend_or_replace_the_default_words() {
    let zap = "\
pub async fn retire(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    let _cleanup = scopeguard::guard(c.clone(), |c| c.zap_consumer());
    meta.raft_submit(c.key()).await?;
    Ok(())
}
";
    let project =
        workspace("vocabulary = { delete = \"^zap_consumer$\", propose = [\"^raft_submit$\"] }\n");
    project.write("app/src/zap.rs", zap);
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [
            at("app/src/expire.rs", 3, "silent_early_return"),
            at("app/src/reaper.rs", 2, "deferred_delete"),
            at("app/src/zap.rs", 2, "deferred_delete"),
        ],
        "extended words are recognised and the default ones still are"
    );
    project.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\n[workspace.metadata.lifecycle-lint.vocabulary]\ndelete = { replace = \"^zap_consumer$\" }\npropose = \"^raft_submit$\"\n",
    );
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [
            at("app/src/expire.rs", 3, "silent_early_return"),
            at("app/src/zap.rs", 2, "deferred_delete"),
        ],
        "`delete` replaced: `c.delete()` is no longer a delete"
    );
}

#[test]
fn include_and_exclude_globs_are_relative_to_the_configuration() {
    let project = workspace("include = [\"app/src/*.rs\"]\nexclude = [\"app/src/generated\"]\n");
    project.write("app/src/generated/bindings.rs", DEFERRED_DELETE);
    project.write("app/tests/it.rs", DEFERRED_DELETE);
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [
            at("app/src/expire.rs", 3, "silent_early_return"),
            at("app/src/reaper.rs", 2, "deferred_delete"),
        ]
    );
    // A path named on the command line is linted whatever the globs say.
    let run = project.lint(&["--format", "short", "app/src/generated", "app/tests/it.rs"]);
    assert_eq!(
        findings(&run),
        [
            at("app/src/generated/bindings.rs", 2, "deferred_delete"),
            at("app/tests/it.rs", 2, "deferred_delete"),
        ]
    );
}

#[test]
fn print_config_shows_each_value_and_where_it_came_from() {
    let project = workspace(
        "exclude = [\"app/src/generated\"]\n\n[workspace.metadata.lifecycle-lint.rules]\ntimer_leak = \"deny\"\n\n[workspace.metadata.lifecycle-lint.vocabulary]\ndelete = \"^zap_consumer$\"\nlog = { replace = \"^audit$\" }\n",
    );
    let run = project.lint(&["--print-config", "-A", "silent_early_return"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("print_config", run.stdout);
}

/// The error printed for `metadata` in the workspace's Cargo.toml.
fn config_error(metadata: &str) -> String {
    let project = workspace(metadata);
    let run = project.lint(&["--color", "never"]);
    assert_eq!(
        run.code, 2,
        "a bad configuration is a usage error\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    run.stderr
}

#[test]
fn configuration_errors_name_the_file_line_and_key_with_the_toml_snippet() {
    let cases = [
        ("unknown_key", "excludes = [\"x\"]\n"),
        ("unknown_rule", "rules = { timer_leaks = \"deny\" }\n"),
        (
            "bad_level",
            "[workspace.metadata.lifecycle-lint.rules]\ntimer_leak = \"error\"\n",
        ),
        ("wrong_type", "rules = [\"timer_leak\"]\n"),
        (
            "invalid_regex",
            "vocabulary = { delete = [\"^ok$\", \"(unclosed\"] }\n",
        ),
        ("unknown_vocabulary", "vocabulary = { remove = \"x\" }\n"),
        (
            "extend_and_replace",
            "vocabulary = { log = { extend = \"a\", replace = \"b\" } }\n",
        ),
        ("invalid_glob", "exclude = [\"src/[\"]\n"),
        ("not_toml", "rules = {\n"),
    ];
    let mut all = String::new();
    for (name, metadata) in cases {
        all.push_str(&format!("=== {name}\n{}\n", config_error(metadata)));
    }
    insta::assert_snapshot!("config_errors", all);
}

#[test]
fn a_lifecycle_lint_toml_error_points_into_that_file() {
    let project = Project::new(&[
        ("Cargo.toml", &package("p")),
        ("lifecycle-lint.toml", "[rules]\ndeferred_delete = 1\n"),
        ("src/lib.rs", "fn f() {}\n"),
    ]);
    let run = project.lint(&["--color", "never"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("lifecycle-lint.toml:2: the level of `deferred_delete` must be \"allow\", \"warn\" or \"deny\", found integer"),
        "{}",
        run.stderr
    );
    project.write("lifecycle-lint.toml", "");
    project.write(
        "Cargo.toml",
        &format!("{}[package.metadata.lifecycle-lint]\n", package("p")),
    );
    let run = project.lint(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("keep one"), "{}", run.stderr);
}

#[test]
fn a_broken_manifest_that_does_not_configure_us_is_left_to_cargo() {
    let project = workspace("");
    project.write("app/fixtures/bad/Cargo.toml", "[package\nname = ");
    project.write("app/fixtures/bad/src/lib.rs", "pub fn f() {}\n");
    let run = project.lint(&["--format", "short"]);
    assert_eq!(run.code, 1, "linted as usual\n{}", run.stderr);
    assert!(run.stderr.contains("3 files checked"), "{}", run.stderr);
}
