//! Hostile inputs: each is reported with a clear message naming the file,
//! and the run goes on to lint the others (`guard.rs`, one finding, is in
//! every tree).

mod support;

use std::path::Path;

use support::{lint, Run};

/// A deny-level finding at line 2, column 14.
const GUARD: &str = "fn reap(c: &Consumer) {
    let _g = scopeguard::guard((), |_| c.delete());
    meta.forward_proposal(c.key())?;
}
";

/// A tree holding `guard.rs` and the given files.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("guard.rs"), GUARD).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// The other file was still linted, and its finding is where it should be.
fn assert_guard_still_linted(run: &Run) {
    assert!(
        run.stdout.contains("guard.rs:2:14: error[deferred_delete]"),
        "guard.rs not linted:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// With `--parse-all`: these files are about surviving the parser, and most
/// hold nothing a rule looks for (so the pre-filter would not parse them).
fn short(dir: &Path) -> Run {
    lint(dir, &[".", "--format", "short", "-j", "2", "--parse-all"])
}

#[test]
fn a_50_mb_file_is_reported_as_too_large() {
    let mut big = Vec::with_capacity(50 * 1024 * 1024 + GUARD.len());
    while big.len() < 50 * 1024 * 1024 {
        big.extend_from_slice(GUARD.as_bytes());
    }
    let dir = tree(&[("big.rs", &big)]);
    let run = short(dir.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "big.rs: error[limit]: larger than 10 MiB, far beyond hand-written source; not linted"
        ),
        "{}",
        run.stdout
    );
    assert_guard_still_linted(&run);
}

#[test]
fn deep_nesting_is_reported_where_it_gets_too_deep_without_overflowing_the_stack() {
    let parens = format!(
        "fn f() {{\n    let x = {}1{};\n}}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let blocks = format!("fn f() {}{}\n", "{".repeat(50_000), "}".repeat(50_000));
    let prefix = format!("fn f() {{ let x = {}a; }}\n", "!".repeat(200_000));
    let generics = format!(
        "type T = {}u8{};\n",
        "Vec<".repeat(20_000),
        ">".repeat(20_000)
    );
    let dir = tree(&[
        ("parens.rs", parens.as_bytes()),
        ("blocks.rs", blocks.as_bytes()),
        ("prefix.rs", prefix.as_bytes()),
        ("generics.rs", generics.as_bytes()),
    ]);
    let run = short(dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    for name in [
        "parens.rs:2:",
        "blocks.rs:1:",
        "prefix.rs:1:",
        "generics.rs:1:",
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not reported:\n{}", run.stdout));
        assert!(
            line.contains("error[limit]: nested too deeply to parse safely: about")
                && line.ends_with("(the limit is 3000); not linted"),
            "{line}"
        );
    }
    assert_guard_still_linted(&run);
}

#[test]
fn non_utf8_and_random_bytes_are_reported_with_a_position() {
    let mut latin1 = b"fn f() {\n    let s = \"caf".to_vec();
    latin1.extend_from_slice(b"\xe9\";\n}\n");
    // A fixed pseudo-random stream (xorshift), so the test is repeatable.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let ascii: Vec<u8> = random.iter().map(|b| b & 0x7f).collect();
    let dir = tree(&[
        ("latin1.rs", &latin1),
        ("random.rs", &random),
        ("random_ascii.rs", &ascii),
    ]);
    let run = short(dir.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "latin1.rs:2:17: warning[unparsable_file]: not UTF-8 (invalid byte at line 2, column 17); Rust source must be UTF-8"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("random.rs:1:2: warning[unparsable_file]: not UTF-8"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("random_ascii.rs:1:2: warning[unparsable_file]: not valid Rust"),
        "{}",
        run.stdout
    );
    assert_guard_still_linted(&run);
}

#[test]
fn a_directory_symlink_loop_is_not_followed() {
    let dir = tree(&[]);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/inner.rs"), "fn f() {}\n").unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("here")).unwrap();
    let run = short(dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 files checked"),
        "each file once: {}",
        run.stderr
    );
    assert_guard_still_linted(&run);
}

/// Root reads any file whatever its mode, so when the tests run as root the
/// command runs as `nobody` (through `setpriv`) to meet a permission error.
#[test]
fn an_unreadable_file_is_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tree(&[("secret.rs", b"fn f() {}\n")]);
    let path = dir.path();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        path.join("guard.rs"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        path.join("secret.rs"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let run = if support::running_as_root() {
        // setpriv is util-linux's, on every Debian: a machine without it
        // must fail here, not pass without testing anything.
        support::lint_as_nobody(path, &[".", "--format", "short"]).expect(
            "running as root, so this test needs `setpriv` (util-linux) able to drop to nobody (uid 65534)",
        )
    } else {
        short(path)
    };
    assert_eq!(run.code, 2, "I/O trouble exits 2: {}", run.stderr);
    assert!(
        run.stdout
            .contains("secret.rs: error[io]: cannot read: Permission denied"),
        "{}",
        run.stdout
    );
    assert_guard_still_linted(&run);
}

#[test]
fn crlf_a_bom_tabs_and_wide_characters_keep_columns_right() {
    let text = "\u{feff}fn reap(c: &Consumer) {\r\n\tlet _é = 1; let _g = scopeguard::guard((), |_| c.delete());\r\n\tmeta.forward_proposal(c.key())?;\r\n}\r\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crlf.rs"), text).unwrap();

    let run = short(dir.path());
    // A tab and `é` count one column each: `\tlet _é = 1; let _g = ` is 22.
    assert!(
        run.stdout
            .starts_with("crlf.rs:2:23: error[deferred_delete]"),
        "{}",
        run.stdout
    );

    let json: serde_json::Value =
        serde_json::from_str(&lint(dir.path(), &[".", "--format", "json"]).stdout).unwrap();
    let region = &json["findings"][0]["region"];
    let without_bom = text.trim_start_matches('\u{feff}');
    let start = region["byte_start"].as_u64().unwrap() as usize;
    let end = region["byte_end"].as_u64().unwrap() as usize;
    assert_eq!(
        &without_bom[start..end],
        "scopeguard::guard((), |_| c.delete())"
    );
    assert_eq!(
        (
            region["start_line"].as_u64(),
            region["start_column"].as_u64()
        ),
        (Some(2), Some(23))
    );

    let human = lint(dir.path(), &[".", "--color", "never"]).stdout;
    assert!(human.contains("╭─[crlf.rs:2:23]"), "{human}");
    // The underline starts under `scopeguard` (miette shows a tab as 4 spaces).
    let lines: Vec<&str> = human.lines().collect();
    let code = lines
        .iter()
        .position(|l| l.contains("let _g = scopeguard"))
        .unwrap();
    let code_column = lines[code].find("scopeguard").unwrap();
    let underline_column = lines[code + 1].find('─').unwrap();
    assert_eq!(
        lines[code][..code_column].chars().count(),
        lines[code + 1][..underline_column].chars().count(),
        "{human}"
    );
    assert!(
        !human.contains('\r'),
        "line endings are not echoed: {human:?}"
    );
}

/// One function with 5,000 each of early returns, guards, pointer
/// comparisons and `select!` loops: the rules stay linear in its size (they
/// took minutes here when each guard re-walked the rest of the function).
/// Not a timing test: the deadline only tells a hang from a finish.
#[test]
fn a_huge_function_does_not_hang() {
    let statements = "    if a.is_none() { return; }
    let _g = scopeguard::guard((), |_| c.delete());
    loop { tokio::select! { _ = sleep(d) => {}, m = rx.recv() => {} } }
    if Arc::ptr_eq(&x.assignment, &y.assignment) { return; }
"
    .repeat(5_000);
    let huge = format!(
        "async fn delete_not_active(c: &Consumer) {{\n{statements}    meta.forward_proposal(k).await;\n}}\n"
    );
    let dir = tree(&[("huge.rs", huge.as_bytes())]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lifecycle-lint-under-test"))
        .args([".", "--format", "short", "-q"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1));
            return;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still linting a 5,000-guard function after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
