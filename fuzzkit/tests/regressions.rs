//! Every input that ever crashed a fuzz target (or broke an invariant) is
//! kept in `fuzz/regressions/TARGET/` and replayed here on every test run,
//! with hand-made inputs for the paths that matter most (limits, line
//! endings, escapes). Files starting with `.` are skipped. Until a fuzzer
//! finds a crash in the `rust` target, its directory keeps one generated
//! input per rule that the generator turns into code with that rule's
//! finding (`finds-RULE.bin`), so the replay checks the invariants on
//! findings of every rule.

use std::path::Path;

/// The inputs kept for `target`, at least `minimum` of them: a directory
/// emptied by mistake must fail here, not replay nothing.
fn inputs(target: &str, minimum: usize) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory").path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("a readable input"))
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= minimum,
        "fuzz/regressions/{target} holds {} inputs, expected at least {minimum}",
        inputs.len()
    );
    inputs
}

#[test]
fn bytes_target_regressions() {
    for (name, bytes) in inputs("bytes", 4) {
        eprintln!("replaying bytes/{name}");
        lifecycle_lint_fuzzkit::lint_and_check("src/a\n::warning::x,y%.rs", &bytes);
    }
}

#[test]
fn rust_target_regressions() {
    for (name, bytes) in inputs("rust", 4) {
        eprintln!("replaying rust/{name}");
        let source =
            lifecycle_lint_fuzzkit::source_file(&mut arbitrary::Unstructured::new(&bytes)).unwrap();
        let outputs = lifecycle_lint_fuzzkit::lint_and_check("src/\u{1b}[2Jreaper.rs", &source);
        // `finds-RULE.bin` was kept because the generator turned it into code
        // with a RULE finding: if it stops doing so, the generator or the
        // rule changed, and the input no longer guards what it was kept for.
        if let Some(rule) = name
            .strip_prefix("finds-")
            .and_then(|n| n.strip_suffix(".bin"))
        {
            assert!(
                outputs.short.contains(&format!("[{rule}]")),
                "rust/{name} no longer yields a {rule} finding:\n{}\n{}",
                String::from_utf8_lossy(&source),
                outputs.short
            );
        }
    }
}
