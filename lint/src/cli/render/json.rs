//! The stable JSON document (schema version 1, documented in the README).

use serde_json::{json, Value};

use crate::cli::{Analysis, Region};

pub const SCHEMA_VERSION: u32 = 1;

pub fn render(analysis: &Analysis) -> String {
    let findings: Vec<Value> = analysis
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule.id,
                "level": f.level.as_str(),
                "path": f.path,
                "region": region(&f.region),
                "message": f.message,
                "help": f.help,
                "labels": f.labels.iter().map(|(r, m)| json!({"region": region(r), "message": m})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let errors: Vec<Value> = analysis
        .problems
        .iter()
        .map(|p| {
            json!({
                "path": p.path,
                "kind": p.kind.as_str(),
                "message": p.message,
                "line": p.position.map(|at| at.line),
                "column": p.position.map(|at| at.column),
            })
        })
        .collect();
    let count = |level| {
        analysis
            .findings
            .iter()
            .filter(|f| f.level == level)
            .count()
    };
    let document = json!({
        "version": SCHEMA_VERSION,
        "tool": {"name": "lifecycle-lint", "version": env!("CARGO_PKG_VERSION")},
        // What relative `path`s are relative to: the workspace root.
        "root": crate::cli::display_base().to_string_lossy(),
        "findings": findings,
        "errors": errors,
        "summary": {
            "files_checked": analysis.files_checked,
            "deny": count(crate::Level::Deny),
            "warn": count(crate::Level::Warn),
            "errors": analysis.problems.len(),
            "suppressed": analysis.suppressed.len(),
        },
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values always serialize");
    text.push('\n');
    text
}

fn region(r: &Region) -> Value {
    json!({
        "start_line": r.start.line,
        "start_column": r.start.column,
        "end_line": r.end.line,
        "end_column": r.end.column,
        "byte_start": r.start.offset,
        "byte_end": r.end.offset,
    })
}
