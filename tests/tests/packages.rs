//! Crate facts (types whose `Drop` deletes) stay inside their cargo
//! package: a type named like one in another package of the workspace is
//! not that type. (Found by the sweep of real code: moka's own `HashMap`,
//! whose `Drop` destroys buckets, made std's `HashMap` a deferred delete in
//! every other crate linted in the same run.)

mod support;

#[test]
fn a_deleting_drop_counts_only_in_its_own_package() {
    let run = support::lint(
        &support::fixture("packages"),
        &[".", "--format", "short", "-q"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let reported: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(reported, ["maps/src/lib.rs:29:46"], "{}", run.stdout);
}
