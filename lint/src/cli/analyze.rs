//! The pipeline: scan (hash, crate facts) → pre-filter → parse → rules → locate.
//!
//! Files are processed on a rayon pool in two passes. The first reads every
//! file once to hash it and, for files that mention `Drop`, gathers the
//! crate facts (from the cache when the content is unchanged). The second
//! lints each file: from the cache when its content, the settings and the
//! crate facts are unchanged; otherwise the pre-filter decides which rules
//! the file can need, and a file that needs none is not parsed at all.
//!
//! `proc_macro2::Span` is not `Send`, so each worker maps spans to positions
//! before handing results back, and clears proc-macro2's per-thread source
//! map after every file so memory stays bounded by one file's tree per thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cache::{self, Cache, CachedFinding, CachedResult, Entry, FileStamp};
use super::config::Levels;
use super::discover;
use super::limits;
use super::location::{LineIndex, Position, Region};
use super::progress::Progress;
use super::suppress::{self, Suppressed};
use crate::facts::DeletingDrop;
use crate::items;
use crate::prefilter::{Prefilter, RuleSet};
use crate::rules::{rule, unparsable_file};
use crate::{check_file, CrateFacts, Level, Options, Rule, RuleInfo, Vocabulary, RULES};

/// Worker threads get a big stack: syn, the rules and the tree's destructor
/// recurse once per nesting level, up to `limits::MAX_NESTING` levels. Only
/// the pages a thread touches are allocated.
const WORKER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// One finding, located in its file.
#[derive(Debug, Clone)]
pub struct Report {
    /// The path as shown to the user (relative to the workspace root, see
    /// `display_base`, when it lies below it).
    pub path: String,
    pub rule: &'static RuleInfo,
    pub level: Level,
    pub region: Region,
    pub message: String,
    pub labels: Vec<(Region, String)>,
    pub help: String,
    /// Rewrites of the code offered with it (see `fixes`).
    pub fixes: Vec<super::fixes::Suggestion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    pub levels: Levels,
    pub jobs: usize,
    /// Skip files, items and rules that cannot match; off only to verify
    /// it (every rule then runs over every whole file).
    pub prefilter: bool,
    /// Parse every file whole, so a syntax error anywhere is reported
    /// (`--parse-all`); the pre-filter still picks the rules each file runs.
    pub parse_all: bool,
    /// Files named on the command line: always parsed, whatever the
    /// pre-filter says, so a syntax error in one is never silently skipped.
    pub named_files: HashSet<PathBuf>,
    /// Where to keep the result cache, if anywhere.
    pub cache_dir: Option<PathBuf>,
    /// Show a progress bar (a terminal, and not CI).
    pub progress: bool,
}

impl Settings {
    /// Everything besides file contents that findings depend on.
    fn digest(&self, rules: &[Rule]) -> String {
        let levels: Vec<String> = RULES
            .iter()
            .map(|r| format!("{}={}", r.info.id, self.levels.of(r.info)))
            .collect();
        let words: Vec<&str> = crate::vocabulary::Word::ALL
            .iter()
            .map(|w| self.vocabulary.pattern(*w))
            .collect();
        let rules: Vec<&str> = rules.iter().map(|r| r.info.id).collect();
        format!(
            "{levels:?}|{words:?}|{rules:?}|prefilter={}|parse_all={}",
            self.prefilter, self.parse_all
        )
    }
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub files_checked: usize,
    /// Files the pre-filter found no rule for, so they were not parsed.
    pub files_skipped: usize,
    /// Files whose result came from the cache.
    pub files_cached: usize,
    pub findings: Vec<Report>,
    pub problems: Vec<Problem>,
    /// The text of every file with a finding or a suppression comment, for
    /// renderers that show snippets and for the suppression step.
    pub sources: BTreeMap<String, Arc<str>>,
    /// Findings that suppression comments silenced (filled by `suppress::apply`).
    pub suppressed: Vec<Suppressed>,
    /// Why the cache could not be written, if it could not.
    pub cache_warning: Option<String>,
}

impl Analysis {
    /// Adds the results of another run over other files.
    pub fn merge(&mut self, other: Analysis) {
        self.files_checked += other.files_checked;
        self.files_skipped += other.files_skipped;
        self.files_cached += other.files_cached;
        self.findings.extend(other.findings);
        self.problems.extend(other.problems);
        self.sources.extend(other.sources);
        self.suppressed.extend(other.suppressed);
        self.cache_warning = self.cache_warning.take().or(other.cache_warning);
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

/// The first pass's view of one file.
struct Scan {
    shown: String,
    /// `None` when the file could not be read (the second pass reports it).
    hash: Option<u64>,
    /// Its stamp, to record when it had settled (see `cache`).
    stamp: Option<FileStamp>,
    facts: Vec<(String, String)>,
    /// It holds a suppression comment: keep its text for the suppression step.
    has_marker: bool,
}

/// The second pass's result for one file.
struct Linted {
    result: CachedResult,
    /// Parsed or not (the pre-filter found no rule for it).
    parsed: bool,
    from_cache: bool,
    text: Option<Arc<str>>,
}

impl Linted {
    /// A file that could not be linted.
    fn problem((kind, message, position): FileProblem) -> Linted {
        Linted {
            result: CachedResult::Problem {
                kind,
                message,
                position,
            },
            parsed: true,
            from_cache: false,
            text: None,
        }
    }
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
    let key = cache::key(&settings.digest(&rules));
    let started = SystemTime::now();
    let old = match &settings.cache_dir {
        Some(dir) => cache::load(dir, &key),
        None => Cache::default(),
    };
    let progress = Progress::new(settings.progress, files.len() as u64 * 2);

    pool.install(|| {
        let facts_filter = Prefilter::for_needs(
            &[CrateFacts::NEEDS],
            &settings.vocabulary,
            &CrateFacts::default(),
        );
        // One job per file (`with_max_len(1)`): rayon's default leaves are
        // runs of hundreds of files, and a run of heavy ones (a bindings
        // crate) left one core working alone for the last seconds.
        let scans: Vec<Scan> = files
            .par_iter()
            .with_max_len(1)
            .map(|path| {
                let scan = scan(path, &old, started, &settings.vocabulary, &facts_filter);
                progress.tick();
                scan
            })
            .collect();
        // Facts are per crate: linting a vendored tree of many crates, one
        // crate's `impl Drop for HashMap` must not make another's `HashMap`
        // a deleting guard. Within a cargo workspace, each member also gets
        // the other members' types, by crate name (see `crate::facts`). The
        // pre-filter gets the union (a superset only parses more, never
        // less), each file its own crate's facts.
        let packages = package_of_each(files);
        let mut facts_by_package: HashMap<&Path, CrateFacts> = HashMap::new();
        let mut all_facts = CrateFacts::default();
        for (scan, package) in scans.iter().zip(&packages) {
            for (type_name, delete_call) in &scan.facts {
                let drop = DeletingDrop {
                    delete_call: delete_call.clone(),
                };
                all_facts.insert_deleting_drop(type_name.clone(), drop.clone());
                facts_by_package
                    .entry(package.as_path())
                    .or_default()
                    .insert_deleting_drop(type_name.clone(), drop);
            }
        }
        add_workspace_facts(&packages, &mut facts_by_package);
        let mut described: Vec<String> = facts_by_package
            .iter()
            .map(|(package, facts)| format!("{}:{:?}", package.display(), facts))
            .collect();
        described.sort();
        let facts_digest = cache::content_hash(described.join("\n").as_bytes());
        let results_usable = old.facts_digest == facts_digest;
        let prefilter = settings
            .prefilter
            .then(|| Prefilter::new(&rules, &settings.vocabulary, &all_facts));
        let no_facts = CrateFacts::default();
        let linted: Vec<Linted> = files
            .par_iter()
            .zip(&scans)
            .zip(&packages)
            .with_max_len(1)
            .map(|((path, scan), package)| {
                // A named file is always parsed; its cached result may come
                // from a run where the pre-filter skipped it.
                let named = settings.named_files.contains(path);
                let cached = scan
                    .hash
                    .filter(|_| results_usable && !named)
                    .and_then(|hash| old.files.get(&scan.shown).filter(|e| e.hash == hash))
                    .and_then(|e| e.result.clone());
                let linted = match cached {
                    Some(result) => Linted {
                        // Without its byte-order mark, as the regions were
                        // computed (and as `--fix` applies them).
                        text: (needs_text(&result) || scan.has_marker)
                            .then(|| std::fs::read_to_string(path).ok())
                            .flatten()
                            .map(|t| Arc::from(t.strip_prefix('\u{feff}').unwrap_or(&t))),
                        result,
                        parsed: true,
                        from_cache: true,
                    },
                    None => {
                        let facts = facts_by_package.get(package.as_path()).unwrap_or(&no_facts);
                        let options = Options {
                            rules: &rules,
                            ..Options::new(&settings.vocabulary, facts)
                        };
                        let prefilter = prefilter.as_ref().filter(|_| !named);
                        lint_one(path, &options, prefilter, settings.parse_all)
                    }
                };
                progress.tick();
                linted
            })
            .collect();
        progress.finish();

        let mut analysis = Analysis::default();
        let mut new = Cache::new(key.clone(), facts_digest);
        for (scan, linted) in scans.into_iter().zip(linted) {
            collect(&mut analysis, &scan.shown, &linted, &settings.levels);
            if let Some(hash) = scan.hash {
                let result = (!matches!(
                    &linted.result,
                    CachedResult::Problem {
                        kind: ProblemKind::Io,
                        ..
                    }
                ))
                .then_some(linted.result);
                new.files.insert(
                    scan.shown,
                    Entry {
                        hash,
                        stamp: scan.stamp,
                        has_marker: scan.has_marker,
                        facts: scan.facts,
                        result,
                    },
                );
            }
        }
        analysis.sort();
        if let Some(dir) = &settings.cache_dir {
            analysis.cache_warning = cache::save(dir, &new).err();
        }
        Ok(analysis)
    })
}

/// For each file, the directory of the nearest enclosing `Cargo.toml` (its
/// crate), or its own directory outside any crate.
fn package_of_each(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut by_dir: HashMap<PathBuf, PathBuf> = HashMap::new();
    files
        .iter()
        .map(|file| {
            let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
            if let Some(package) = by_dir.get(&dir) {
                return package.clone();
            }
            let package = dir
                .ancestors()
                .find(|d| d.join("Cargo.toml").is_file())
                .unwrap_or(&dir)
                .to_path_buf();
            by_dir.insert(dir, package.clone());
            package
        })
        .collect()
}

/// What a package's manifest says: its crate's name (as code writes it) and
/// the workspace it is a member of.
struct PackageInfo {
    krate: Option<String>,
    workspace: Option<PathBuf>,
}

/// Gives each package the deleting types of the other members of its cargo
/// workspace, found from the manifests (`[workspace] members` and `exclude`
/// globs; cargo is never run). Packages that are not members of one workspace
/// keep their own facts only.
fn add_workspace_facts<'p>(
    packages: &'p [PathBuf],
    facts_by_package: &mut HashMap<&'p Path, CrateFacts>,
) {
    let distinct: HashSet<&Path> = packages.iter().map(PathBuf::as_path).collect();
    let mut infos: BTreeMap<&Path, PackageInfo> = BTreeMap::new();
    for package in distinct {
        let Some(own) = discover::manifest(package) else {
            continue;
        };
        let krate = own
            .lib_name
            .as_ref()
            .or(own.package_name.as_ref())
            .map(|n| n.replace('-', "_"));
        // Cargo's rule: the nearest manifest above with `[workspace]` is the
        // workspace, and it must list the package.
        let workspace = package
            .ancestors()
            .find_map(|dir| Some((dir, discover::manifest(dir)?.workspace.clone()?)))
            .filter(|(root, workspace)| discover::is_member(root, workspace, package))
            .map(|(root, _)| root.to_path_buf());
        infos.insert(package, PackageInfo { krate, workspace });
    }
    let mut foreign: Vec<(&Path, String, String, DeletingDrop)> = Vec::new();
    for (package, info) in &infos {
        let Some(workspace) = &info.workspace else {
            continue;
        };
        for (other, other_info) in &infos {
            if other == package || other_info.workspace.as_ref() != Some(workspace) {
                continue;
            }
            let (Some(krate), Some(facts)) = (&other_info.krate, facts_by_package.get(other))
            else {
                continue;
            };
            for (type_name, drop) in facts.deleting_drops() {
                foreign.push((package, type_name.to_string(), krate.clone(), drop.clone()));
            }
        }
    }
    for (package, type_name, krate, drop) in foreign {
        facts_by_package
            .entry(package)
            .or_default()
            .insert_foreign_deleting_drop(type_name, krate, drop);
    }
}

/// Adds one file's result to the analysis.
fn collect(analysis: &mut Analysis, shown: &str, linted: &Linted, levels: &Levels) {
    match &linted.result {
        CachedResult::Findings(findings) => {
            analysis.files_checked += 1;
            analysis.files_skipped += usize::from(!linted.parsed);
            analysis.files_cached += usize::from(linted.from_cache);
            for f in findings {
                let Some(rule) = rule(&f.rule) else { continue };
                analysis.findings.push(Report {
                    path: shown.to_string(),
                    rule: rule.info,
                    level: levels.of(rule.info),
                    region: f.region,
                    message: f.message.clone(),
                    labels: f.labels.clone(),
                    help: f.help.clone(),
                    fixes: f.fixes.clone(),
                });
            }
            if let Some(text) = &linted.text {
                analysis.sources.insert(shown.to_string(), text.clone());
            }
        }
        CachedResult::Problem {
            kind: kind @ (ProblemKind::Parse | ProblemKind::Encoding),
            message,
            position,
        } => {
            // Not a failed run: a finding of `unparsable_file`, at its level.
            analysis.files_checked += 1;
            let rule = &unparsable_file::INFO;
            let level = levels.of(rule);
            if level == Level::Allow {
                return;
            }
            let at = position.unwrap_or(Position {
                line: 1,
                column: 1,
                offset: 0,
            });
            let region = error_region(linted.text.as_deref(), at);
            let help = match kind {
                ProblemKind::Encoding => "save the file as UTF-8, or exclude it (`exclude = [..]` in the configuration) if it is not Rust source",
                _ => "fix the syntax, or exclude the file (`exclude = [..]` in the configuration) if it is not meant to be Rust 2018+ source; nothing in it was checked",
            };
            analysis.findings.push(Report {
                path: shown.to_string(),
                rule,
                level,
                region,
                message: format!("{message}; this file was not linted"),
                labels: Vec::new(),
                help: help.to_string(),
                fixes: Vec::new(),
            });
            if let Some(text) = &linted.text {
                analysis.sources.insert(shown.to_string(), text.clone());
            }
        }
        CachedResult::Problem {
            kind,
            message,
            position,
        } => analysis.problems.push(Problem {
            path: shown.to_string(),
            kind: *kind,
            message: message.clone(),
            position: *position,
        }),
    }
}

/// The region a parse error is drawn at: the character at its position (the
/// last one when the error is at the end of the file), so that every
/// renderer has a character to underline.
fn error_region(text: Option<&str>, at: Position) -> Region {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Region { start: at, end: at };
    };
    let index = LineIndex::new(text);
    let mut offset = at.offset.min(text.len());
    if offset == text.len() {
        offset = text[..offset]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i);
    }
    let start = index.position_of_offset(offset);
    let width = text[start.offset..]
        .chars()
        .next()
        .map_or(0, char::len_utf8);
    Region {
        start,
        end: index.position_of_offset(start.offset + width),
    }
}

fn needs_text(result: &CachedResult) -> bool {
    matches!(result, CachedResult::Findings(f) if !f.is_empty())
        || matches!(
            result,
            CachedResult::Problem {
                kind: ProblemKind::Parse,
                ..
            }
        )
}

/// First pass: hash the file and gather the facts it contributes (from the
/// cache when the content is unchanged). Only files with a `Drop` impl and a
/// delete-like word can contribute, so only those are parsed here.
fn scan(
    path: &Path,
    old: &Cache,
    started: SystemTime,
    vocabulary: &Vocabulary,
    facts_filter: &Prefilter,
) -> Scan {
    let shown = super::display_path(path);
    let entry = old.files.get(&shown);
    // Taken before the read: a write after it moves the stamp, so the entry
    // recorded below is never reused for newer content.
    let stamp = std::fs::metadata(path).ok().and_then(|m| FileStamp::of(&m));
    if let Some(entry) = entry.filter(|e| stamp.is_some() && e.stamp == stamp) {
        return Scan {
            shown,
            hash: Some(entry.hash),
            stamp,
            facts: entry.facts.clone(),
            has_marker: entry.has_marker,
        };
    }
    let stamp = stamp.filter(|s| s.settled_before(started));
    let Ok(bytes) = read_capped(path) else {
        return Scan {
            shown,
            hash: None,
            stamp: None,
            facts: Vec::new(),
            has_marker: false,
        };
    };
    let hash = cache::content_hash(&bytes);
    let has_marker = std::str::from_utf8(&bytes).is_ok_and(suppress::may_hold_directive);
    if let Some(entry) = entry.filter(|e| e.hash == hash) {
        let facts = entry.facts.clone();
        return Scan {
            shown,
            hash: Some(hash),
            stamp,
            facts,
            has_marker,
        };
    }
    let facts = match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let text = text.trim_start_matches('\u{feff}');
            let matches = facts_filter.matches(text);
            let wanted = facts_filter.rules_of(&matches, text);
            if wanted.is_empty() {
                Vec::new()
            } else {
                // Only the items that can hold a deleting `Drop` are parsed.
                let narrow = items::narrowed(text, facts_filter, &matches, wanted);
                let facts = parse_narrowed(text, narrow)
                    .ok()
                    .map(|(file, _)| CrateFacts::of_file(&file, vocabulary));
                forget_spans();
                facts
                    .map(|f| {
                        f.deleting_drops()
                            .map(|(t, d)| (t.to_string(), d.delete_call.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            }
        }
        Err(_) => Vec::new(),
    };
    Scan {
        shown,
        hash: Some(hash),
        stamp,
        facts,
        has_marker,
    }
}

/// Second pass for a file not in the cache.
fn lint_one(
    path: &Path,
    options: &Options<'_>,
    prefilter: Option<&Prefilter>,
    parse_all: bool,
) -> Linted {
    match read_source(path) {
        Ok(text) => lint_text(text, options, prefilter, parse_all),
        Err(problem) => Linted::problem(problem),
    }
}

/// Pre-filters, parses, checks and locates one file's decoded text. With
/// `parse_all`, the whole text is parsed even when no rule needs any of it.
fn lint_text(
    text: String,
    options: &Options<'_>,
    prefilter: Option<&Prefilter>,
    parse_all: bool,
) -> Linted {
    // One search of the automaton answers for the file and for its items.
    let matches = prefilter.map(|p| p.matches(&text));
    let set = prefilter
        .zip(matches.as_ref())
        .map_or(RuleSet::default(), |(p, m)| p.rules_of(m, &text));
    let needed: Vec<Rule> = match prefilter {
        Some(_) => options
            .rules
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(*i))
            .map(|(_, r)| *r)
            .collect(),
        None => options.rules.to_vec(),
    };
    if needed.is_empty() && !parse_all {
        return Linted {
            result: CachedResult::Findings(Vec::new()),
            parsed: false,
            from_cache: false,
            // Its suppression comments are all unused: keep it for that report.
            text: suppress::may_hold_directive(&text).then(|| Arc::from(text)),
        };
    }
    let narrow = prefilter
        .zip(matches.as_ref())
        .filter(|_| !parse_all)
        .and_then(|(p, m)| items::narrowed(&text, p, m, set));
    let (file, narrowed) = match parse_narrowed(&text, narrow) {
        Ok(parsed) => parsed,
        Err(problem) => {
            forget_spans();
            return Linted {
                // Shown as the snippet of its `unparsable_file` finding.
                text: Some(Arc::from(text)),
                ..Linted::problem(problem)
            };
        }
    };
    let options = Options {
        rules: &needed,
        ..*options
    };
    let index = LineIndex::new(&text);
    let check = |file: &syn::File| -> Vec<CachedFinding> {
        if needed.is_empty() {
            return Vec::new();
        }
        check_file(file, &options)
            .into_iter()
            .map(|f| locate(&text, &index, f))
            .collect()
    };
    let mut located = check(&file);
    drop(file);
    forget_spans();
    // Findings from the kept items are confirmed over the whole file: a
    // rule may stay quiet because of something in another item (the tick
    // is armed elsewhere, the file logs with `log`), and skipped items must
    // never add or change a finding. Files with findings are few, so the
    // second parse costs little. If the whole file does not parse (a syntax
    // error in a skipped item, reported only with `--parse-all`), the kept
    // items' findings stand.
    if narrowed && !located.is_empty() {
        if let Ok(whole) = parse(&text) {
            located = check(&whole);
        }
        forget_spans();
    }
    Linted {
        text: (!located.is_empty() || suppress::may_hold_directive(&text)).then(|| Arc::from(text)),
        result: CachedResult::Findings(located),
        parsed: true,
        from_cache: false,
    }
}

/// Parses the narrowed text when there is one, else (or when the narrowed
/// text does not parse: a cut in the wrong place) the whole text; says
/// which it parsed (`true`: the narrowed text).
fn parse_narrowed(text: &str, narrowed: Option<String>) -> Result<(syn::File, bool), FileProblem> {
    if let Some(narrowed) = narrowed {
        match parse(&narrowed) {
            Ok(file) => return Ok((file, true)),
            Err(_) => forget_spans(),
        }
    }
    parse(text).map(|file| (file, false))
}

/// A finding with its spans turned into regions of `text`.
fn locate(text: &str, index: &LineIndex, finding: crate::Finding) -> CachedFinding {
    CachedFinding {
        rule: finding.rule.id.to_string(),
        region: index.region(finding.span),
        message: finding.message,
        labels: finding
            .labels
            .into_iter()
            .map(|l| (index.region(l.span), l.message))
            .collect(),
        help: finding.help,
        fixes: super::fixes::locate_all(text, index, finding.fixes),
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

type FileProblem = (ProblemKind, String, Option<Position>);

/// Lexes and parses a file's text, refusing a file nested too deeply to
/// parse without overflowing the stack (see [`limits`]).
fn parse(text: &str) -> Result<syn::File, FileProblem> {
    let at = |position| Some(LineIndex::new(text).position(position));
    let unparsable = |error: syn::Error| {
        (
            ProblemKind::Parse,
            parse_error_message(&error),
            at(error.span().start()),
        )
    };
    let text = &*blank_front_matter(text);
    let tokens = limits::lex(text).map_err(|e| unparsable(e.into()))?;
    if let Some((excess, position)) = limits::nesting_estimate(&tokens).excess() {
        let message = format!("nested too deeply to parse safely: {excess}; not linted");
        return Err((ProblemKind::Limit, message, at(position)));
    }
    syn::parse2(tokens).map_err(unparsable)
}

/// The text with a cargo-script front matter header (RFC 3503) replaced by
/// spaces, as rustc skips it: after an optional `#!` line and blank lines, a
/// line opening with three or more dashes (an info string may follow), up to
/// the first line of exactly as many dashes. Every byte but the line breaks
/// becomes a space, so lines, columns and offsets after it are unchanged. An
/// unclosed header is left alone: the parser reports it.
fn blank_front_matter(text: &str) -> std::borrow::Cow<'_, str> {
    let mut lines = text.split_inclusive('\n');
    let mut start = 0;
    let mut opening = None;
    for (i, line) in lines.by_ref().enumerate() {
        let is_shebang =
            i == 0 && line.starts_with("#!") && !line[2..].trim_start().starts_with('[');
        if is_shebang || line.trim().is_empty() {
            start += line.len();
            continue;
        }
        let dashes = line.len() - line.trim_start_matches('-').len();
        if dashes >= 3 {
            opening = Some(dashes);
        }
        break;
    }
    let Some(dashes) = opening else {
        return text.into();
    };
    let header_line = text[start..].split_inclusive('\n').next().unwrap_or("");
    let mut end = start + header_line.len();
    for line in text[end..].split_inclusive('\n') {
        end += line.len();
        let fence = line.trim_end();
        if fence.len() == dashes && fence.bytes().all(|b| b == b'-') {
            let mut blanked = String::with_capacity(text.len());
            blanked.push_str(&text[..start]);
            blanked.extend(text[start..end].bytes().map(|b| {
                if b == b'\n' || b == b'\r' {
                    b as char
                } else {
                    ' '
                }
            }));
            blanked.push_str(&text[end..]);
            return blanked.into();
        }
    }
    text.into()
}

/// A file's bytes, refusing files over [`limits::MAX_FILE_BYTES`]. Reads one
/// byte past the limit rather than trust metadata: the file may grow between
/// the two.
fn read_capped(path: &Path) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(limits::MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| (ProblemKind::Io, format!("cannot read: {e}"), None))?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        let message = format!(
            "larger than {} MiB, far beyond hand-written source; not linted (exclude it with --exclude)",
            limits::MAX_FILE_BYTES / (1024 * 1024)
        );
        return Err((ProblemKind::Limit, message, None));
    }
    Ok(bytes)
}

/// Reads a file as UTF-8 Rust source, without its byte-order mark.
fn read_source(path: &Path) -> Result<String, FileProblem> {
    decode_source(read_capped(path)?)
}

/// Rust source from a file's bytes: UTF-8, without its byte-order mark.
fn decode_source(bytes: Vec<u8>) -> Result<String, FileProblem> {
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let message = format!(
            "not UTF-8 (invalid byte at line {line}, column {column}); Rust source must be UTF-8"
        );
        (
            ProblemKind::Encoding,
            message,
            Some(Position {
                line,
                column,
                offset: valid.len(),
            }),
        )
    })?;
    if text.starts_with('\u{feff}') {
        // Editors do not count the byte-order mark as a column, so neither do we.
        text.drain(..3);
    }
    Ok(text)
}

/// Lints one file's bytes held in memory exactly as [`analyze`] lints a file
/// read from disk (decode, crate facts from this file alone, pre-filter,
/// parse, rules, locate), on one thread with a worker's stack. For fuzzing
/// and property tests: they drive the real pipeline without the file system.
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

/// The pre-filter for one text, built again only when what it is built
/// from changed: callers of [`analyze_source`] (the fuzzers, the property
/// tests) lint thousands of small texts with the same settings, and building
/// the automaton (a DFA over more than a thousand patterns) took longer than
/// linting one of them.
fn prefilter_for_one_text(
    rules: &[Rule],
    settings: &Settings,
    facts: &CrateFacts,
) -> Arc<Prefilter> {
    static LAST: Mutex<Option<(String, Arc<Prefilter>)>> = Mutex::new(None);
    let mut deleting_drop_types: Vec<&str> = facts.deleting_drop_types().collect();
    deleting_drop_types.sort_unstable();
    let key = format!("{}|{deleting_drop_types:?}", settings.digest(rules));
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    match &*last {
        Some((built_for, prefilter)) if *built_for == key => Arc::clone(prefilter),
        _ => {
            let prefilter = Arc::new(Prefilter::new(rules, &settings.vocabulary, facts));
            *last = Some((key, Arc::clone(&prefilter)));
            prefilter
        }
    }
}

fn analyze_source_here(path: &str, bytes: &[u8], settings: &Settings) -> Analysis {
    let rules: Vec<Rule> = RULES
        .iter()
        .copied()
        .filter(|r| settings.levels.of(r.info) != Level::Allow)
        .collect();
    let linted = match decode_source(bytes.to_vec()) {
        Err(problem) => Linted::problem(problem),
        Ok(text) => {
            let facts = parse(&text)
                .ok()
                .map(|file| CrateFacts::of_file(&file, &settings.vocabulary))
                .unwrap_or_default();
            forget_spans();
            let prefilter = settings
                .prefilter
                .then(|| prefilter_for_one_text(&rules, settings, &facts));
            let options = Options {
                rules: &rules,
                ..Options::new(&settings.vocabulary, &facts)
            };
            lint_text(text, &options, prefilter.as_deref(), settings.parse_all)
        }
    };
    let mut analysis = Analysis::default();
    collect(&mut analysis, path, &linted, &settings.levels);
    analysis.sort();
    analysis
}

/// Drops proc-macro2's record of the source text parsed on this thread. Every
/// span of that text is dead afterwards, so call it only once they are mapped.
fn forget_spans() {
    proc_macro2::extra::invalidate_current_thread_spans();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            vocabulary: Vocabulary::default(),
            levels: Levels::default(),
            jobs: 1,
            // These inputs are about the parser: parse them all.
            prefilter: false,
            parse_all: true,
            named_files: HashSet::new(),
            cache_dir: None,
            progress: false,
        }
    }

    /// The pre-filter kept from the last call is not used for a text whose
    /// facts differ: here the only word that keeps `run` is the name of the
    /// file's own deleting `Drop` type.
    #[test]
    fn the_kept_prefilter_follows_each_texts_facts() {
        let settings = Settings {
            prefilter: true,
            parse_all: false,
            ..settings()
        };
        let deferred_deletes = |text: &str| {
            analyze_source("a.rs", text.as_bytes(), &settings)
                .findings
                .iter()
                .filter(|r| r.rule.id == "deferred_delete")
                .count()
        };
        assert_eq!(deferred_deletes("fn f() { let g = guard(); }"), 0);
        let token = "pub struct Token { id: u64 }
            impl Drop for Token { fn drop(&mut self) { unregister_session(self.id); } }
            pub async fn run(node: Node, id: u64) {
                let _token = Token { id };
                node.client_write(id).await;
            }";
        assert_eq!(deferred_deletes(token), 1);
    }

    fn scratch_file(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lifecycle-lint-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.rs");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn scan_with(path: &Path, old: &Cache, started: SystemTime) -> Scan {
        let facts_filter = Prefilter::for_needs(
            &[CrateFacts::NEEDS],
            &Vocabulary::default(),
            &CrateFacts::default(),
        );
        scan(path, old, started, &Vocabulary::default(), &facts_filter)
    }

    /// A file whose stamp is the one recorded is taken from its entry
    /// without being read: the recorded hash (here not the content's) is
    /// what the scan returns.
    #[test]
    fn a_file_with_its_recorded_stamp_is_not_read() {
        let path = scratch_file("stamped", "fn f() {}\n");
        let stamp = FileStamp::of(&std::fs::metadata(&path).unwrap());
        let mut old = Cache::new("key".into(), 0);
        old.files.insert(
            super::super::display_path(&path),
            Entry {
                hash: 42,
                stamp,
                has_marker: true,
                facts: vec![("Lease".into(), "remove_lease".into())],
                result: None,
            },
        );
        let scan = scan_with(&path, &old, SystemTime::now());
        assert_eq!(scan.hash, Some(42));
        assert!(scan.has_marker);
        assert_eq!(scan.facts.len(), 1);
        // Another stamp (the file grew): read and hashed again.
        std::fs::write(&path, "fn f() { g() }\n").unwrap();
        let scan = scan_with(&path, &old, SystemTime::now());
        assert_eq!(scan.hash, Some(cache::content_hash(b"fn f() { g() }\n")));
        assert!(!scan.has_marker);
    }

    /// A stamp is recorded only for a file that had not changed for
    /// `cache::SETTLED` when the run started: a file written just before (or
    /// during) the run may be written again within the same clock tick, with
    /// the same times and size.
    #[test]
    fn a_stamp_is_recorded_only_once_the_file_has_settled() {
        let path = scratch_file("settled", "fn f() {}\n");
        let old = Cache::default();
        let now = SystemTime::now();
        assert_eq!(scan_with(&path, &old, now).stamp, None);
        let later = now + cache::SETTLED + std::time::Duration::from_secs(1);
        let recorded = scan_with(&path, &old, later).stamp;
        assert_eq!(recorded, FileStamp::of(&std::fs::metadata(&path).unwrap()));
        assert!(recorded.is_some());
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
