//! The linted tree is hostile (CI lints pull requests from strangers): it
//! never gets to run code, inject output, or lead the linter out of itself.

mod support;

use std::path::Path;

use support::{lint, Run};

/// A deny-level finding at line 2, column 14.
const GUARD: &str = "fn reap(c: &Consumer) {
    let _g = scopeguard::guard((), |_| c.delete());
    meta.forward_proposal(c.key())?;
}
";

fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn every_format(dir: &Path, path: &str) -> Vec<(&'static str, Run)> {
    ["human", "short", "json", "sarif", "github"]
        .into_iter()
        .map(|format| {
            (
                format,
                lint(
                    dir,
                    &[path, "--format", format, "--color", "never", "--parse-all"],
                ),
            )
        })
        .collect()
}

/// A workspace whose build script, proc-macro and `cargo`/`rustc` on the
/// PATH would each leave a marker file if anything ran them.
#[test]
fn nothing_from_the_linted_tree_is_ever_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let marker = |name: &str| root.join(format!("ran-{name}"));
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"app\", \"mac\"]\n",
    );
    write(
        &root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nbuild = \"build.rs\"\n\n[dependencies]\nmac = { path = \"../mac\" }\n",
    );
    write(
        &root.join("app/build.rs"),
        format!(
            "fn main() {{ std::fs::write({:?}, \"\").unwrap(); }}\n",
            marker("build-script")
        ),
    );
    write(
        &root.join("app/src/lib.rs"),
        format!("#[mac::run]\n{GUARD}"),
    );
    write(
        &root.join("mac/Cargo.toml"),
        "[package]\nname = \"mac\"\nversion = \"0.1.0\"\n\n[lib]\nproc-macro = true\n",
    );
    write(
        &root.join("mac/src/lib.rs"),
        format!(
            "#[proc_macro_attribute]\npub fn run(_: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {{\n    std::fs::write({:?}, \"\").unwrap();\n    item\n}}\n",
            marker("proc-macro")
        ),
    );
    let bin = root.join("bin");
    for tool in ["cargo", "rustc", "rustup", "sh"] {
        let script = bin.join(tool);
        write(&script, format!("#!/bin/sh\ntouch {:?}\n", marker(tool)));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lifecycle-lint-under-test"))
        .args(["--format", "short"])
        .current_dir(root.join("app"))
        .env("PATH", &bin)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stdout.starts_with("app/src/lib.rs:3:14: error[deferred_delete]")
            && stderr.contains("3 files checked"),
        "the whole workspace was linted: {stdout}{stderr}"
    );
    let ran: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("ran-"))
        .collect();
    assert!(ran.is_empty(), "ran: {ran:?}");
}

/// A file named to inject a workflow command (`::set-output`, `::error`)
/// through a line break, and percent signs and separators that the runner
/// would decode.
#[test]
fn a_crafted_file_name_cannot_inject_a_workflow_command() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a\n::set-output name=pwned::yes\r\n::error file=x,line=1::%0Ainjected.rs";
    write(&dir.path().join(name), GUARD);
    write(&dir.path().join("broken.rs"), "fn f( {");
    for (format, run) in every_format(dir.path(), ".") {
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        for line in run.stdout.lines() {
            assert!(
                !line.trim_start().starts_with("::set-output")
                    && !line.trim_start().starts_with("::error file=x"),
                "{format} output starts a command with a line: {line:?}"
            );
        }
        match format {
            "github" => {
                let commands: Vec<&str> = run.stdout.lines().collect();
                assert_eq!(
                    commands.len(),
                    2,
                    "one command per finding or error: {commands:?}"
                );
                assert!(commands.iter().all(|c| (c.starts_with("::error file=")
                    || c.starts_with("::warning file="))
                    && !c.contains('\r')));
                assert!(
                    commands.iter().any(|c| c.starts_with(
                        "::error file=a%0A%3A%3Aset-output name=pwned%3A%3Ayes\u{fffd}%0A%3A%3Aerror file=x%2Cline=1%3A%3A%250Ainjected.rs,line=2,"
                    )),
                    "{commands:?}"
                );
            }
            "json" => {
                let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                assert_eq!(
                    json["findings"][0]["path"], name,
                    "JSON keeps the exact path"
                );
            }
            "sarif" => {
                let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
                let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
                    ["artifactLocation"]["uri"];
                assert_eq!(
                    uri,
                    "a%0A%3A%3Aset-output%20name%3Dpwned%3A%3Ayes%0D%0A%3A%3Aerror%20file%3Dx%2Cline%3D1%3A%3A%250Ainjected.rs"
                );
            }
            _ => {}
        }
    }
}

/// Source text and a file name holding terminal escapes (clear the screen,
/// set the window title, ring the bell) reach no output raw.
#[test]
fn escape_sequences_in_source_and_file_names_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "fn reap(c: &Consumer) {
    let _g = scopeguard::guard(\"\u{1b}[2J\u{1b}]0;pwned\u{7}\", |_| c.delete()); // \u{1b}[8m hidden
    meta.forward_proposal(c.key())?;
}
";
    write(&dir.path().join("\u{1b}[31mred.rs"), hostile);
    for (format, run) in every_format(dir.path(), ".") {
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            !run.stdout.contains(['\u{1b}', '\u{7}']),
            "{format} output holds a raw escape: {:?}",
            run.stdout
        );
        assert!(!run.stderr.contains(['\u{1b}', '\u{7}']), "{format} stderr");
    }
    // With colors on, the only escapes are miette's own color codes.
    let colored = lint(dir.path(), &[".", "--color", "always"]).stdout;
    let sgr = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
    assert!(colored.contains("scopeguard::guard("), "{colored}");
    assert!(
        !sgr.replace_all(&colored, "").contains('\u{1b}'),
        "an escape other than a color: {colored:?}"
    );
}

/// Symbolic links never lead the linter out of the tree it was given:
/// links met while walking are not followed, and a relative path that runs
/// through a link is refused.
#[test]
fn symbolic_links_never_lead_out_of_the_linted_tree() {
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("secret.rs"), GUARD);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("src/lib.rs"), "pub fn f() {}\n");
    std::os::unix::fs::symlink(outside.path().join("secret.rs"), root.join("src/link.rs")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("src/linked_dir")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("vendor")).unwrap();

    let walked = lint(root, &[".", "--format", "short"]);
    assert_eq!(walked.code, 0, "{}{}", walked.stdout, walked.stderr);
    assert!(
        walked.stderr.contains("1 file checked"),
        "{}",
        walked.stderr
    );

    for given in [
        "vendor",
        "vendor/secret.rs",
        "src/link.rs",
        "src/linked_dir/",
    ] {
        let run = lint(root, &[given, "--format", "short"]);
        assert_eq!(run.code, 2, "{given}: {}", run.stdout);
        assert!(
            !run.stdout.contains("deferred_delete"),
            "{given}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("error[io]: not followed: `")
                && run
                    .stdout
                    .contains("` is a symbolic link, which may lead out of the linted tree"),
            "{given}: {}",
            run.stdout
        );
    }
    // An absolute path is the user's own choice.
    let absolute = root.join("vendor/secret.rs");
    let run = lint(root, &[absolute.to_str().unwrap(), "--format", "short"]);
    assert!(run.stdout.contains("deferred_delete"), "{}", run.stdout);
}

/// Linting writes nothing but its cache under `target/lifecycle-lint/`: no
/// baseline, no report files (until one is asked for), and with
/// `--no-cache` nothing at all. Run the default way, as users do.
#[test]
fn linting_writes_nothing_into_the_tree_but_its_cache_under_target() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("Cargo.toml"),
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\n",
    );
    write(&dir.path().join("src/lib.rs"), GUARD);
    fn listing(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut entries = vec![dir.to_path_buf()];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                entries.extend(listing(&path));
            } else {
                entries.push(path);
            }
        }
        entries.sort();
        entries
    }
    let before = listing(dir.path());
    for format in ["human", "json", "sarif", "github"] {
        lint(dir.path(), &["--format", format]);
    }
    assert_eq!(listing(dir.path()), before, "--no-cache writes nothing");

    let cache_dir = dir.path().join("target/lifecycle-lint");
    for format in ["human", "json", "sarif", "github", "short"] {
        let run = support::run_in(dir.path(), &["--format", format], &[]);
        assert_eq!(run.code, 1, "the guard is a deny finding: {}", run.stderr);
    }
    let written: Vec<_> = listing(dir.path())
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    let outside: Vec<_> = written
        .iter()
        .filter(|path| !path.starts_with(&cache_dir) && !cache_dir.starts_with(path))
        .collect();
    assert_eq!(
        outside,
        Vec::<&std::path::PathBuf>::new(),
        "only the cache is written"
    );
    let cache_files: Vec<_> = written
        .iter()
        .filter(|path| path.is_file() && path.starts_with(&cache_dir))
        .collect();
    assert_eq!(
        cache_files.len(),
        1,
        "one cache file for one setting, so the default run did use the cache: {written:?}"
    );
    assert!(cache_files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("cache-") && n.ends_with(".json")));
}

/// Source files are written only with `--fix`: every format, `--diff` and
/// `--diff --unsafe-fixes` leave the tree byte-for-byte as it was; `--fix`
/// changes the content of the fixed file and of nothing else, and adds no
/// file (with `--no-cache`).
#[test]
fn only_fix_writes_source_files_and_only_the_fixed_ones() {
    const FIXABLE: &str = "use std::time::Duration;
use tokio::time::interval;

pub async fn pump(source: &Source) {
    loop {
        let mut pace = interval(Duration::from_millis(100));
        pace.tick().await;
        source.pump_once().await;
    }
}
";
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("Cargo.toml"),
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\n",
    );
    write(&dir.path().join("src/lib.rs"), FIXABLE);
    write(&dir.path().join("src/other.rs"), GUARD);
    fn contents(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                entries.extend(contents(&path));
            } else {
                let bytes = std::fs::read(&path).unwrap();
                entries.push((path, bytes));
            }
        }
        entries.sort();
        entries
    }
    let before = contents(dir.path());
    for args in [
        &["--format", "human"][..],
        &["--format", "sarif"],
        &["--message-format", "json"],
        &["--diff"],
        &["--diff", "--unsafe-fixes"],
    ] {
        lint(dir.path(), args);
        assert_eq!(contents(dir.path()), before, "{args:?} writes nothing");
    }
    let run = lint(dir.path(), &["--fix", "--unsafe-fixes"]);
    assert!(
        run.stderr.contains("fixed 1 finding in 1 file"),
        "{}",
        run.stderr
    );
    let after = contents(dir.path());
    let changed: Vec<&std::path::PathBuf> = after
        .iter()
        .zip(&before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert_eq!(after.len(), before.len(), "no file added or removed");
    assert_eq!(changed, [&dir.path().join("src/lib.rs")]);
}
