//! The pipeline: read → parse → gather crate facts → run rules → locate.
//!
//! Files are processed on a rayon pool. `proc_macro2::Span` is not `Send`,
//! so each worker maps spans to positions before handing results back, and
//! clears proc-macro2's per-thread source map after every file so memory
//! stays bounded by one file's tree per thread.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::limits;
use super::location::{LineIndex, Position, Region};
use crate::{check_file, CrateFacts, Finding, Level, Options, Rule, RuleInfo, Vocabulary, RULES};

/// Worker threads get a big stack: syn, the rules and the tree's destructor
/// recurse once per nesting level, up to `limits::MAX_NESTING` levels. Only
/// the pages a thread touches are allocated.
const WORKER_STACK_BYTES: usize = 256 * 1024 * 1024;

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
    /// The file is too big or nested too deeply to lint safely.
    Limit,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Parse => "parse",
            ProblemKind::Encoding => "encoding",
            ProblemKind::Io => "io",
            ProblemKind::Limit => "limit",
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
    pub level_of: fn(&RuleInfo) -> Level,
    pub jobs: usize,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub files_checked: usize,
    pub findings: Vec<Report>,
    pub problems: Vec<Problem>,
    /// The text of every file with a finding, for renderers that show snippets.
    pub sources: std::collections::BTreeMap<String, Arc<str>>,
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
    let rules = enabled_rules(settings);
    Ok(pool.install(|| {
        let facts = gather_facts(files, &settings.vocabulary);
        let results: Vec<FileResult> = files
            .par_iter()
            .map(|path| {
                let options = Options {
                    rules: &rules,
                    ..Options::new(&settings.vocabulary, facts.of(path))
                };
                lint_one(path, &options, settings.level_of)
            })
            .collect();
        collect(results)
    }))
}

/// The rules that run: those not at level `Allow`.
fn enabled_rules(settings: &Settings) -> Vec<Rule> {
    RULES
        .iter()
        .copied()
        .filter(|r| (settings.level_of)(r.info) != Level::Allow)
        .collect()
}

/// The per-file results as one sorted [`Analysis`].
fn collect(results: Vec<FileResult>) -> Analysis {
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
    analysis
        .findings
        .sort_by(|a, b| (&a.path, a.region, a.rule.id).cmp(&(&b.path, b.region, b.rule.id)));
    analysis
        .problems
        .sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    analysis
}

/// Crate facts per cargo package: a type's `Drop` in one package says
/// nothing about a type of the same name in another (one crate's own
/// `HashMap` whose `Drop` frees entries is not std's `HashMap` elsewhere in
/// the workspace).
#[derive(Default)]
struct PackageFacts {
    by_package: HashMap<Option<PathBuf>, CrateFacts>,
    none: CrateFacts,
}

impl PackageFacts {
    fn of(&self, file: &Path) -> &CrateFacts {
        self.by_package.get(&package_of(file)).unwrap_or(&self.none)
    }
}

/// The directory of the nearest `Cargo.toml` above a file, if any.
fn package_of(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// First pass: the types whose `Drop` deletes, per package. Only files that
/// mention `Drop` can contribute, so only those are parsed here.
fn gather_facts(files: &[PathBuf], vocabulary: &Vocabulary) -> PackageFacts {
    let found: Vec<(Option<PathBuf>, CrateFacts)> = files
        .par_iter()
        .filter_map(|path| {
            let text = read_source(path).ok()?;
            Some((package_of(path), facts_of(&text, vocabulary)?))
        })
        .collect();
    let mut facts = PackageFacts::default();
    for (package, file_facts) in found {
        facts
            .by_package
            .entry(package)
            .or_default()
            .merge(file_facts);
    }
    facts
}

/// The facts one file contributes, if it can contribute any.
fn facts_of(text: &str, vocabulary: &Vocabulary) -> Option<CrateFacts> {
    if !text.contains("Drop") {
        return None;
    }
    let facts = parse(text)
        .ok()
        .map(|file| CrateFacts::of_file(&file, vocabulary));
    forget_spans();
    facts
}

fn lint_one(path: &Path, options: &Options<'_>, level_of: fn(&RuleInfo) -> Level) -> FileResult {
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
    lint_text(shown, text, options, level_of)
}

/// Parses, checks and locates one file's text (already decoded).
fn lint_text(
    shown: String,
    text: String,
    options: &Options<'_>,
    level_of: fn(&RuleInfo) -> Level,
) -> FileResult {
    let file = match parse(&text) {
        Ok(file) => file,
        Err(problem) => {
            forget_spans();
            return FileResult::Failed(Problem {
                path: shown,
                ..problem
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
            level: level_of(f.rule),
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
        text: (!reports.is_empty()).then(|| Arc::from(text)),
        findings: reports,
    }
}

/// Lexes and parses a file's text, refusing a file nested too deeply to
/// parse without overflowing the stack (see [`limits`]).
fn parse(text: &str) -> Result<syn::File, Problem> {
    let located = |kind, message, at| Problem {
        path: String::new(),
        kind,
        message,
        position: Some(LineIndex::new(text).position(at)),
    };
    let unparsable = |error: syn::Error| {
        located(
            ProblemKind::Parse,
            parse_error_message(&error),
            error.span().start(),
        )
    };
    let tokens = limits::lex(text).map_err(|e| unparsable(e.into()))?;
    if let Some((excess, at)) = limits::nesting_estimate(&tokens).excess() {
        return Err(located(
            ProblemKind::Limit,
            format!("nested too deeply to parse safely: {excess}; not linted"),
            at,
        ));
    }
    syn::parse2(tokens).map_err(unparsable)
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
    let problem = |kind, message| Problem {
        path: String::new(),
        kind,
        message,
        position: None,
    };
    let io = |e: std::io::Error| problem(ProblemKind::Io, format!("cannot read: {e}"));
    let mut bytes = Vec::new();
    // Read one byte past the limit rather than trust metadata: the file may
    // grow between the two.
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(limits::MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(io)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(problem(
            ProblemKind::Limit,
            format!(
                "larger than {} MiB, far beyond hand-written source; not linted (exclude it with --exclude)",
                limits::MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    decode_source(bytes)
}

/// Rust source from a file's bytes: UTF-8, without its byte-order mark.
fn decode_source(bytes: Vec<u8>) -> Result<String, Problem> {
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

/// Lints one file's bytes held in memory exactly as [`analyze`] lints a file
/// read from disk (decode, crate facts from this file alone, parse, rules,
/// locate, sort), on one thread with a worker's stack. For fuzzing and
/// property tests: they drive the real pipeline without the file system.
pub fn analyze_source(path: &str, bytes: &[u8], settings: &Settings) -> Analysis {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(WORKER_STACK_BYTES)
            .spawn_scoped(scope, || analyze_source_here(path, bytes, settings))
            .expect("a worker thread starts")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn analyze_source_here(path: &str, bytes: &[u8], settings: &Settings) -> Analysis {
    let rules = enabled_rules(settings);
    let result = match decode_source(bytes.to_vec()) {
        Err(problem) => FileResult::Failed(Problem {
            path: path.to_string(),
            ..problem
        }),
        Ok(text) => {
            let facts = facts_of(&text, &settings.vocabulary).unwrap_or_default();
            let options = Options {
                rules: &rules,
                ..Options::new(&settings.vocabulary, &facts)
            };
            lint_text(path.to_string(), text, &options, settings.level_of)
        }
    };
    collect(vec![result])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            vocabulary: Vocabulary::default(),
            level_of: |rule| rule.default_level,
            jobs: 1,
        }
    }

    /// Each construct that makes syn, the rules or the destructor recurse,
    /// nested as deeply as the limit lets through, is linted without
    /// overflowing a worker's stack; one level more is reported.
    #[test]
    fn the_deepest_accepted_file_of_each_construct_is_linted() {
        type Construct = (&'static str, fn(usize) -> String);
        let constructs: [Construct; 14] = [
            ("parentheses", |n| {
                format!(
                    "fn delete_consumer() {{ let x = {}1{}; }}",
                    "(".repeat(n),
                    ")".repeat(n)
                )
            }),
            ("arrays", |n| {
                format!(
                    "fn delete_consumer() {{ let x = {}1{}; }}",
                    "[".repeat(n),
                    "]".repeat(n)
                )
            }),
            ("blocks", |n| {
                format!("fn delete_consumer() {}{}", "{".repeat(n), "}".repeat(n))
            }),
            ("modules", |n| {
                format!("{}{}", "mod m {".repeat(n), "}".repeat(n))
            }),
            ("negations", |n| {
                format!("fn delete_consumer() {{ let x = {}a; }}", "!".repeat(n))
            }),
            ("references", |n| {
                format!("fn delete_consumer() {{ let x = {}a; }}", "& ".repeat(n))
            }),
            ("closures", |n| {
                format!("fn delete_consumer() {{ let f = {}1; }}", "|| ".repeat(n))
            }),
            ("assignments", |n| {
                format!("fn delete_consumer() {{ {}1; }}", "a = ".repeat(n))
            }),
            ("generics", |n| {
                format!("type T = {}u8{};", "Vec<".repeat(n), ">".repeat(n))
            }),
            ("sums", |n| {
                format!("fn delete_consumer() {{ let x = a{}; }}", " + a".repeat(n))
            }),
            ("else-ifs", |n| {
                format!(
                    "fn delete_consumer() {{ if a {{}}{} }}",
                    " else if a {}".repeat(n)
                )
            }),
            ("method calls", |n| {
                format!("fn delete_consumer() {{ x{}; }}", ".a()?".repeat(n))
            }),
            ("casts", |n| {
                format!("fn delete_consumer() {{ x{}; }}", " as u8".repeat(n))
            }),
            ("returns", |n| {
                format!("fn delete_consumer() {{ {}1; }}", "return ".repeat(n))
            }),
        ];
        for (name, construct) in constructs {
            let fits = |n| {
                let tokens = limits::lex(&construct(n)).unwrap();
                let fits = limits::nesting_estimate(&tokens).excess().is_none();
                forget_spans();
                fits
            };
            let mut n = 1;
            while fits(n * 2) {
                n *= 2;
            }
            let mut step = n / 2;
            while step > 0 {
                if fits(n + step) {
                    n += step;
                }
                step /= 2;
            }
            let accepted = analyze_source("deep.rs", construct(n).as_bytes(), &settings());
            assert!(
                accepted.problems.is_empty(),
                "{name} x{n}: {:?}",
                accepted.problems
            );
            let refused = analyze_source("deep.rs", construct(n + 1).as_bytes(), &settings());
            assert_eq!(refused.problems.len(), 1, "{name} x{}", n + 1);
            assert_eq!(refused.problems[0].kind, ProblemKind::Limit, "{name}");
        }
    }

    #[test]
    fn limits_are_reported_with_where_and_why() {
        let deep = format!(
            "fn f() {{\n    let x = {}1{};\n}}\n",
            "(".repeat(4000),
            ")".repeat(4000)
        );
        let analysis = analyze_source("deep.rs", deep.as_bytes(), &settings());
        let problem = &analysis.problems[0];
        assert_eq!(problem.kind, ProblemKind::Limit);
        assert_eq!(problem.position.map(|at| at.line), Some(2));
        assert!(
            problem
                .message
                .starts_with("nested too deeply to parse safely"),
            "{}",
            problem.message
        );
    }
}
