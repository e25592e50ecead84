//! The pipeline: read → parse → gather crate facts → run rules → locate.
//!
//! Files are processed on a rayon pool. `proc_macro2::Span` is not `Send`,
//! so each worker maps spans to positions before handing results back, and
//! clears proc-macro2's per-thread source map after every file so memory
//! stays bounded by one file's tree per thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::config::Levels;
use super::location::{LineIndex, Position, Region};
use super::suppress::{self, Suppressed};
use crate::{check_file, CrateFacts, Finding, Level, Options, Rule, RuleInfo, Vocabulary, RULES};

/// Worker threads get a big stack: syn recurses once per nesting level, and
/// machine-generated code nests deeply.
const WORKER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// One finding, located in its file.
#[derive(Debug, Clone)]
pub struct Report {
    /// The path as shown to the user (relative to the current directory when possible).
    pub path: String,
    pub rule: &'static RuleInfo,
    pub level: Level,
    pub region: Region,
    pub message: String,
    pub labels: Vec<(Region, String)>,
    pub help: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The file is not valid Rust syntax.
    Parse,
    /// The file is not UTF-8.
    Encoding,
    /// The file or directory could not be read.
    Io,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Parse => "parse",
            ProblemKind::Encoding => "encoding",
            ProblemKind::Io => "io",
        }
    }
}

/// A file that could not be linted; the run goes on without it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
    pub position: Option<Position>,
}

/// What the rules run with, as decided by the command line.
pub struct Settings {
    pub vocabulary: Vocabulary,
    /// The level each rule runs at; `Allow` rules are not run at all.
    pub levels: Levels,
    pub jobs: usize,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub files_checked: usize,
    pub findings: Vec<Report>,
    pub problems: Vec<Problem>,
    /// The text of every file with a finding or a suppression comment, for
    /// renderers that show snippets and for the suppression step.
    pub sources: std::collections::BTreeMap<String, Arc<str>>,
    /// Findings that suppression comments silenced (filled by `suppress::apply`).
    pub suppressed: Vec<Suppressed>,
}

impl Analysis {
    /// Adds the results of another run over other files.
    pub fn merge(&mut self, other: Analysis) {
        self.files_checked += other.files_checked;
        self.findings.extend(other.findings);
        self.problems.extend(other.problems);
        self.sources.extend(other.sources);
        self.suppressed.extend(other.suppressed);
        self.sort();
    }

    /// Findings by path, line, column and rule; problems by path and kind.
    pub(super) fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| (&a.path, a.region, a.rule.id).cmp(&(&b.path, b.region, b.rule.id)));
        self.problems
            .sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    }
}

enum FileResult {
    Linted {
        path: String,
        text: Option<Arc<str>>,
        findings: Vec<Report>,
    },
    Failed(Problem),
}

pub fn analyze(files: &[PathBuf], settings: &Settings) -> Result<Analysis, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.jobs)
        .stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let rules: Vec<Rule> = RULES
        .iter()
        .copied()
        .filter(|r| settings.levels.of(r.info) != Level::Allow)
        .collect();
    Ok(pool.install(|| {
        let facts = gather_facts(files, &settings.vocabulary);
        let options = Options {
            rules: &rules,
            ..Options::new(&settings.vocabulary, &facts)
        };
        let results: Vec<FileResult> = files
            .par_iter()
            .map(|path| lint_one(path, &options, &settings.levels))
            .collect();
        let mut analysis = Analysis::default();
        for result in results {
            match result {
                FileResult::Linted {
                    path,
                    text,
                    findings,
                } => {
                    analysis.files_checked += 1;
                    if let Some(text) = text {
                        analysis.sources.insert(path, text);
                    }
                    analysis.findings.extend(findings);
                }
                FileResult::Failed(problem) => analysis.problems.push(problem),
            }
        }
        analysis.sort();
        analysis
    }))
}

/// First pass: the types whose `Drop` deletes, across all files. Only files
/// that mention `Drop` can contribute, so only those are parsed here.
fn gather_facts(files: &[PathBuf], vocabulary: &Vocabulary) -> CrateFacts {
    files
        .par_iter()
        .filter_map(|path| {
            let text = read_source(path).ok()?;
            if !text.contains("Drop") {
                return None;
            }
            let facts = syn::parse_file(&text)
                .ok()
                .map(|file| CrateFacts::of_file(&file, vocabulary));
            forget_spans();
            facts
        })
        .reduce(CrateFacts::default, |mut a, b| {
            a.merge(b);
            a
        })
}

fn lint_one(path: &Path, options: &Options<'_>, levels: &Levels) -> FileResult {
    let shown = super::display_path(path);
    let text = match read_source(path) {
        Ok(text) => text,
        Err(problem) => {
            return FileResult::Failed(Problem {
                path: shown,
                ..problem
            })
        }
    };
    let file = match syn::parse_file(&text) {
        Ok(file) => file,
        Err(error) => {
            let position = LineIndex::new(&text).position(error.span().start());
            forget_spans();
            return FileResult::Failed(Problem {
                path: shown,
                kind: ProblemKind::Parse,
                message: parse_error_message(&error),
                position: Some(position),
            });
        }
    };
    let findings = check_file(&file, options);
    let index = LineIndex::new(&text);
    let reports: Vec<Report> = findings
        .into_iter()
        .map(|f: Finding| Report {
            path: shown.clone(),
            rule: f.rule,
            level: levels.of(f.rule),
            region: index.region(f.span),
            message: f.message,
            labels: f
                .labels
                .into_iter()
                .map(|l| (index.region(l.span), l.message))
                .collect(),
            help: f.help,
        })
        .collect();
    drop(file);
    forget_spans();
    FileResult::Linted {
        path: shown,
        text: (!reports.is_empty() || text.contains(suppress::MARKER)).then(|| Arc::from(text)),
        findings: reports,
    }
}

fn parse_error_message(error: &syn::Error) -> String {
    let text = error.to_string();
    // proc-macro2's lexer error says only "cannot parse string into token stream".
    if text.starts_with("cannot parse string into token stream") {
        "not valid Rust: unbalanced delimiter or a token the lexer does not accept".to_string()
    } else {
        format!("not valid Rust: {text}")
    }
}

/// Reads a file as UTF-8 Rust source, without its byte-order mark.
fn read_source(path: &Path) -> Result<String, Problem> {
    let bytes = std::fs::read(path).map_err(|e| Problem {
        path: String::new(),
        kind: ProblemKind::Io,
        message: format!("cannot read: {e}"),
        position: None,
    })?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Problem {
            path: String::new(),
            kind: ProblemKind::Encoding,
            message: format!("not UTF-8 (invalid byte at line {line}, column {column}); Rust source must be UTF-8"),
            position: Some(Position {
                line,
                column,
                offset: valid.len(),
            }),
        }
    })?;
    if text.starts_with('\u{feff}') {
        // Editors do not count the byte-order mark as a column, so neither do we.
        text.drain(..3);
    }
    Ok(text)
}

/// Drops proc-macro2's record of the source text parsed on this thread. Every
/// span of that text is dead afterwards, so call it only once they are mapped.
fn forget_spans() {
    proc_macro2::extra::invalidate_current_thread_spans();
}
