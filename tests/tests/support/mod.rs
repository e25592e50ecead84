//! Running the command under test and normalising what it prints.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The fixture directory `name` under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The workspace root (the parent of this package).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `cargo-lifecycle-lint ARGS` in `dir`.
pub fn lint(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_lifecycle-lint-under-test"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the command under test runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The summary line with its timing replaced, for snapshots.
pub fn without_timing(text: &str) -> String {
    regex::Regex::new(r"in \d+\.\d+s")
        .unwrap()
        .replace_all(text, "in [TIME]")
        .into_owned()
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `cargo-lifecycle-lint ARGS` in `dir` as the user `nobody`, or `None`
/// if `setpriv` is missing or cannot drop privileges.
pub fn lint_as_nobody(dir: &Path, args: &[&str]) -> Option<Run> {
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            env!("CARGO_BIN_EXE_lifecycle-lint-under-test"),
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .ok()?;
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    if stderr.starts_with("setpriv:") {
        return None;
    }
    Some(Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr,
    })
}
