//! `--message-format json`: cargo's JSON messages, one per line, so that
//! editors (rust-analyzer's `check.overrideCommand`) and tools that read
//! `cargo check --message-format json` show the findings.
//!
//! Each finding is a `compiler-message` whose `message` is a rustc-style
//! diagnostic: `level`, `code` (the rule), spans with byte offsets and
//! 1-based lines and columns (columns count characters), labels as secondary
//! spans, help as a child, and `rendered` (the human report). Files that
//! could not be linted are `error` diagnostics without a code. A
//! `build-finished` message ends the stream. `package_id` and `target` name
//! the package holding the file (lifecycle-lint builds nothing, so the
//! target is the package's library or binary as cargo would lay it out).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{human, severity_word};
use crate::cli::config::absolute;
use crate::cli::location::LineIndex;
use crate::cli::{Analysis, Problem, Region, Report};
use crate::Level;

pub fn render(analysis: &Analysis) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut packages = Packages::default();
    let mut out = String::new();
    let mut push = |value: Value| {
        out.push_str(&value.to_string());
        out.push('\n');
    };
    for report in &analysis.findings {
        let package = packages.of(&absolute(&cwd, Path::new(&report.path)));
        push(message(&package, finding(analysis, report)));
    }
    for problem in &analysis.problems {
        let package = packages.of(&absolute(&cwd, Path::new(&problem.path)));
        push(message(&package, unlinted(problem)));
    }
    let success =
        analysis.problems.is_empty() && !analysis.findings.iter().any(|f| f.level == Level::Deny);
    push(json!({"reason": "build-finished", "success": success}));
    out
}

fn message(package: &Package, diagnostic: Value) -> Value {
    json!({
        "reason": "compiler-message",
        "package_id": package.id,
        "manifest_path": package.manifest,
        "target": package.target,
        "message": diagnostic,
    })
}

fn finding(analysis: &Analysis, report: &Report) -> Value {
    let text = analysis.sources.get(&report.path).map_or("", |t| &**t);
    let index = LineIndex::new(text);
    let mut spans = vec![span(&report.path, &index, &report.region, true, None)];
    spans.extend(
        report
            .labels
            .iter()
            .map(|(region, label)| span(&report.path, &index, region, false, Some(label))),
    );
    let mut children = vec![json!({
        "message": report.help,
        "code": null,
        "level": "help",
        "spans": [],
        "children": [],
        "rendered": null,
    })];
    // The rewrites of the code, one child each, every edit a span with its
    // replacement (rust-analyzer makes one quick fix of a child's spans).
    for fix in &report.fixes {
        let spans: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                let mut at = span(&report.path, &index, &edit.region, true, None);
                at["suggested_replacement"] = json!(edit.text);
                at["suggestion_applicability"] = json!(fix.applicability.as_str());
                at
            })
            .collect();
        children.push(json!({
            "message": fix.description,
            "code": null,
            "level": "help",
            "spans": spans,
            "children": [],
            "rendered": null,
        }));
    }
    // Then the suppression, as rustc gives a quick fix: a help child whose span carries
    // the replacement (an insertion: an empty span).
    if let Some(edit) = crate::cli::fixes::suppression(text, report) {
        let at = Region {
            start: edit.at,
            end: edit.at,
        };
        let mut insertion = span(&report.path, &index, &at, true, None);
        insertion["suggested_replacement"] = json!(edit.text);
        insertion["suggestion_applicability"] = json!("HasPlaceholders");
        children.push(json!({
            "message": edit.description,
            "code": null,
            "level": "help",
            "spans": [insertion],
            "children": [],
            "rendered": null,
        }));
    }
    json!({
        "$message_type": "diagnostic",
        "message": report.message,
        "code": {"code": report.rule.id, "explanation": null},
        "level": severity_word(report.level),
        "spans": spans,
        "children": children,
        "rendered": human::render_one(analysis, report, false),
    })
}

fn unlinted(problem: &Problem) -> Value {
    let message = format!(
        "could not be linted ({}): {}",
        problem.kind.as_str(),
        problem.message
    );
    let spans: Vec<Value> = problem
        .position
        .map(|at| {
            json!({
                "file_name": problem.path,
                "byte_start": at.offset,
                "byte_end": at.offset,
                "line_start": at.line,
                "line_end": at.line,
                "column_start": at.column,
                "column_end": at.column,
                "is_primary": true,
                "text": [],
                "label": null,
                "suggested_replacement": null,
                "suggestion_applicability": null,
                "expansion": null,
            })
        })
        .into_iter()
        .collect();
    let at = problem
        .position
        .map(|at| format!(":{}:{}", at.line, at.column))
        .unwrap_or_default();
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": null,
        "level": "error",
        "spans": spans,
        "children": [],
        "rendered": format!("error: {message}\n --> {}{at}\n", problem.path),
    })
}

fn span(
    path: &str,
    index: &LineIndex<'_>,
    region: &Region,
    primary: bool,
    label: Option<&String>,
) -> Value {
    let lines: Vec<Value> = (region.start.line..=region.end.line)
        .map(|line| {
            let text = index.line_text(line);
            let start = if line == region.start.line {
                region.start.column
            } else {
                1
            };
            let end = if line == region.end.line {
                region.end.column
            } else {
                text.chars().count() + 1
            };
            json!({"text": text, "highlight_start": start, "highlight_end": end})
        })
        .collect();
    json!({
        "file_name": path,
        "byte_start": region.start.offset,
        "byte_end": region.end.offset,
        "line_start": region.start.line,
        "line_end": region.end.line,
        "column_start": region.start.column,
        "column_end": region.end.column,
        "is_primary": primary,
        "text": lines,
        "label": label,
        "suggested_replacement": null,
        "suggestion_applicability": null,
        "expansion": null,
    })
}

/// The cargo package a file belongs to, as cargo's messages name it.
struct Package {
    id: String,
    manifest: Option<String>,
    target: Value,
}

/// The package of each directory, found once.
#[derive(Default)]
struct Packages {
    by_dir: HashMap<PathBuf, std::rc::Rc<Package>>,
}

impl Packages {
    fn of(&mut self, file: &Path) -> std::rc::Rc<Package> {
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        if let Some(package) = self.by_dir.get(&dir) {
            return package.clone();
        }
        let package = std::rc::Rc::new(dir.ancestors().find_map(manifest_package).unwrap_or_else(
            || Package {
                id: format!("path+{}#unknown@0.0.0", file_url(&dir)),
                manifest: None,
                target: target("unknown", "lib", file, "2021"),
            },
        ));
        self.by_dir.insert(dir, package.clone());
        package
    }
}

/// The `[package]` of `dir/Cargo.toml`, if there is one.
fn manifest_package(dir: &Path) -> Option<Package> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let package = table.get("package")?.as_table()?;
    let field = |key: &str, default: &str| {
        package
            .get(key)
            .and_then(toml::Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let name = field("name", "unknown");
    let version = field("version", "0.0.0");
    let edition = field("edition", "2021");
    let (kind, src) = if dir.join("src/lib.rs").is_file() || !dir.join("src/main.rs").is_file() {
        ("lib", dir.join("src/lib.rs"))
    } else {
        ("bin", dir.join("src/main.rs"))
    };
    Some(Package {
        id: format!("path+{}#{name}@{version}", file_url(dir)),
        manifest: Some(manifest.to_string_lossy().into_owned()),
        target: target(&name, kind, &src, &edition),
    })
}

fn target(name: &str, kind: &str, src: &Path, edition: &str) -> Value {
    let name = if kind == "lib" {
        name.replace('-', "_")
    } else {
        name.to_string()
    };
    json!({
        "kind": [kind],
        "crate_types": [kind],
        "name": name,
        "src_path": src.to_string_lossy(),
        "edition": edition,
        "doc": true,
        "doctest": kind == "lib",
        "test": true,
    })
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.to_string_lossy().replace('\\', "/"))
}
