//! Suppression comments: each form, required reasons, unknown rules,
//! unused suppressions, and comment markers inside string literals.

mod support;

use support::{at, findings, package, Project};

const FORMS: &str = r#"pub async fn line_before(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    // lifecycle-lint: allow(deferred_delete) -- evicts a local cache entry, nothing replicated
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());
    meta.forward_proposal(c.key()).await?;
    Ok(())
}

pub async fn end_of_line(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete()); // lifecycle-lint: allow(deferred_delete) -- same, written inline
    meta.forward_proposal(c.key()).await?;
    Ok(())
}

// lifecycle-lint: allow(silent_early_return) -- the orphan sweep deletes these later
/// Docs and attributes between the comment and the item are fine.
#[inline]
pub fn whole_item(meta: &Meta, consumer: &Consumer) {
    let Some(cluster) = meta.cluster() else {
        return;
    };
    cluster.propose_delete(consumer.key());
}

pub async fn in_a_string(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    let _note = "// lifecycle-lint: allow(deferred_delete) -- a string, not a comment";
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());
    meta.forward_proposal(c.key()).await?;
    Ok(())
}
"#;

const FILE_WIDE: &str = r#"//! Assignments here are interned: one allocation per identity.
//! lifecycle-lint: allow(pointer_value_comparison) -- interned, so pointer equality is identity

pub fn same(nca: &Arc<ConsumerAssignment>, ca: &Arc<ConsumerAssignment>) -> bool {
    Arc::ptr_eq(nca, ca)
}

pub fn also_same(a: &Arc<ConsumerAssignment>, b: &Arc<ConsumerAssignment>) -> bool {
    Arc::ptr_eq(a, b)
}
"#;

fn project(files: &[(&str, &str)]) -> Project {
    let project = Project::new(&[("Cargo.toml", &package("p"))]);
    for (path, text) in files {
        project.write(path, text);
    }
    project
}

#[test]
fn each_form_suppresses_what_it_covers_and_a_string_is_not_a_comment() {
    let project = project(&[("src/forms.rs", FORMS), ("src/interned.rs", FILE_WIDE)]);
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [at("src/forms.rs", 26, "deferred_delete")],
        "only the finding under the string literal is left\n{}",
        run.stderr
    );
    assert!(run.stderr.contains(", 5 suppressed"), "{}", run.stderr);
}

#[test]
fn without_the_comments_every_finding_is_reported() {
    let strip = |text: &str| {
        text.lines()
            .map(|l| l.split(" // lifecycle-lint:").next().unwrap())
            .filter(|l| {
                !l.trim_start().starts_with("// lifecycle-lint:")
                    && !l.contains("//! lifecycle-lint:")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let project = project(&[
        ("src/forms.rs", &strip(FORMS)),
        ("src/interned.rs", &strip(FILE_WIDE)),
    ]);
    let run = project.lint(&["--format", "short"]);
    let rules: Vec<String> = findings(&run).into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(
        rules,
        [
            "deferred_delete",
            "deferred_delete",
            "silent_early_return",
            "deferred_delete",
            "pointer_value_comparison",
            "pointer_value_comparison",
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn sarif_keeps_suppressed_findings_with_their_reason() {
    let project = project(&[("src/forms.rs", FORMS)]);
    let run = project.lint(&["--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let suppressions: Vec<(u64, String)> = results
        .iter()
        .filter_map(|r| {
            let s = r["suppressions"].as_array().unwrap().first()?;
            assert_eq!(s["kind"], "inSource");
            let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap();
            Some((line, s["justification"].as_str().unwrap().to_string()))
        })
        .collect();
    assert_eq!(
        suppressions,
        [
            (
                3,
                "evicts a local cache entry, nothing replicated".to_string()
            ),
            (9, "same, written inline".to_string()),
            (19, "the orphan sweep deletes these later".to_string()),
        ]
    );
    assert_eq!(results.len(), 4, "the unsuppressed finding is there too");
}

const PROBLEMS: &str = r#"pub async fn no_reason(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    // lifecycle-lint: allow(deferred_delete)
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());
    meta.forward_proposal(c.key()).await?;
    Ok(())
}

pub async fn empty_reason(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete()); // lifecycle-lint: allow(deferred_delete) --
    meta.forward_proposal(c.key()).await?;
    Ok(())
}

pub async fn misspelt(c: Arc<Consumer>, meta: &Meta) -> Result<(), Error> {
    // lifecycle-lint: allow(deferred_delet) -- typo
    let _cleanup = scopeguard::guard(c.clone(), |c| c.delete());
    meta.forward_proposal(c.key()).await?;
    Ok(())
}

/* lifecycle-lint: ignore(timer_leak) because */
pub fn fine() {}

// lifecycle-lint: allow(timer_leak, silent_early_return) -- stale: the timer is gone
pub fn expire_inactive(meta: &Meta, consumer: &Consumer) {
    let Some(cluster) = meta.cluster() else {
        return;
    };
    cluster.propose_delete(consumer.key());
}

pub fn tidy() {
    // lifecycle-lint: allow(pointer_value_comparison) -- nothing here compares
    let x = 1;
}
"#;

#[test]
fn bad_and_unused_suppressions_are_reported() {
    let project = project(&[("src/problems.rs", PROBLEMS)]);
    let run = project.lint(&["--format", "short"]);
    assert_eq!(run.code, 1, "invalid_suppression is deny-level");
    insta::assert_snapshot!("suppression_problems", run.stdout);
    assert_eq!(
        findings(&run),
        [
            at("src/problems.rs", 2, "invalid_suppression"),
            at("src/problems.rs", 9, "invalid_suppression"),
            at("src/problems.rs", 15, "invalid_suppression"),
            at("src/problems.rs", 16, "deferred_delete"),
            at("src/problems.rs", 21, "invalid_suppression"),
            at("src/problems.rs", 24, "unused_suppression"),
            at("src/problems.rs", 33, "unused_suppression"),
        ],
        "a missing reason still suppresses; a misspelt rule does not"
    );
}

#[test]
fn the_suppression_rules_follow_levels_and_suppressions_too() {
    let project = project(&[("src/problems.rs", PROBLEMS)]);
    let run = project.lint(&[
        "--format",
        "short",
        "-A",
        "unused_suppression",
        "-W",
        "invalid_suppression",
    ]);
    assert_eq!(
        run.code, 1,
        "the misspelt suppression leaves a deny finding"
    );
    let rules: Vec<String> = findings(&run).into_iter().map(|(_, _, r)| r).collect();
    assert!(
        !rules.contains(&"unused_suppression".to_string()),
        "{rules:?}"
    );
    assert!(
        run.stdout.contains("warning[invalid_suppression]"),
        "{}",
        run.stdout
    );

    // A rule turned off suppresses nothing anywhere: its suppressions are not stale.
    let run = project.lint(&[
        "--format",
        "short",
        "-A",
        "timer_leak",
        "-A",
        "pointer_value_comparison",
    ]);
    let unused: Vec<usize> = findings(&run)
        .into_iter()
        .filter(|(_, _, r)| r == "unused_suppression")
        .map(|(_, line, _)| line)
        .collect();
    assert!(unused.is_empty(), "{}", run.stdout);

    let with_file_wide = format!(
        "//! lifecycle-lint: allow(unused_suppression, invalid_suppression) -- fixture of bad suppressions\n{PROBLEMS}"
    );
    project.write("src/problems.rs", &with_file_wide);
    let run = project.lint(&["--format", "short"]);
    assert_eq!(
        findings(&run),
        [at("src/problems.rs", 17, "deferred_delete")]
    );
}
