//! Crate facts (types whose `Drop` deletes) stay inside their cargo
//! package, except across the members of one cargo workspace, and there only
//! by crate: a type named like one in another package is not that type unless
//! the file names it through that package's crate. (Found by the sweep of
//! real code: moka's own `HashMap`, whose `Drop` destroys buckets, made std's
//! `HashMap` a deferred delete in every other crate linted in the same run.)

mod support;

fn reported(dir: &str) -> (i32, Vec<String>, String) {
    let run = support::lint(&support::fixture(dir), &[".", "--format", "short", "-q"]);
    let reported = run
        .stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap().to_string())
        .collect();
    (run.code, reported, format!("{}{}", run.stdout, run.stderr))
}

#[test]
fn a_deleting_drop_counts_in_its_own_package_and_where_a_workspace_member_imports_it() {
    let (code, reported, output) = reported("packages");
    assert_eq!(code, 1, "{output}");
    assert_eq!(
        reported,
        [
            // `use consumer_guards::RemoveOnDrop;` and `consumer_guards::RemoveOnDrop { .. }`
            // in another member (matched by `crates/*`).
            "crates/reaper/src/lib.rs:14:17",
            "crates/reaper/src/lib.rs:21:17",
            // The package's own `HashMap`; std's `HashMap` in `broker` is
            // not it, and `crates/scratch` is excluded from the workspace.
            "maps/src/lib.rs:29:46",
        ],
        "{output}"
    );
}

#[test]
fn crates_linted_together_outside_one_workspace_keep_their_own_facts() {
    let (code, reported, output) = reported("apart");
    assert_eq!(code, 0, "{output}");
    assert!(reported.is_empty(), "{output}");
}
