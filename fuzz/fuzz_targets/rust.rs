#![no_main]
//! Generated Rust (see `lifecycle_lint_fuzzkit::source_file`) through the
//! whole pipeline.

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    let Ok(source) = lifecycle_lint_fuzzkit::source_file(&mut u) else {
        return;
    };
    lifecycle_lint_fuzzkit::lint_and_check("src/\u{1b}[2Jreaper.rs", &source);
});
