//! `cargo lifecycle-lint`: files, configuration, line/column mapping and
//! rendering around the I/O-free engine.

mod analyze;
mod discover;
mod limits;
mod location;
mod render;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};

pub use analyze::{analyze_source, Analysis, Problem, ProblemKind, Report, Settings};
pub use location::{Position, Region};

use crate::{Level, RuleInfo, Vocabulary, RULES};

/// Finds consumer/lease lifecycle bugs in Rust: deletes deferred to every
/// exit path, timers that leak or restart, silent early returns that leave
/// ghosts, and assignments compared by pointer in one place and by value in
/// another. Parses with syn; never compiles or runs the linted code.
#[derive(Debug, Parser)]
#[command(name = "cargo-lifecycle-lint", bin_name = "cargo lifecycle-lint", version, about, long_about = None)]
struct Args {
    /// Files or directories to lint [default: the enclosing cargo workspace]
    paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Skip paths matching this glob (relative to the linted directory), e.g. 'tests/fixtures/**'. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,

    /// Exit with status 1 on warnings too, not only on deny-level findings
    #[arg(long)]
    deny_warnings: bool,

    /// Print a rule's documentation and exit
    #[arg(long, value_name = "RULE")]
    explain: Option<String>,

    /// List the rules with their default levels and exit
    #[arg(long)]
    list_rules: bool,

    /// Number of threads [default: the number of CPUs]
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,

    /// When to use colors in human output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// Do not print the summary line on stderr
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Reports with source snippets, labels and help (miette)
    Human,
    /// One line per finding: path:line:col: level[rule]: message
    Short,
    /// A stable JSON document (see the README for the schema)
    Json,
    /// SARIF 2.1.0, for code-scanning tools
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request)
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Exit status: 0 clean, 1 deny-level findings or unparsable files, 2 usage or I/O errors.
const EXIT_FINDINGS: u8 = 1;
const EXIT_TROUBLE: u8 = 2;

/// Runs the command line; `args` includes the program name. Handles being
/// called by cargo as `cargo-lifecycle-lint lifecycle-lint ...`.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "lifecycle-lint") {
        args.remove(1);
    }
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_TROUBLE } else { 0 });
        }
    };
    match execute(&args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_TROUBLE)
        }
    }
}

fn execute(args: &Args) -> Result<u8, String> {
    if args.list_rules {
        print!("{}", render::rule_list());
        return Ok(0);
    }
    if let Some(id) = &args.explain {
        let rule = crate::rules::rule(id)
            .ok_or_else(|| format!("unknown rule `{id}`; known rules: {}", rule_ids()))?;
        print!("{}", rule.info.explanation());
        return Ok(0);
    }

    let started = Instant::now();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let roots = if args.paths.is_empty() {
        vec![discover::workspace_root(&cwd).ok_or_else(|| {
            format!(
                "no Cargo.toml in {} or above it; pass the files or directories to lint",
                cwd.display()
            )
        })?]
    } else {
        args.paths.clone()
    };
    let exclude = discover::exclude_set(&args.exclude)?;
    let mut walk_errors = Vec::new();
    let files = discover::rust_files(&roots, &exclude, &mut walk_errors);
    let jobs = match args.jobs {
        Some(0) => return Err("--jobs must be at least 1".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let settings = analyze::Settings {
        vocabulary: Vocabulary::default(),
        level_of: default_level,
        jobs,
    };
    let mut analysis = analyze::analyze(&files, &settings)?;
    analysis
        .problems
        .extend(walk_errors.into_iter().map(|e| Problem {
            path: display_path(&e.path),
            kind: ProblemKind::Io,
            message: e.message,
            position: None,
        }));

    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let output = render::render(args.format, &analysis, color);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the report: {e}"))?;
    drop(stdout);
    if !args.quiet {
        eprintln!("{}", render::summary(&analysis, started.elapsed()));
    }

    let deny = analysis
        .findings
        .iter()
        .any(|f| f.level == Level::Deny || args.deny_warnings);
    let io_trouble = analysis.problems.iter().any(|p| p.kind == ProblemKind::Io);
    Ok(if io_trouble {
        EXIT_TROUBLE
    } else if deny || !analysis.problems.is_empty() {
        EXIT_FINDINGS
    } else {
        0
    })
}

/// Every rule at its default level (what runs without configuration).
pub fn default_level(rule: &RuleInfo) -> Level {
    rule.default_level
}

/// Renders an analysis in `format`, exactly as the command prints it.
pub fn render(format: Format, analysis: &Analysis, color: bool) -> String {
    render::render(format, analysis, color)
}

fn rule_ids() -> String {
    RULES
        .iter()
        .map(|r| r.info.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A path as shown to the user: relative to the current directory when it
/// lies below it, with `/` separators.
pub fn display_path(path: &Path) -> String {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let cwd = CWD.get_or_init(|| std::env::current_dir().ok());
    let relative = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let shown = relative.to_string_lossy().replace('\\', "/");
    shown
        .strip_prefix("./")
        .map(str::to_string)
        .unwrap_or(shown)
}
