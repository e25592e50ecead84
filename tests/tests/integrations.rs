//! What the repository ships for other tools: the GitHub Action's lint step
//! (`scripts/action.sh`, run by `action.yml`) and the pre-commit hook
//! (`.pre-commit-hooks.yaml`), each run here the way those tools run them.

mod support;

use std::process::Command;

use support::{fixture, workspace};

fn action(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Output, String, tempfile::TempDir) {
    let scratch = tempfile::tempdir().unwrap();
    let output_file = scratch.path().join("github_output");
    let output = Command::new("bash")
        .arg(workspace().join("scripts/action.sh"))
        .current_dir(dir)
        .env(
            "LIFECYCLE_LINT",
            env!("CARGO_BIN_EXE_lifecycle-lint-under-test"),
        )
        .env("GITHUB_OUTPUT", &output_file)
        .env("LIFECYCLE_LINT_SARIF", scratch.path().join("out.sarif"))
        .env("CARGO_TARGET_DIR", scratch.path().join("target"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let outputs = std::fs::read_to_string(&output_file).unwrap_or_default();
    (output, outputs, scratch)
}

#[test]
fn the_action_annotates_writes_sarif_and_reports_the_exit_status() {
    let (run, outputs, scratch) = action(&fixture("mixed"), &[]);
    assert!(
        run.status.success(),
        "the step itself succeeds; the action fails later, after the upload"
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(
        stdout.contains("::error file=src/reaper.rs,line=12"),
        "{stdout}"
    );
    assert!(stdout.contains("::warning file=src/flush.rs"), "{stdout}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let sarif_path = scratch.path().join("out.sarif");
    assert!(
        outputs.contains(&format!("sarif-file={}\n", sarif_path.display())),
        "{outputs}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);

    // Extra arguments reach the linter.
    let (_, outputs, _) = action(
        &fixture("mixed"),
        &[("LIFECYCLE_LINT_ARGS", "-A deferred_delete")],
    );
    assert!(
        outputs.contains("exit-code=0\n"),
        "only warnings left: {outputs}"
    );

    // A linter that cannot run is exit status 2, not a silent pass.
    let (run, outputs, _) = action(
        &fixture("mixed"),
        &[("LIFECYCLE_LINT_ARGS", "--no-such-flag")],
    );
    assert!(run.status.success());
    assert!(outputs.contains("exit-code=2\n"), "{outputs}");
    assert!(String::from_utf8(run.stdout)
        .unwrap()
        .contains("::error::lifecycle-lint could not write"));
}

#[test]
fn the_action_definition_runs_the_tested_script() {
    let action = std::fs::read_to_string(workspace().join("action.yml")).unwrap();
    assert!(action.contains("using: composite"));
    assert!(action.contains("run: bash \"$GITHUB_ACTION_PATH/scripts/action.sh\""));
    assert!(action.contains("cargo install --locked --quiet --path \"$GITHUB_ACTION_PATH/lint\""));
    assert!(action.contains("github/codeql-action/upload-sarif@"));
}

/// pre-commit runs a `language: system` hook's entry from the repository
/// root, without file names (`pass_filenames: false`).
#[test]
fn the_pre_commit_hook_entry_lints_the_workspace() {
    let hooks = std::fs::read_to_string(workspace().join(".pre-commit-hooks.yaml")).unwrap();
    let entry = hooks
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry: "))
        .expect("an entry");
    assert!(hooks.contains("pass_filenames: false"));
    let mut words = entry.split_whitespace();
    assert_eq!(words.next(), Some("cargo-lifecycle-lint"));
    let run = Command::new(env!("CARGO_BIN_EXE_lifecycle-lint-under-test"))
        .args(words)
        .arg("--no-cache")
        .current_dir(fixture("mixed"))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "deny-level findings fail the commit"
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}
