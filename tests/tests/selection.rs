//! What to lint, chosen as cargo subcommands choose it: `-p/--package`,
//! `--workspace`, `--manifest-path`, with paths shown relative to the
//! workspace root.

mod support;

use support::{at, findings, package, Project, DEFERRED_DELETE, SILENT_RETURN};

fn two_members() -> Project {
    Project::new(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\n",
        ),
        ("crates/reaper/Cargo.toml", &package("reaper")),
        ("crates/reaper/src/lib.rs", DEFERRED_DELETE),
        ("crates/expiry-timer/Cargo.toml", &package("expiry-timer")),
        ("crates/expiry-timer/src/lib.rs", SILENT_RETURN),
        ("crates/old/Cargo.toml", &package("old")),
        ("crates/old/src/lib.rs", DEFERRED_DELETE),
    ])
}

#[test]
fn package_selects_members_by_name() {
    let project = two_members();
    let run = project.lint(&["--format", "short", "-p", "reaper"]);
    assert_eq!(
        findings(&run),
        [at("crates/reaper/src/lib.rs", 2, "deferred_delete")]
    );
    let run = project.lint(&[
        "--format",
        "short",
        "-p",
        "reaper",
        "--package",
        "expiry-timer",
    ]);
    assert_eq!(
        findings(&run),
        [
            at("crates/expiry-timer/src/lib.rs", 3, "silent_early_return"),
            at("crates/reaper/src/lib.rs", 2, "deferred_delete"),
        ]
    );
    // From inside a member, -p still names any member of the workspace.
    let run = support::lint(
        &project.path().join("crates/reaper/src"),
        &["--format", "short", "-p", "expiry-timer"],
    );
    assert_eq!(
        findings(&run),
        [at(
            "crates/expiry-timer/src/lib.rs",
            3,
            "silent_early_return"
        )]
    );
}

#[test]
fn an_unknown_or_excluded_package_is_an_error_naming_the_members() {
    let project = two_members();
    let run = project.lint(&["-p", "expiry_timer"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("package `expiry_timer` is not a member of the workspace"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `expiry-timer`?"),
        "{}",
        run.stderr
    );
    let run = project.lint(&["-p", "old"]);
    assert_eq!(run.code, 2, "excluded from the workspace: {}", run.stderr);
    assert!(
        run.stderr.contains("(members: expiry-timer, reaper)"),
        "{}",
        run.stderr
    );
    let run = project.lint(&["-p", "reaper", "crates/reaper"]);
    assert_eq!(run.code, 2, "-p and paths conflict: {}", run.stderr);
}

#[test]
fn workspace_and_manifest_path_choose_as_cargo_does() {
    let project = two_members();
    let whole = project.lint(&["--format", "short", "--workspace"]);
    let member_dir = support::lint(
        &project.path().join("crates/reaper"),
        &["--format", "short"],
    );
    assert_eq!(
        whole.stdout, member_dir.stdout,
        "a member lints its whole workspace, as cargo's default is"
    );
    assert_eq!(findings(&whole).len(), 3, "{}", whole.stdout);

    let elsewhere = tempfile::tempdir().unwrap();
    let manifest = project.path().join("crates/reaper/Cargo.toml");
    let run = support::lint(
        elsewhere.path(),
        &[
            "--format",
            "short",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
    );
    assert_eq!(
        findings(&run),
        [at("crates/reaper/src/lib.rs", 2, "deferred_delete")],
        "a member's manifest selects that member; paths are relative to its workspace"
    );
    let root = project.path().join("Cargo.toml");
    let run = support::lint(
        elsewhere.path(),
        &[
            "--format",
            "short",
            "--manifest-path",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(run.stdout, whole.stdout);

    let run = support::lint(
        elsewhere.path(),
        &["--manifest-path", project.path().to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("must be a path to a Cargo.toml file"),
        "{}",
        run.stderr
    );
}
