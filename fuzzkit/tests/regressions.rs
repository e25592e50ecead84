//! Every input that ever crashed a fuzz target (or broke an invariant) is
//! kept in `fuzz/regressions/TARGET/` and replayed here on every test run.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    // A target none of whose inputs ever failed has no directory yet.
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(!dir.exists(), "{}: unreadable", dir.display());
        return Vec::new();
    };
    let mut inputs: Vec<_> = entries
        .map(|entry| {
            let path = entry.expect("a readable directory").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("a readable input"))
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn bytes_target_regressions() {
    for (name, bytes) in inputs("bytes") {
        eprintln!("replaying bytes/{name}");
        lifecycle_lint_fuzzkit::lint_and_check("src/a\n::warning::x,y%.rs", &bytes);
    }
}

#[test]
fn rust_target_regressions() {
    for (name, bytes) in inputs("rust") {
        eprintln!("replaying rust/{name}");
        let source =
            lifecycle_lint_fuzzkit::source_file(&mut arbitrary::Unstructured::new(&bytes)).unwrap();
        lifecycle_lint_fuzzkit::lint_and_check("src/\u{1b}[2Jreaper.rs", &source);
    }
}
