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

/// The crate's documentation (the manifest's `documentation`).
const DOCS: &str = "https://docs.rs/lifecycle-lint";

/// The documentation page of rule `id` for this version: each rule's module
/// is `lifecycle_lint::rules::<id>` and its `--explain` text is the doc of
/// the `INFO` it declares, which docs.rs renders at this address.
fn help_uri(id: &str) -> String {
    format!(
        "{DOCS}/{}/lifecycle_lint/rules/{id}/static.INFO.html",
        env!("CARGO_PKG_VERSION")
    )
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
                "fullDescription": {"text": full_description(&explanation, r.info.summary)},
                "help": {"text": explanation, "markdown": explanation},
                "helpUri": help_uri(r.info.id),
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
    let reports: Vec<&Report> = all.iter().map(|(f, _)| *f).collect();
    let fingerprints = crate::cli::baseline::fingerprints(&reports, &analysis.sources);
    let results: Vec<Value> = all
        .into_iter()
        .zip(fingerprints)
        .map(|((f, reason), fingerprint)| {
            let mut result = result(f, reason, &fingerprint);
            let text = analysis.sources.get(&f.path).map_or("", |t| &**t);
            if reason.is_none() {
                // The rewrites of the code first, then the suppression.
                let mut fixes: Vec<Value> = f.fixes.iter().map(|s| code_fix(&f.path, s)).collect();
                fixes.extend(
                    crate::cli::fixes::suppression(text, f).map(|edit| fix(&f.path, &edit)),
                );
                if !fixes.is_empty() {
                    result["fixes"] = json!(fixes);
                }
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = analysis
        .problems
        .iter()
        .map(|p| {
            let mut location = json!({"artifactLocation": artifact(&p.path)});
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
                "informationUri": DOCS,
                "rules": rules,
            }},
            // Relative URIs are relative to the workspace root the paths are
            // shown from (see `display_base`), whatever the current directory.
            "originalUriBaseIds": {
                SRCROOT: {"uri": directory_uri(crate::cli::display_base())},
            },
            "automationDetails": {"id": "lifecycle-lint/"},
            "columnKind": "unicodeCodePoints",
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

/// The `uriBaseId` of every relative location.
const SRCROOT: &str = "%SRCROOT%";

/// The first paragraph of the rule's *What it flags*, else its summary.
fn full_description(explanation: &str, summary: &str) -> String {
    let Some((_, after)) = explanation.split_once("## What it flags") else {
        return summary.to_string();
    };
    let paragraph: Vec<&str> = after
        .trim_start()
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    if paragraph.is_empty() {
        summary.to_string()
    } else {
        paragraph.join(" ")
    }
}

fn result(f: &Report, suppression: Option<&str>, fingerprint: &str) -> Value {
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
        "partialFingerprints": {"lifecycleLint/v1": fingerprint},
    })
}

/// A SARIF `fix`: one insertion (an empty deleted region) in one file.
fn fix(path: &str, edit: &crate::cli::fixes::Insertion) -> Value {
    json!({
        "description": {"text": edit.description},
        "artifactChanges": [{
            "artifactLocation": artifact(path),
            "replacements": [{
                "deletedRegion": {
                    "startLine": edit.at.line,
                    "startColumn": edit.at.column,
                    "endLine": edit.at.line,
                    "endColumn": edit.at.column,
                },
                "insertedContent": {"text": edit.text},
            }],
        }],
    })
}

/// A SARIF `fix` for a rewrite of the code: its replacements in one file,
/// with the applicability in its properties.
fn code_fix(path: &str, suggestion: &crate::cli::fixes::Suggestion) -> Value {
    let replacements: Vec<Value> = suggestion
        .edits
        .iter()
        .map(|edit| {
            json!({
                "deletedRegion": {
                    "startLine": edit.region.start.line,
                    "startColumn": edit.region.start.column,
                    "endLine": edit.region.end.line,
                    "endColumn": edit.region.end.column,
                },
                "insertedContent": {"text": edit.text},
            })
        })
        .collect();
    json!({
        "description": {"text": suggestion.description},
        "artifactChanges": [{
            "artifactLocation": artifact(path),
            "replacements": replacements,
        }],
        "properties": {"applicability": suggestion.applicability.as_str()},
    })
}

/// An `artifactLocation`: relative to `%SRCROOT%`, or an absolute `file://` URI.
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({"uri": uri(path)})
    } else {
        json!({"uri": uri(path), "uriBaseId": SRCROOT})
    }
}

/// `file:///abs/dir/`: a directory URI ends with a slash, or relative URIs
/// would resolve against its parent.
fn directory_uri(dir: &std::path::Path) -> String {
    let mut text = uri(&dir.to_string_lossy().replace('\\', "/"));
    if !text.starts_with("file://") {
        text.insert_str(0, "file:///");
    }
    if !text.ends_with('/') {
        text.push('/');
    }
    text
}

fn physical(path: &str, r: &Region) -> Value {
    json!({
        "artifactLocation": artifact(path),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule's help address names the module that declares its `INFO`,
    /// so the page exists wherever the crate's docs are built.
    #[test]
    fn every_help_uri_names_the_module_declaring_the_rule() {
        let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        for rule in RULES {
            let id = rule.info.id;
            let source = [
                rules.join(format!("{id}.rs")),
                rules.join(id).join("mod.rs"),
            ]
            .into_iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_else(|| panic!("no module rules::{id}"));
            assert!(source.contains(&format!("INFO = \"{id}\"")), "{id}");
            assert!(help_uri(id).ends_with(&format!("/rules/{id}/static.INFO.html")));
        }
    }
}
