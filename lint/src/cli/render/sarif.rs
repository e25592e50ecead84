//! SARIF 2.1.0: one run, every rule in `tool.driver.rules` with its help.

use serde_json::{json, Value};

use crate::cli::{Analysis, Region, Report};
use crate::{Level, RULES};

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "note",
    }
}

pub fn render(analysis: &Analysis) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let explanation = r.info.explanation();
            json!({
                "id": r.info.id,
                "name": r.info.id,
                "shortDescription": {"text": r.info.summary},
                "fullDescription": {"text": r.info.summary},
                "help": {"text": explanation, "markdown": explanation},
                "defaultConfiguration": {
                    "level": sarif_level(r.info.default_level),
                    "enabled": r.info.default_level != Level::Allow,
                },
                "properties": {"tags": [r.info.group.name()]},
            })
        })
        .collect();
    // Suppressed findings are results too, marked as suppressed in source
    // with the comment's reason, so that reviewers of the log see them.
    let mut all: Vec<(&Report, Option<&str>)> = analysis
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(
            analysis
                .suppressed
                .iter()
                .map(|s| (&s.report, Some(s.reason.as_str()))),
        )
        .collect();
    all.sort_by(|(a, _), (b, _)| {
        (&a.path, a.region, a.rule.id).cmp(&(&b.path, b.region, b.rule.id))
    });
    let results: Vec<Value> = all
        .into_iter()
        .map(|(f, reason)| result(f, reason))
        .collect();
    let notifications: Vec<Value> = analysis
        .problems
        .iter()
        .map(|p| {
            let mut location = json!({"artifactLocation": {"uri": uri(&p.path)}});
            if let Some(at) = p.position {
                location["region"] = json!({"startLine": at.line, "startColumn": at.column});
            }
            json!({
                "level": "error",
                "message": {"text": format!("{}: {}", p.kind.as_str(), p.message)},
                "locations": [{"physicalLocation": location}],
            })
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lifecycle-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": analysis.problems.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}

fn result(f: &Report, suppression: Option<&str>) -> Value {
    let rule_index = RULES.iter().position(|r| r.info.id == f.rule.id);
    let related: Vec<Value> = f
        .labels
        .iter()
        .enumerate()
        .map(|(i, (r, m))| {
            json!({
                "id": i + 1,
                "message": {"text": m},
                "physicalLocation": physical(&f.path, r),
            })
        })
        .collect();
    let suppressions: Vec<Value> = suppression
        .map(|reason| json!({"kind": "inSource", "justification": reason}))
        .into_iter()
        .collect();
    json!({
        "ruleId": f.rule.id,
        "ruleIndex": rule_index,
        "level": sarif_level(f.level),
        "message": {"text": format!("{}\nhelp: {}", f.message, f.help)},
        "locations": [{"physicalLocation": physical(&f.path, &f.region)}],
        "relatedLocations": related,
        "suppressions": suppressions,
    })
}

fn physical(path: &str, r: &Region) -> Value {
    json!({
        "artifactLocation": {"uri": uri(path)},
        "region": {
            "startLine": r.start.line,
            "startColumn": r.start.column,
            "endLine": r.end.line,
            "endColumn": r.end.column,
        },
    })
}

/// A URI reference for a displayed path: relative paths stay relative (code
/// scanning resolves them against the repository root), absolute ones become
/// `file://` URIs. Bytes outside the unreserved set are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
