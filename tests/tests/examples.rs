//! The bundled examples: the buggy broker trips exactly the findings its
//! source marks with `// expect: <rule>`, and its clean twin trips none.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use support::{lint, workspace};

fn expected_markers(dir: &Path, shown_prefix: &str, out: &mut BTreeSet<(String, u64, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            expected_markers(&path, &format!("{shown_prefix}{name}/"), out);
        } else if name.ends_with(".rs") {
            for (i, line) in fs::read_to_string(&path).unwrap().lines().enumerate() {
                if let Some((code, rules)) = line.split_once("// expect:") {
                    // rustfmt moves a trailing comment after `{` onto its own
                    // line; such a marker belongs to the line above.
                    let line_number = if code.trim().is_empty() { i } else { i + 1 };
                    for rule in rules.split([',', ' ']).filter(|r| !r.is_empty()) {
                        out.insert((
                            format!("{shown_prefix}{name}"),
                            line_number as u64,
                            rule.to_string(),
                        ));
                    }
                }
            }
        }
    }
}

fn reported(run: &support::Run) -> BTreeSet<(String, u64, String)> {
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["region"]["start_line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_buggy_broker_trips_every_rule_exactly_where_marked() {
    let root = workspace();
    let run = lint(&root, &["examples/broker-buggy", "--format", "json"]);
    assert_eq!(
        run.code, 1,
        "the buggy broker has deny-level findings\n{}",
        run.stderr
    );
    let mut expected = BTreeSet::new();
    expected_markers(
        &root.join("examples/broker-buggy"),
        "examples/broker-buggy/",
        &mut expected,
    );
    let reported = reported(&run);
    let missing: Vec<_> = expected.difference(&reported).collect();
    let unexpected: Vec<_> = reported.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
    // The rules about suppression comments are exercised by tests/tests/suppressions.rs.
    for rule in lifecycle_lint::rules::syntax_rules() {
        assert!(
            reported.iter().any(|(_, _, r)| r == rule.info.id),
            "no example trips {}",
            rule.info.id
        );
    }
}

#[test]
fn the_clean_broker_has_no_findings() {
    let run = lint(&workspace(), &["examples/broker-clean", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(reported(&run).is_empty(), "{}", run.stdout);
}
