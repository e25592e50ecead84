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

/// Runs `cargo-lifecycle-lint ARGS --no-cache` in `dir` (the cache has tests
/// of its own; elsewhere it would only leave files in the fixtures).
pub fn lint(dir: &Path, args: &[&str]) -> Run {
    let mut args = args.to_vec();
    args.push("--no-cache");
    run_in(dir, &args, &[])
}

/// Runs `cargo-lifecycle-lint ARGS` in `dir` with extra environment
/// variables. A `CARGO_TARGET_DIR` of the test run itself is not passed on:
/// where the cache goes must not depend on how the suite was started.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_lifecycle-lint-under-test"))
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .envs(env.iter().copied())
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

/// A cargo project in a temporary directory, written file by file.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project holding `files` (path, text); directories are created.
    pub fn new(files: &[(&str, &str)]) -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        for (path, text) in files {
            project.write(path, text);
        }
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, text: &str) {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap()
    }

    /// Runs the command in the project's root.
    pub fn lint(&self, args: &[&str]) -> Run {
        lint(self.dir.path(), args)
    }
}

/// `[package]` manifest text for a package called `name`.
pub fn package(name: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
}

/// A function with a `deferred_delete` finding (deny) on its second line.
pub const DEFERRED_DELETE: &str = "\
pub async fn delete_not_active(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());
    meta.forward_proposal(c.key()).await?;
    Ok(())
}
";

/// A function with a `silent_early_return` finding (warn) on its third line.
pub const SILENT_RETURN: &str = "\
pub fn expire_inactive(meta: &Meta, consumer: &Consumer) {
    let Some(cluster) = meta.cluster() else {
        return;
    };
    cluster.propose_delete(consumer.key());
}
";

/// (path, line, rule) of each finding printed by `--format short`.
pub fn findings(run: &Run) -> Vec<(String, usize, String)> {
    let line = regex::Regex::new(r"^(.+?):(\d+):\d+: \w+\[(\w+)\]").unwrap();
    run.stdout
        .lines()
        .filter_map(|l| line.captures(l))
        .map(|c| (c[1].to_string(), c[2].parse().unwrap(), c[3].to_string()))
        .collect()
}

/// Shorthand for expected findings.
pub fn at(path: &str, line: usize, rule: &str) -> (String, usize, String) {
    (path.to_string(), line, rule.to_string())
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
