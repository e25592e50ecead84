//! Compile-time behaviour as a user sees it: each supported form builds;
//! each rule and each argument error fails with the message in its `.stderr`.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p lifecycle-macros --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
