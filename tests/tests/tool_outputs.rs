//! The contracts with other tools: cargo's JSON messages (read with the
//! `cargo_metadata` crate, as rust-analyzer and cargo tooling read them) and
//! SARIF (validated against the SARIF 2.1.0 schema).

mod support;

use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::Message;
use serde_json::Value;
use support::{fixture, lint, package, Project};

fn messages(stdout: &str) -> Vec<Message> {
    Message::parse_stream(stdout.as_bytes())
        .map(|m| m.expect("readable"))
        .collect()
}

#[test]
fn message_format_json_is_cargos_message_stream() {
    let run = lint(&fixture("mixed"), &["--message-format", "json"]);
    assert_eq!(run.code, 1);
    let json = lint(&fixture("mixed"), &["--format", "json"]);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let expected = doc["findings"].as_array().unwrap();

    let messages = messages(&run.stdout);
    let (last, compiler) = messages.split_last().unwrap();
    match last {
        Message::BuildFinished(finished) => assert!(!finished.success, "a deny-level finding"),
        other => panic!("the stream ends with build-finished, not {other:?}"),
    }
    assert_eq!(compiler.len(), expected.len());
    for (message, finding) in compiler.iter().zip(expected) {
        let Message::CompilerMessage(message) = message else {
            panic!("not a compiler message: {message:?}");
        };
        assert!(
            message.package_id.repr.ends_with("#mixed@0.1.0"),
            "{}",
            message.package_id
        );
        assert_eq!(message.target.name, "mixed");
        let diagnostic = &message.message;
        assert_eq!(
            diagnostic.code.as_ref().unwrap().code,
            finding["rule"].as_str().unwrap()
        );
        let level = match finding["level"].as_str().unwrap() {
            "deny" => DiagnosticLevel::Error,
            _ => DiagnosticLevel::Warning,
        };
        assert_eq!(diagnostic.level, level);
        assert_eq!(diagnostic.message, finding["message"].as_str().unwrap());
        let primary = diagnostic.spans.iter().find(|s| s.is_primary).unwrap();
        let region = &finding["region"];
        assert_eq!(primary.file_name, finding["path"].as_str().unwrap());
        assert_eq!(
            (
                primary.line_start,
                primary.column_start,
                primary.line_end,
                primary.column_end
            ),
            (
                region["start_line"].as_u64().unwrap() as usize,
                region["start_column"].as_u64().unwrap() as usize,
                region["end_line"].as_u64().unwrap() as usize,
                region["end_column"].as_u64().unwrap() as usize,
            )
        );
        assert_eq!(
            (primary.byte_start as u64, primary.byte_end as u64),
            (
                region["byte_start"].as_u64().unwrap(),
                region["byte_end"].as_u64().unwrap()
            )
        );
        let highlighted = &primary.text[0];
        assert!(highlighted.highlight_start < highlighted.highlight_end);
        let labels: Vec<&str> = diagnostic
            .spans
            .iter()
            .filter(|s| !s.is_primary)
            .map(|s| s.label.as_deref().unwrap())
            .collect();
        let expected_labels: Vec<&str> = finding["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["message"].as_str().unwrap())
            .collect();
        assert_eq!(labels, expected_labels);
        assert_eq!(diagnostic.children[0].level, DiagnosticLevel::Help);
        assert_eq!(
            diagnostic.children[0].message,
            finding["help"].as_str().unwrap()
        );
        let rendered = diagnostic.rendered.as_deref().unwrap();
        assert!(
            rendered.contains(&format!("[{}]", finding["rule"].as_str().unwrap())),
            "{rendered}"
        );
    }
}

#[test]
fn files_that_cannot_be_parsed_are_unparsable_file_warnings_at_their_position() {
    let run = lint(
        &fixture("broken"),
        &[".", "--message-format=json", "--parse-all"],
    );
    let unparsable: Vec<_> = messages(&run.stdout)
        .into_iter()
        .filter_map(|m| match m {
            Message::CompilerMessage(m)
                if m.message.code.as_ref().map(|c| c.code.as_str()) == Some("unparsable_file") =>
            {
                Some(m.message)
            }
            _ => None,
        })
        .collect();
    assert_eq!(unparsable.len(), 2, "{}", run.stdout);
    assert!(unparsable
        .iter()
        .all(|e| e.level == DiagnosticLevel::Warning));
    // As cargo names files: relative to the workspace root (this fixture
    // lies inside this repository's workspace, in the tests package).
    assert_eq!(
        unparsable[0].spans[0].file_name,
        "tests/fixtures/broken/not_utf8.rs"
    );
    assert_eq!(
        (
            unparsable[0].spans[0].line_start,
            unparsable[0].spans[0].column_start
        ),
        (2, 7)
    );
}

/// The vendored SARIF 2.1.0 schema, compiled.
fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = support::workspace().join("tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler
        .add_resource("sarif-schema-2.1.0.json", schema)
        .unwrap();
    let index = compiler
        .compile("sarif-schema-2.1.0.json", &mut schemas)
        .unwrap();
    (schemas, index)
}

fn assert_valid_sarif(stdout: &str) {
    let (schemas, index) = sarif_schema();
    let log: Value = serde_json::from_str(stdout).unwrap();
    if let Err(e) = schemas.validate(&log, index) {
        panic!("not valid SARIF 2.1.0: {e:#}");
    }
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    assert_valid_sarif(&lint(&fixture("mixed"), &["--format", "sarif"]).stdout);
    // With rewrites of the code among the fixes (several edits in one).
    assert_valid_sarif(&lint(&fixture("fixable"), &["--format", "sarif"]).stdout);
    assert_valid_sarif(&lint(&fixture("broken"), &[".", "--format", "sarif"]).stdout);
    assert_valid_sarif(&lint(&fixture("clean"), &[".", "--format", "sarif"]).stdout);
    let suppressed = Project::new(&[
        ("Cargo.toml", &package("p")),
        (
            "src/lib.rs",
            &format!(
                "// lifecycle-lint: allow(deferred_delete) -- local cache only\n{}",
                support::DEFERRED_DELETE
            ),
        ),
    ]);
    let run = suppressed.lint(&["--format", "sarif"]);
    assert!(run.stdout.contains("\"inSource\""), "{}", run.stdout);
    assert_valid_sarif(&run.stdout);
}

#[test]
fn the_schema_check_catches_invalid_sarif() {
    let run = lint(&fixture("mixed"), &["--format", "sarif"]);
    let mut log: Value = serde_json::from_str(&run.stdout).unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    log["runs"][0]["results"][0]["suppressions"] = serde_json::json!([{"kind": "inComment"}]);
    let (schemas, index) = sarif_schema();
    assert!(schemas.validate(&log, index).is_err());
}

/// Every lifecycle finding offers, as rust-analyzer reads a quick fix from
/// cargo's messages, a suppression with a placeholder reason. Applied as
/// an editor applies it (the replacement at the span's byte range), it
/// silences the finding and nothing else; SARIF's `fixes` say the same.
#[test]
fn each_finding_offers_a_suppression_that_silences_it() {
    use cargo_metadata::diagnostic::Applicability;
    let project = Project::new(&[("Cargo.toml", &package("fixme"))]);
    for name in ["flush.rs", "reaper.rs", "lib.rs"] {
        project.write(
            &format!("src/{name}"),
            &std::fs::read_to_string(fixture("mixed").join("src").join(name)).unwrap(),
        );
    }
    let run = project.lint(&["--message-format", "json"]);
    let mut edits: Vec<(String, usize, usize, String)> = Vec::new();
    let mut findings = 0;
    for message in messages(&run.stdout) {
        let Message::CompilerMessage(message) = message else {
            continue;
        };
        findings += 1;
        // A finding may also carry a rewrite of the code (tests/fixes.rs);
        // the suppression is the child that says so.
        let fixes: Vec<_> = message
            .message
            .children
            .iter()
            .filter(|child| child.message.starts_with("suppress `"))
            .flat_map(|child| &child.spans)
            .filter(|span| span.suggested_replacement.is_some())
            .collect();
        assert_eq!(
            fixes.len(),
            1,
            "one suppression quick fix per finding: {:?}",
            message.message
        );
        let span = fixes[0];
        assert_eq!(
            span.suggestion_applicability,
            Some(Applicability::HasPlaceholders)
        );
        assert_eq!(span.byte_start, span.byte_end, "an insertion");
        edits.push((
            span.file_name.clone(),
            span.byte_start as usize,
            span.byte_end as usize,
            span.suggested_replacement.clone().unwrap(),
        ));
    }
    assert_eq!(findings, 3);

    // SARIF offers the same edits, by line and column.
    let sarif: Value = serde_json::from_str(&project.lint(&["--format", "sarif"]).stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for (result, (file, _, _, text)) in results.iter().zip(&edits) {
        let suppression = result["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|fix| {
                fix["description"]["text"]
                    .as_str()
                    .is_some_and(|text| text.starts_with("suppress `"))
            })
            .expect("a suppression among the fixes");
        let change = &suppression["artifactChanges"][0];
        assert_eq!(change["artifactLocation"]["uri"], file.as_str());
        assert_eq!(
            change["replacements"][0]["insertedContent"]["text"],
            text.as_str()
        );
    }

    // Applied back to front per file, as an editor would.
    edits.sort_by(|a, b| (&a.0, b.1).cmp(&(&b.0, a.1)));
    for (file, start, end, text) in &edits {
        let mut source = project.read(file);
        source.replace_range(*start..*end, text);
        project.write(file, &source);
    }
    let after = project.lint(&["--format", "short"]);
    assert_eq!(
        after.stdout, "",
        "every finding suppressed, no suppression reported"
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert!(project
        .read("src/reaper.rs")
        .contains("// lifecycle-lint: allow(deferred_delete) -- <why"));
}
