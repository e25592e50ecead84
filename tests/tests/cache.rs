//! The result cache under `target/lifecycle-lint/`: same output warm or
//! cold, and never stale (content, crate facts, corrupt files).

mod support;

use std::fs;
use std::path::Path;

use support::{fixture, run_in, Run};

fn lint_cached(root: &Path) -> Run {
    let target = root.join("target");
    run_in(
        root,
        &["--format", "short"],
        &[("CARGO_TARGET_DIR", &target)],
    )
}

fn crate_from(fixture_name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"cached\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    for entry in fs::read_dir(fixture(fixture_name).join("src")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(
            &path,
            dir.path().join("src").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    dir
}

#[test]
fn a_warm_run_reports_exactly_what_a_cold_run_does() {
    let dir = crate_from("mixed");
    let cold = lint_cached(dir.path());
    let written = fs::read_dir(dir.path().join("target/lifecycle-lint")).map_or(0, |d| d.count());
    assert_eq!(written, 1, "one cache file: {}", cold.stderr);
    let warm = lint_cached(dir.path());
    assert_eq!(cold.stdout, warm.stdout);
    assert_eq!(cold.code, warm.code);
    assert!(warm.stderr.contains("3 from the cache"), "{}", warm.stderr);
}

/// The cache is keyed by the path relative to the workspace root, so runs
/// from the root and from a subdirectory share it, and both show the same
/// paths.
#[test]
fn runs_from_the_root_and_from_a_subdirectory_share_the_cache_and_the_paths() {
    let dir = crate_from("mixed");
    let target = dir.path().join("target");
    let env = [("CARGO_TARGET_DIR", target.as_path())];
    let from_root = run_in(dir.path(), &["--format", "short"], &env);
    let from_src = run_in(&dir.path().join("src"), &["--format", "short", "."], &env);
    assert!(
        from_src.stderr.contains("3 from the cache"),
        "{}",
        from_src.stderr
    );
    assert_eq!(
        from_root.stdout, from_src.stdout,
        "paths do not depend on the current directory"
    );
    assert!(from_src.stdout.starts_with("src/"), "{}", from_src.stdout);
    let again = run_in(dir.path(), &["--format", "short"], &env);
    assert!(
        again.stderr.contains("3 from the cache"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_changed_file_is_linted_again() {
    let dir = crate_from("mixed");
    lint_cached(dir.path());
    let reaper = dir.path().join("src/reaper.rs");
    let fixed = fs::read_to_string(&reaper).unwrap().replace(
        "let _cleanup = scopeguard::guard(consumer.clone(), |c| c.delete());",
        "let _ = 0;",
    );
    fs::write(&reaper, fixed).unwrap();
    let run = lint_cached(dir.path());
    assert!(!run.stdout.contains("deferred_delete"), "{}", run.stdout);
    assert!(run.stderr.contains("2 from the cache"), "{}", run.stderr);
}

#[test]
fn new_crate_facts_invalidate_results_of_unchanged_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("src")).unwrap();
    fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"cached\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    fs::write(
        root.join("src/reaper.rs"),
        "pub fn delete_not_active(c: Consumer) -> Result<(), E> {\n    let _guard = ConsumerGuard::new(c.clone());\n    meta.forward_proposal(c.key())?;\n    Ok(())\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("src/guard.rs"),
        "pub struct ConsumerGuard(Consumer);\n",
    )
    .unwrap();
    let before = lint_cached(root);
    assert!(
        !before.stdout.contains("deferred_delete"),
        "{}",
        before.stdout
    );
    // Only guard.rs changes; reaper.rs's cached result must not be reused.
    fs::write(
        root.join("src/guard.rs"),
        "pub struct ConsumerGuard(Consumer);\nimpl Drop for ConsumerGuard {\n    fn drop(&mut self) {\n        self.0.delete();\n    }\n}\n",
    )
    .unwrap();
    let after = lint_cached(root);
    assert!(
        after.stdout.contains("reaper.rs:2:") && after.stdout.contains("deferred_delete"),
        "{}",
        after.stdout
    );
}

#[test]
fn a_corrupt_cache_is_ignored_and_no_cache_writes_nothing() {
    let dir = crate_from("mixed");
    let cold = lint_cached(dir.path());
    assert!(cold.stdout.contains("deferred_delete"));
    let cache = fs::read_dir(dir.path().join("target/lifecycle-lint"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::create_dir_all(cache.parent().unwrap()).unwrap();
    fs::write(&cache, "{ not json").unwrap();
    let run = lint_cached(dir.path());
    assert!(run.stdout.contains("deferred_delete"), "{}", run.stdout);
    assert!(!run.stderr.contains("from the cache"), "{}", run.stderr);

    let other = crate_from("mixed");
    let target = other.path().join("target");
    run_in(
        other.path(),
        &["--no-cache"],
        &[("CARGO_TARGET_DIR", &target)],
    );
    assert!(!target.exists(), "--no-cache wrote {}", target.display());
}

#[test]
fn crate_facts_do_not_leak_between_crates_linted_together() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let guard_impl = "pub struct ConsumerGuard(Consumer);\nimpl Drop for ConsumerGuard {\n    fn drop(&mut self) {\n        self.0.delete();\n    }\n}\n";
    let user = "pub fn delete_not_active(c: Consumer) -> Result<(), E> {\n    let _guard = ConsumerGuard::new(c.clone());\n    meta.forward_proposal(c.key())?;\n    Ok(())\n}\n";
    for (name, files) in [
        ("a", vec![("guard.rs", guard_impl)]),
        ("b", vec![("reaper.rs", user)]),
        ("c", vec![("guard.rs", guard_impl), ("reaper.rs", user)]),
    ] {
        fs::create_dir_all(root.join(name).join("src")).unwrap();
        fs::write(
            root.join(name).join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n"),
        )
        .unwrap();
        for (file, text) in files {
            fs::write(root.join(name).join("src").join(file), text).unwrap();
        }
    }
    let run = support::lint(root, &[".", "--format", "short"]);
    let flagged: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("deferred_delete"))
        .collect();
    assert_eq!(
        flagged.len(),
        1,
        "only crate c, which defines the guard, is flagged:\n{}",
        run.stdout
    );
    assert!(
        flagged[0].starts_with("c/src/reaper.rs:2:"),
        "{}",
        run.stdout
    );
}
