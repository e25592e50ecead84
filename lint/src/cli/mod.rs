//! `cargo lifecycle-lint`: files, configuration, line/column mapping and
//! rendering around the I/O-free engine.

mod analyze;
mod apply;
mod baseline;
mod cache;
mod config;
mod discover;
mod fixes;
mod limits;
mod location;
mod outline;
mod progress;
mod render;
mod suppress;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

pub use analyze::{analyze_source, Analysis, Problem, ProblemKind, Report, Settings};
pub use config::Levels;
pub use fixes::{Replacement, Suggestion};
pub use location::{Position, Region};
pub use suppress::Suppressed;

use crate::{Level, RULES};

/// Finds consumer/lease lifecycle bugs in Rust: deletes deferred to every
/// exit path, timers that leak or restart, silent early returns that leave
/// ghosts, and assignments compared by pointer in one place and by value in
/// another. Parses with syn; never compiles or runs the linted code.
#[derive(Debug, Parser)]
#[command(name = "cargo-lifecycle-lint", bin_name = "cargo lifecycle-lint", version, about, long_about = None)]
struct Args {
    /// Files or directories to lint [default: the enclosing cargo workspace]
    paths: Vec<PathBuf>,

    /// Lint only this package of the workspace (by its name). Repeatable
    #[arg(
        short = 'p',
        long = "package",
        value_name = "SPEC",
        conflicts_with = "paths"
    )]
    packages: Vec<String>,

    /// Lint the whole workspace (the default when no paths are given)
    #[arg(long, conflicts_with_all = ["paths", "packages"])]
    workspace: bool,

    /// The Cargo.toml of the package or workspace to lint, instead of the one the current directory is in
    #[arg(long, value_name = "PATH", conflicts_with = "paths")]
    manifest_path: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Cargo's message formats: `json` prints one cargo-compatible JSON message
    /// per finding (for rust-analyzer and other tools that read `cargo check`)
    #[arg(long, value_enum, value_name = "FMT", conflicts_with = "format")]
    message_format: Option<MessageFormat>,

    /// Read the configuration from FILE (a lifecycle-lint.toml, or a Cargo.toml
    /// with [package|workspace.metadata.lifecycle-lint]) instead of the nearest one
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Print the effective configuration, with where each value comes from, and exit
    #[arg(long)]
    print_config: bool,

    /// Turn a rule or group (lifecycle, nursery, meta, all) off. Repeatable; with -W and -D, the last flag for a rule wins
    #[arg(short = 'A', long = "allow", value_name = "RULE|GROUP")]
    allow: Vec<String>,

    /// Report a rule or group as a warning (`-W nursery` opts in to the nursery). Repeatable
    #[arg(short = 'W', long = "warn", value_name = "RULE|GROUP")]
    warn: Vec<String>,

    /// Report a rule or group as an error (exit status 1). Repeatable; `-D warnings` is --deny-warnings
    #[arg(short = 'D', long = "deny", value_name = "RULE|GROUP")]
    deny: Vec<String>,

    /// Report only the findings not recorded in this baseline file
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,

    /// Record the current findings in this baseline file (and report none of them)
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,

    /// Skip paths matching this glob (relative to the linted directory), e.g. 'tests/fixtures/**'. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,

    /// Report warnings as errors (and exit with status 1 on them), as rustc's `-D warnings`
    #[arg(long)]
    deny_warnings: bool,

    /// Exit with status 0 even when there are deny-level findings (problems with files or arguments still fail)
    #[arg(long)]
    exit_zero: bool,

    /// After the report, print how many findings each rule has (on stdout; with --format json/sarif, on stderr)
    #[arg(long)]
    statistics: bool,

    /// Apply the fixes that are certainly right (machine-applicable) to the
    /// linted files, then lint again and report what remains
    #[arg(long, conflicts_with_all = ["diff", "write_baseline", "print_config"])]
    fix: bool,

    /// With --fix or --diff: also apply the fixes that may change what the
    /// code does and need a review (maybe-incorrect); never those with placeholders
    #[arg(long)]
    unsafe_fixes: bool,

    /// Print a unified diff of what --fix would change and write nothing;
    /// exit with status 1 when there is something to fix
    #[arg(long, conflicts_with_all = ["write_baseline", "print_config"])]
    diff: bool,

    /// Print a rule's documentation (or a group's rules) and exit
    #[arg(long, value_name = "RULE|GROUP")]
    explain: Option<String>,

    /// List the rules with their groups and default levels, and the groups, and exit
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

    /// Do not read or write the result cache (target/lifecycle-lint/)
    #[arg(long)]
    no_cache: bool,

    /// Parse every file whole, so syntax errors are reported even in files,
    /// and items of files, that hold nothing any rule looks for (those are
    /// skipped unparsed by default); the findings are the same
    #[arg(long)]
    parse_all: bool,

    /// -A/-W/-D in the order given (clap keeps one list per flag).
    #[arg(skip)]
    level_flags: Vec<(Level, String)>,
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
    /// Cargo's JSON messages (chosen with `--message-format json`)
    #[value(skip)]
    Cargo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    /// As `--format human`
    Human,
    /// As `--format short`
    Short,
    /// One cargo `compiler-message` per finding, then `build-finished`
    Json,
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
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_TROUBLE } else { 0 });
        }
    };
    match execute(&args) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Message(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_TROUBLE)
        }
        Err(Failure::Config(error)) => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            eprint!("{}", render::diagnostic(&error, color));
            ExitCode::from(EXIT_TROUBLE)
        }
    }
}

fn parse_args(args: Vec<OsString>) -> Result<Args, clap::Error> {
    let matches = Args::command().try_get_matches_from(args)?;
    let mut args = Args::from_arg_matches(&matches)?;
    let mut flags = Vec::new();
    for (id, level) in [
        ("allow", Level::Allow),
        ("warn", Level::Warn),
        ("deny", Level::Deny),
    ] {
        if let (Some(at), Some(values)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            flags.extend(at.zip(values).map(|(i, v)| (i, level, v.clone())));
        }
    }
    flags.sort_by_key(|(i, _, _)| *i);
    args.level_flags = flags.into_iter().map(|(_, l, v)| (l, v)).collect();
    Ok(args)
}

/// Why the command could not do its job (exit status 2).
enum Failure {
    Message(String),
    /// A configuration that cannot be used, shown with its TOML snippet.
    Config(config::ConfigError),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Message(message)
    }
}

impl From<config::ConfigError> for Failure {
    fn from(error: config::ConfigError) -> Failure {
        Failure::Config(error)
    }
}

/// The command-line levels, checked against the rules.
fn level_overrides(args: &Args) -> Result<(config::Overrides, bool), Failure> {
    let mut overrides = config::Overrides::default();
    let mut deny_warnings = args.deny_warnings;
    for (level, id) in &args.level_flags {
        let flag = format!("-{} {id}", level.as_str()[..1].to_uppercase());
        if *level == Level::Deny && id == "warnings" {
            deny_warnings = true;
            continue;
        }
        let selection =
            crate::rules::select(id).ok_or_else(|| unknown_name(id, &format!(" in `{flag}`")))?;
        for rule in selection.rules() {
            overrides.0.push((rule.info, *level, flag.clone()));
        }
    }
    Ok((overrides, deny_warnings))
}

fn execute(args: &Args) -> Result<u8, Failure> {
    if args.list_rules {
        print!("{}", render::rule_list());
        return Ok(0);
    }
    if let Some(id) = &args.explain {
        match crate::rules::select(id).ok_or_else(|| unknown_name(id, ""))? {
            crate::rules::Selection::Rule(rule) => {
                print!(
                    "{}\n{}",
                    rule.info.explanation(),
                    fixes::explanation(rule.info)
                )
            }
            crate::rules::Selection::Group(group) => print!("{}", render::group_explanation(group)),
            crate::rules::Selection::All => print!("{}", render::rule_list()),
        }
        return Ok(0);
    }

    let started = Instant::now();
    if args.unsafe_fixes && !(args.fix || args.diff) {
        return Err(Failure::Message(
            "--unsafe-fixes only chooses which fixes --fix applies or --diff shows; add one of them"
                .into(),
        ));
    }
    let Some(mut run) = lint(args)? else {
        return Ok(0);
    };
    let choice = apply::Choice {
        unsafe_fixes: args.unsafe_fixes,
    };
    if args.diff {
        return show_diff(args, &run.analysis, choice);
    }
    if args.fix {
        let plan = apply::plan(&run.analysis, choice);
        let applied = apply::apply(&plan, &run.linted, &run.roots, &run.cwd);
        for why in &applied.refused {
            eprintln!("error: {why}");
        }
        if !args.quiet {
            eprintln!("{}", fix_summary(&plan, Some(&applied)));
        }
        if applied.files > 0 {
            // What remains, as the files now are.
            run = lint(args)?.expect("--fix excludes --print-config");
        }
        if !applied.refused.is_empty() {
            // The report of what remains, and a failed run: a file the
            // user asked to fix was not written.
            print_report(args, &run, started)?;
            return Ok(EXIT_TROUBLE);
        }
    }
    print_report(args, &run, started)
}

/// `--diff`: the unified diff on stdout, the count on stderr; status 1 when
/// there is something to fix.
fn show_diff(args: &Args, analysis: &Analysis, choice: apply::Choice) -> Result<u8, Failure> {
    let plan = apply::plan(analysis, choice);
    let diff = apply::diff(&plan).map_err(|refused| Failure::Message(refused.join("\nerror: ")))?;
    print!("{diff}");
    if !args.quiet {
        eprintln!("{}", fix_summary(&plan, None));
    }
    Ok(if plan.findings() > 0 {
        EXIT_FINDINGS
    } else {
        0
    })
}

/// "fixed 3 findings in 2 files" (`applied`: what `--fix` wrote), or for
/// `--diff` (`None`) "would fix ...", with what was left and why.
fn fix_summary(plan: &apply::Plan, applied: Option<&apply::Applied>) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut line = match applied {
        Some(applied) => format!(
            "lifecycle-lint: fixed {} in {}",
            plural(applied.findings, "finding"),
            plural(applied.files, "file")
        ),
        None if plan.findings() > 0 => format!(
            "lifecycle-lint: would fix {} in {}",
            plural(plan.findings(), "finding"),
            plural(plan.files.len(), "file")
        ),
        None => "lifecycle-lint: nothing to fix".to_string(),
    };
    if let Some(applied) = applied.filter(|a| !a.refused.is_empty()) {
        line.push_str(&format!(
            "; {} not written (see above)",
            plural(applied.refused.len(), "file")
        ));
    }
    if plan.overlapping > 0 {
        line.push_str(&format!(
            "; {} overlapping another fix (run again)",
            plural(plan.overlapping, "fix")
        ));
    }
    if plan.unsafe_left > 0 {
        line.push_str(&format!(
            "; {} more with --unsafe-fixes (review them)",
            plural(plan.unsafe_left, "fix")
        ));
    }
    line
}

/// Prints the report of a run and returns the exit status.
fn print_report(args: &Args, run: &Linted, started: Instant) -> Result<u8, Failure> {
    let analysis = &run.analysis;
    let baseline_note = &run.baseline_note;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let format = match args.message_format {
        Some(MessageFormat::Json) => Format::Cargo,
        Some(MessageFormat::Short) => Format::Short,
        Some(MessageFormat::Human) => Format::Human,
        None => args.format,
    };
    let output = render::render(format, analysis, color);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the report: {e}"))?;
    drop(stdout);
    if args.statistics {
        let table = render::statistics(analysis);
        if matches!(format, Format::Json | Format::Sarif | Format::Cargo) {
            eprint!("{table}");
        } else {
            print!("{table}");
        }
    }
    if !args.quiet {
        eprintln!(
            "{}{baseline_note}",
            render::summary(analysis, started.elapsed())
        );
    }

    let deny = !args.exit_zero && analysis.findings.iter().any(|f| f.level == Level::Deny);
    let io_trouble = analysis.problems.iter().any(|p| p.kind == ProblemKind::Io);
    Ok(if io_trouble {
        EXIT_TROUBLE
    } else if deny || !analysis.problems.is_empty() {
        EXIT_FINDINGS
    } else {
        0
    })
}

/// One lint of the selected files: the analysis after suppressions, the
/// baseline and `-D warnings`; `None` when `--print-config` printed instead.
fn lint(args: &Args) -> Result<Option<Linted>, Failure> {
    let (overrides, deny_warnings) = level_overrides(args)?;
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let start = match &args.manifest_path {
        Some(manifest) => {
            let start = manifest_dir(&cwd, manifest)?;
            if let Some(root) = discover::workspace_root(&start) {
                set_display_base(root);
            }
            start
        }
        None => cwd.clone(),
    };
    let mut resolver = config::Resolver::new(overrides, args.config.as_deref(), &cwd)?;
    let roots = if !args.paths.is_empty() {
        args.paths.clone()
    } else {
        let root = discover::workspace_root(&start).ok_or_else(|| {
            format!(
                "no Cargo.toml in {} or above it; pass the files or directories to lint",
                start.display()
            )
        })?;
        if args.packages.is_empty() {
            // As cargo: a member's own manifest selects that member, a
            // workspace's (or no --manifest-path) the whole workspace.
            let member = args.manifest_path.is_some() && !args.workspace;
            vec![if member { start.clone() } else { root }]
        } else {
            package_dirs(&root, &args.packages)?
        }
    };
    let jobs = match args.jobs {
        Some(0) => return Err(Failure::Message("--jobs must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let exclude = discover::exclude_set(&args.exclude)?;
    let mut walk_errors = Vec::new();
    let files = discover::rust_files(&roots, &exclude, jobs, &mut walk_errors);
    let named_files: std::collections::HashSet<PathBuf> =
        roots.iter().filter(|r| r.is_file()).cloned().collect();
    let groups = config::plan(&roots, files, &mut resolver, &cwd)?;
    if args.print_config {
        print!(
            "{}",
            describe_configs(&groups, &roots, &mut resolver, &cwd)?
        );
        return Ok(None);
    }
    // Groups whose configurations lint alike share one run (and its crate facts).
    let mut runs: Vec<(&config::Config, Vec<PathBuf>)> = Vec::new();
    for group in &groups {
        match runs.iter_mut().find(|(c, _)| c.lints_like(&group.config)) {
            Some((_, files)) => files.extend(group.files.iter().cloned()),
            None => runs.push((&group.config, group.files.clone())),
        }
    }
    let cache_dir = if args.no_cache {
        None
    } else {
        cache::directory(discover::workspace_root(&cwd).as_deref())
    };
    let mut analysis = Analysis::default();
    for (config, mut files) in runs {
        files.sort();
        let settings = analyze::Settings {
            vocabulary: config.vocabulary.clone(),
            levels: config.levels.clone(),
            jobs,
            prefilter: true,
            parse_all: args.parse_all,
            named_files: named_files.clone(),
            cache_dir: cache_dir.clone(),
            progress: progress::wanted() && !args.quiet,
        };
        let mut part = analyze::analyze(&files, &settings)?;
        suppress::apply(&mut part, &settings.levels);
        analysis.merge(part);
    }
    if let Some(warning) = &analysis.cache_warning {
        eprintln!("warning: {warning}; continuing without a cache");
    }
    analysis
        .problems
        .extend(walk_errors.into_iter().map(|e| Problem {
            path: display_path(&e.path),
            kind: ProblemKind::Io,
            message: e.message,
            position: None,
        }));
    let linted: Vec<PathBuf> = groups.into_iter().flat_map(|g| g.files).collect();
    let baseline_note = compare_with_baseline(args, &mut analysis, &linted, &cwd)?;
    if deny_warnings {
        // As rustc and clippy print them under `-D warnings`: as errors.
        for finding in &mut analysis.findings {
            if finding.level == Level::Warn {
                finding.level = Level::Deny;
            }
        }
    }

    Ok(Some(Linted {
        analysis,
        baseline_note,
        linted,
        roots,
        cwd,
    }))
}

/// What [`lint`] found, with what `--fix` needs to write safely.
struct Linted {
    analysis: Analysis,
    baseline_note: String,
    /// The files linted.
    linted: Vec<PathBuf>,
    /// What was asked to be linted (directories or files).
    roots: Vec<PathBuf>,
    cwd: PathBuf,
}

/// `--write-baseline` / `--baseline`: drops the recorded findings from the
/// analysis, prints the fixed entries, and returns a note for the summary.
fn compare_with_baseline(
    args: &Args,
    analysis: &mut Analysis,
    linted: &[PathBuf],
    cwd: &Path,
) -> Result<String, Failure> {
    let file = match (&args.write_baseline, &args.baseline) {
        (Some(file), _) => {
            let (recorded, outside) = baseline::write(file, analysis, cwd)?;
            eprintln!(
                "lifecycle-lint: wrote {recorded} finding{} to {}",
                if recorded == 1 { "" } else { "s" },
                display_path(file)
            );
            if outside > 0 {
                eprintln!(
                    "lifecycle-lint: {outside} finding{} outside {} not recorded (paths in a baseline stay below its directory)",
                    if outside == 1 { "" } else { "s" },
                    display_path(file.parent().unwrap_or(Path::new(".")))
                );
            }
            file
        }
        (None, Some(file)) => file,
        (None, None) => return Ok(String::new()),
    };
    let entries = baseline::read(file)?;
    let outcome = baseline::apply(analysis, &entries, file, linted, cwd);
    if !outcome.fixed.is_empty() {
        eprint!("{}", baseline::describe_fixed(&outcome));
    }
    Ok(format!(
        " ({} in the baseline{})",
        outcome.known,
        if outcome.fixed.is_empty() {
            String::new()
        } else {
            format!(", {} fixed", outcome.fixed.len())
        }
    ))
}

/// `--print-config`: each configuration in use, with how many files it covers.
fn describe_configs(
    groups: &[config::Group],
    roots: &[PathBuf],
    resolver: &mut config::Resolver,
    cwd: &Path,
) -> Result<String, Failure> {
    if groups.is_empty() {
        let root = config::absolute(cwd, roots.first().map_or(Path::new("."), |r| r));
        let dir = if root.is_dir() {
            root.as_path()
        } else {
            root.parent().unwrap_or(Path::new("/"))
        };
        return Ok(resolver.for_dir(dir)?.describe());
    }
    let mut out = String::new();
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let n = group.files.len();
        out.push_str(&format!(
            "# for {n} file{} ({} ...)\n",
            if n == 1 { "" } else { "s" },
            display_path(&group.files[0])
        ));
        out.push_str(&group.config.describe());
    }
    Ok(out)
}

/// `text` with the edits of `suggestions` applied, as `--fix` applies them
/// (back to front); `None` when two edits overlap.
pub fn apply_suggestions<'s>(
    text: &str,
    suggestions: impl IntoIterator<Item = &'s Suggestion>,
) -> Option<String> {
    fixes::apply(text, suggestions.into_iter().flat_map(|s| s.edits.iter()))
}

/// Renders an analysis in `format`, exactly as the command prints it.
pub fn render(format: Format, analysis: &Analysis, color: bool) -> String {
    render::render(format, analysis, color)
}

/// The directory of `--manifest-path`'s Cargo.toml, checked as cargo does.
fn manifest_dir(cwd: &Path, manifest: &Path) -> Result<PathBuf, String> {
    let path = config::absolute(cwd, manifest);
    if path.file_name().is_none_or(|n| n != "Cargo.toml") {
        return Err(format!(
            "--manifest-path {}: the manifest path must be a path to a Cargo.toml file",
            manifest.display()
        ));
    }
    if !path.is_file() {
        return Err(format!(
            "--manifest-path {}: no such file",
            manifest.display()
        ));
    }
    Ok(path.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// The directories of the packages `-p` names, among the workspace's members.
fn package_dirs(root: &Path, names: &[String]) -> Result<Vec<PathBuf>, String> {
    let members = discover::workspace_members(root);
    names
        .iter()
        .map(|name| {
            let wanted = name.split('@').next().unwrap_or(name);
            if let Some((_, dir)) = members.iter().find(|(n, _)| n == wanted) {
                return Ok(dir.clone());
            }
            let known: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
            let meant = known
                .iter()
                .find(|k| k.replace('-', "_") == wanted.replace('-', "_"))
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            Err(format!(
                "package `{name}` is not a member of the workspace at {}{meant} (members: {})",
                root.display(),
                known.join(", ")
            ))
        })
        .collect()
}

/// "unknown rule `x`{place}", with the name that was probably meant, else
/// the list of names.
fn unknown_name(name: &str, place: &str) -> String {
    format!("unknown rule or group `{name}`{place}; {}", name_help(name))
}

/// "did you mean `x`?" for a name close to a known one, else the known
/// rules and groups.
fn name_help(name: &str) -> String {
    match crate::rules::suggestion(name) {
        Some(meant) => format!("did you mean `{meant}`?"),
        None => format!(
            "known rules: {}; groups: {}, all",
            rule_ids(),
            group_names()
        ),
    }
}

fn group_names() -> String {
    crate::rules::Group::ALL
        .map(crate::rules::Group::name)
        .join(", ")
}

fn rule_ids() -> String {
    RULES
        .iter()
        .map(|r| r.info.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `.rs` files the command would lint under `dir` (no excludes), sorted:
/// for tools that must see the same corpus, like the benchmark's parse floor.
pub fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut errors = Vec::new();
    let none = discover::exclude_set(&[]).expect("the empty glob set builds");
    discover::rust_files(&[dir.to_path_buf()], &none, 1, &mut errors)
}

static DISPLAY_BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Shows paths relative to `root` instead (`--manifest-path` names another
/// workspace); only before the first path is shown.
fn set_display_base(root: PathBuf) {
    let _ = DISPLAY_BASE.set(root);
}

/// The directory that shown paths are relative to: the root of the cargo
/// workspace (or lone package) the current directory is in, else the
/// current directory. Run from `src/rpc`, a finding still reads
/// `src/rpc/x.rs`, as cargo and rustc print it, so that CI annotations, the
/// cache and the baseline see one name per file.
pub fn display_base() -> &'static Path {
    DISPLAY_BASE.get_or_init(|| {
        let cwd = std::env::current_dir().unwrap_or_default();
        discover::workspace_root(&cwd).unwrap_or(cwd)
    })
}

/// A path as shown to the user: relative to [`display_base`] when it lies
/// below it (else absolute), with `/` separators.
pub fn display_path(path: &Path) -> String {
    static CWD: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let base = display_base();
    let absolute;
    let path = if path.is_relative() {
        absolute = CWD
            .get_or_init(|| std::env::current_dir().unwrap_or_default())
            .join(path);
        absolute.as_path()
    } else {
        path
    };
    let path = config::absolute(Path::new("/"), path);
    let relative = path.strip_prefix(base).unwrap_or(&path);
    let shown = relative.to_string_lossy().replace('\\', "/");
    if shown.is_empty() {
        return ".".to_string();
    }
    shown
}
