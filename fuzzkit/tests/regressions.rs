//! Every input that ever crashed a fuzz target (or broke an invariant) is
//! kept in `fuzz/regressions/TARGET/` and replayed here on every test run,
//! with hand-made inputs for the paths that matter most (limits, line
//! endings, escapes). Files starting with `.` are skipped.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
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
