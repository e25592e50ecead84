#![no_main]
//! Arbitrary bytes as a file (with a hostile name) through the whole pipeline.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    lifecycle_lint_fuzzkit::lint_and_check("src/a\n::warning::x,y%.rs", bytes);
});
