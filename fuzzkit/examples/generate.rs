//! Prints the Rust source the `rust` fuzz target generates from an input
//! file (a crash artifact or a corpus entry), to inspect or lint it:
//!
//!     cargo run -p lifecycle-lint-fuzzkit --example generate -- fuzz/artifacts/rust/crash-... > x.rs
use std::io::Write;

fn main() {
    let path = std::env::args_os().nth(1).expect("usage: generate INPUT");
    let bytes = std::fs::read(&path).expect("the input file is readable");
    let source = lifecycle_lint_fuzzkit::source_file(&mut arbitrary::Unstructured::new(&bytes))
        .expect("any input generates a file");
    std::io::stdout()
        .write_all(&source)
        .expect("stdout is writable");
}
