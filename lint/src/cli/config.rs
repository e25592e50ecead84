//! Configuration: rule levels, vocabularies and include/exclude globs, read
//! from `lifecycle-lint.toml`, `[package.metadata.lifecycle-lint]` or
//! `[workspace.metadata.lifecycle-lint]`.
//!
//! Each file is linted with the configuration nearest to it: the first
//! directory, going up from the file, that has one — without leaving the
//! cargo workspace (or package) the file belongs to. `--config FILE` replaces
//! the search for every file. Command-line levels (`-A/-W/-D`) apply on top.
//! Every value remembers where it came from, for `--print-config`.
//!
//! ```toml
//! [workspace.metadata.lifecycle-lint]
//! exclude = ["tests/fixtures"]
//!
//! [workspace.metadata.lifecycle-lint.rules]
//! timer_leak = "deny"
//!
//! [workspace.metadata.lifecycle-lint.vocabulary]
//! delete = "^zap_\\w+$"                     # extends the default words
//! propose = { replace = ["^raft_submit$"] } # replaces them
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use globset::GlobSet;
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::vocabulary::{Combine, Word};
use crate::{Level, RuleInfo, Vocabulary, RULES};

/// The configuration file's name.
pub const FILE_NAME: &str = "lifecycle-lint.toml";

/// The tables of a Cargo.toml that may hold the configuration.
const CARGO_TABLES: [[&str; 3]; 2] = [
    ["package", "metadata", "lifecycle-lint"],
    ["workspace", "metadata", "lifecycle-lint"],
];

const KEYS: &str = "`rules`, `vocabulary`, `include` or `exclude`";

/// The level of every rule, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels(Vec<Level>);

impl Default for Levels {
    /// Each rule's default level.
    fn default() -> Levels {
        Levels(RULES.iter().map(|r| r.info.default_level).collect())
    }
}

impl Levels {
    pub fn of(&self, rule: &RuleInfo) -> Level {
        RULES
            .iter()
            .position(|r| r.info.id == rule.id)
            .map_or(rule.default_level, |i| self.0[i])
    }

    fn set(&mut self, rule: &RuleInfo, level: Level) {
        if let Some(i) = RULES.iter().position(|r| r.info.id == rule.id) {
            self.0[i] = level;
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File { path: String, line: usize },
    CommandLine(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::CommandLine(flag) => write!(f, "command line: {flag}"),
        }
    }
}

/// Rule levels given on the command line (`-A/-W/-D RULE`), in order.
#[derive(Debug, Clone, Default)]
pub struct Overrides(pub Vec<(&'static RuleInfo, Level, String)>);

/// User patterns for one vocabulary.
#[derive(Debug, Clone)]
struct Words {
    word: Word,
    how: Combine,
    patterns: Vec<String>,
    origin: Origin,
}

#[derive(Debug, Clone)]
struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
    origin: Origin,
}

impl Globs {
    fn none() -> Globs {
        Globs {
            patterns: Vec::new(),
            set: GlobSet::empty(),
            origin: Origin::Default,
        }
    }
}

/// One configuration, with every value's origin.
#[derive(Debug)]
pub struct Config {
    /// The file (and table) it was read from; `None` for the defaults.
    pub source: Option<(PathBuf, String)>,
    /// Include/exclude globs are relative to this directory.
    pub base: PathBuf,
    pub levels: Levels,
    pub vocabulary: Vocabulary,
    level_origins: Vec<Origin>,
    words: Vec<Words>,
    include: Globs,
    exclude: Globs,
}

impl Config {
    fn defaults(base: PathBuf, overrides: &Overrides) -> Config {
        let mut config = Config {
            source: None,
            base,
            levels: Levels::default(),
            vocabulary: Vocabulary::default(),
            level_origins: vec![Origin::Default; RULES.len()],
            words: Vec::new(),
            include: Globs::none(),
            exclude: Globs::none(),
        };
        config.apply(overrides);
        config
    }

    fn apply(&mut self, overrides: &Overrides) {
        for (rule, level, flag) in &overrides.0 {
            self.set_level(rule, *level, Origin::CommandLine(flag.clone()));
        }
    }

    fn set_level(&mut self, rule: &RuleInfo, level: Level, origin: Origin) {
        self.levels.set(rule, level);
        if let Some(i) = RULES.iter().position(|r| r.info.id == rule.id) {
            self.level_origins[i] = origin;
        }
    }

    /// Whether files linted with `other` are linted exactly as with this
    /// one (same levels, same vocabulary), so they can share a run.
    pub fn lints_like(&self, other: &Config) -> bool {
        self.levels == other.levels
            && Word::ALL
                .iter()
                .all(|&w| self.vocabulary.pattern(w) == other.vocabulary.pattern(w))
    }

    /// Whether `relative` (a path relative to [`Config::base`]) is excluded.
    fn excludes(&self, relative: &Path) -> bool {
        self.exclude.set.is_match(relative)
    }

    /// Whether a file at `relative` is among the included ones.
    fn includes(&self, relative: &Path) -> bool {
        self.include.patterns.is_empty() || self.include.set.is_match(relative)
    }

    /// The effective configuration as TOML (the `lifecycle-lint.toml` form),
    /// each value followed by where it came from.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        match &self.source {
            Some((path, table)) => out.push_str(&format!(
                "# read from {}{}\n",
                super::display_path(path),
                if table.is_empty() {
                    String::new()
                } else {
                    format!(", [{table}]")
                }
            )),
            None => out.push_str("# no configuration file found: defaults\n"),
        }
        let base = super::display_path(&self.base);
        out.push_str(&format!(
            "# globs are relative to {}\n\n",
            if base.is_empty() { "." } else { &base }
        ));
        for (key, globs) in [("include", &self.include), ("exclude", &self.exclude)] {
            let list: Vec<String> = globs.patterns.iter().map(|p| toml_string(p)).collect();
            let value = format!("{key} = [{}]", list.join(", "));
            let origin = match (&globs.origin, key) {
                (Origin::Default, "include") => "default: every .rs file".to_string(),
                (origin, _) => origin.to_string(),
            };
            out.push_str(&format!("{value:<40} # {origin}\n"));
        }
        out.push_str("\n[rules]\n");
        for (i, rule) in RULES.iter().enumerate() {
            let line = format!("{} = \"{}\"", rule.info.id, self.levels.0[i]);
            out.push_str(&format!("{line:<40} # {}\n", self.level_origins[i]));
        }
        out.push_str("\n[vocabulary]\n");
        for word in Word::ALL {
            let user: Vec<&Words> = self.words.iter().filter(|w| w.word == word).collect();
            let origin = match user.last() {
                None => "default".to_string(),
                Some(w) if w.how == Combine::Replace => {
                    format!(
                        "{}: {}, replacing the default",
                        w.origin,
                        w.patterns.join(", ")
                    )
                }
                Some(w) => format!(
                    "default, extended at {}: {}",
                    w.origin,
                    w.patterns.join(", ")
                ),
            };
            out.push_str(&format!("# {origin}\n"));
            out.push_str(&format!(
                "{} = {{ replace = {} }}\n",
                word.key(),
                toml_string(self.vocabulary.pattern(word))
            ));
        }
        out
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A configuration that cannot be used: shown with the TOML snippet.
#[derive(Debug)]
pub struct ConfigError(Box<ErrorDetail>);

#[derive(Debug)]
struct ErrorDetail {
    message: String,
    help: Option<String>,
    at: Option<(NamedSource<String>, SourceSpan)>,
}

impl ConfigError {
    fn plain(message: String) -> ConfigError {
        ConfigError(Box::new(ErrorDetail {
            message,
            help: None,
            at: None,
        }))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.at.as_ref().map(|(source, _)| source as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.0.at.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(None, *span),
        )))
    }
}

/// One configuration text being read: errors and origins point into it.
struct Document<'t> {
    path: &'t Path,
    text: &'t str,
}

impl Document<'_> {
    fn error(&self, span: Range<usize>, message: String, help: Option<String>) -> ConfigError {
        let shown = super::display_path(self.path);
        let line = self.line(span.start);
        ConfigError(Box::new(ErrorDetail {
            message: format!("{shown}:{line}: {message}"),
            help,
            at: Some((
                NamedSource::new(shown, self.text.to_string()),
                SourceSpan::new(span.start.into(), span.len()),
            )),
        }))
    }

    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn origin(&self, span: &Range<usize>) -> Origin {
        Origin::File {
            path: super::display_path(self.path),
            line: self.line(span.start),
        }
    }

    fn parse(&self) -> Result<DeTable<'_>, ConfigError> {
        DeTable::parse(self.text)
            .map(Spanned::into_inner)
            .map_err(|e| {
                let span = e.span().unwrap_or(0..0);
                self.error(
                    span,
                    format!("not valid TOML: {}", e.message().trim_end()),
                    None,
                )
            })
    }

    /// Reads a configuration table (`name` is how messages call it).
    fn config(
        &self,
        table: &DeTable<'_>,
        name: &str,
        base: PathBuf,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::defaults(base, &Overrides::default());
        config.source = Some((self.path.to_path_buf(), name.to_string()));
        for (key, value) in table {
            match key.get_ref().as_ref() {
                "rules" => self.rules(value, name, &mut config)?,
                "vocabulary" => self.vocabulary(value, name, &mut config)?,
                "include" => config.include = self.globs(value, "include")?,
                "exclude" => config.exclude = self.globs(value, "exclude")?,
                other => {
                    return Err(self.error(
                        key.span(),
                        format!("unknown key `{other}` in {}", section(name, "")),
                        Some(format!("expected {KEYS}")),
                    ))
                }
            }
        }
        config.apply(overrides);
        Ok(config)
    }

    fn table<'v, 'i>(
        &self,
        value: &'v Spanned<DeValue<'i>>,
        key: &str,
    ) -> Result<&'v DeTable<'i>, ConfigError> {
        value.get_ref().as_table().ok_or_else(|| {
            self.error(
                value.span(),
                format!(
                    "`{key}` must be a table, found {}",
                    value.get_ref().type_str()
                ),
                None,
            )
        })
    }

    fn rules(
        &self,
        value: &Spanned<DeValue<'_>>,
        name: &str,
        config: &mut Config,
    ) -> Result<(), ConfigError> {
        // A group sets its rules first, so that a rule named on its own
        // wins over its group whatever the order in the file.
        let mut entries: Vec<_> = self.table(value, "rules")?.iter().collect();
        entries.sort_by_key(|(key, _)| {
            !matches!(
                crate::rules::select(key.get_ref().as_ref()),
                Some(crate::rules::Selection::Group(_) | crate::rules::Selection::All)
            )
        });
        for (key, value) in entries {
            let id = key.get_ref().as_ref();
            let Some(selection) = crate::rules::select(id) else {
                let help = super::name_help(id);
                return Err(self.error(
                    key.span(),
                    format!("unknown rule or group `{id}` in {}", section(name, "rules")),
                    Some(help),
                ));
            };
            let level = value
                .get_ref()
                .as_str()
                .and_then(Level::parse)
                .ok_or_else(|| {
                    self.error(
                        value.span(),
                        format!(
                            "the level of `{id}` must be \"allow\", \"warn\" or \"deny\", found {}",
                            shown_value(value.get_ref())
                        ),
                        None,
                    )
                })?;
            for rule in selection.rules() {
                config.set_level(rule.info, level, self.origin(&key.span()));
            }
        }
        Ok(())
    }

    fn vocabulary(
        &self,
        value: &Spanned<DeValue<'_>>,
        name: &str,
        config: &mut Config,
    ) -> Result<(), ConfigError> {
        for (key, value) in self.table(value, "vocabulary")? {
            let Some(word) = Word::from_key(key.get_ref()) else {
                return Err(self.error(
                    key.span(),
                    format!(
                        "unknown vocabulary `{}` in {}",
                        key.get_ref(),
                        section(name, "vocabulary")
                    ),
                    Some(format!(
                        "expected one of: {}",
                        Word::ALL.map(|w| w.key()).join(", ")
                    )),
                ));
            };
            let (how, patterns) = match value.get_ref() {
                DeValue::Table(table) => {
                    let mut chosen = None;
                    for (how_key, patterns) in table {
                        let how = match how_key.get_ref().as_ref() {
                            "extend" => Combine::Extend,
                            "replace" => Combine::Replace,
                            other => {
                                return Err(self.error(
                                    how_key.span(),
                                    format!(
                                        "unknown key `{other}` for vocabulary `{}`",
                                        word.key()
                                    ),
                                    Some("expected `extend = ..` or `replace = ..`".into()),
                                ))
                            }
                        };
                        if chosen.is_some() {
                            return Err(self.error(
                                how_key.span(),
                                format!(
                                    "vocabulary `{}` both extends and replaces the default",
                                    word.key()
                                ),
                                Some("keep one of `extend` and `replace`".into()),
                            ));
                        }
                        chosen = Some((how, self.regexes(patterns, word)?));
                    }
                    chosen.ok_or_else(|| {
                        self.error(
                            value.span(),
                            format!("vocabulary `{}` is empty", word.key()),
                            Some("expected `extend = ..` or `replace = ..`".into()),
                        )
                    })?
                }
                _ => (Combine::Extend, self.regexes(value, word)?),
            };
            let combined = match patterns.as_slice() {
                [one] => one.clone(),
                many => many
                    .iter()
                    .map(|p| format!("(?:{p})"))
                    .collect::<Vec<_>>()
                    .join("|"),
            };
            config.vocabulary.set(word, &combined, how).map_err(|e| {
                self.error(
                    value.span(),
                    format!("invalid regex for `{}`: {e}", word.key()),
                    None,
                )
            })?;
            config.words.push(Words {
                word,
                how,
                patterns,
                origin: self.origin(&key.span()),
            });
        }
        Ok(())
    }

    /// A string or an array of strings, each a valid regex.
    fn regexes(
        &self,
        value: &Spanned<DeValue<'_>>,
        word: Word,
    ) -> Result<Vec<String>, ConfigError> {
        self.strings(value, &format!("vocabulary `{}`", word.key()), "a regex")?
            .into_iter()
            .map(|(pattern, span)| match regex::Regex::new(&pattern) {
                Ok(_) => Ok(pattern),
                Err(e) => Err(self.error(
                    span,
                    format!("invalid regex for `{}`: {}", word.key(), regex_problem(&e)),
                    Some("patterns are Rust regexes, matched against snake_case names".into()),
                )),
            })
            .collect()
    }

    fn globs(&self, value: &Spanned<DeValue<'_>>, key: &str) -> Result<Globs, ConfigError> {
        let patterns = match value.get_ref() {
            DeValue::Array(_) => self.strings(value, &format!("`{key}`"), "a glob")?,
            _ => {
                return Err(self.error(
                    value.span(),
                    format!(
                        "`{key}` must be an array of globs, found {}",
                        value.get_ref().type_str()
                    ),
                    None,
                ))
            }
        };
        for (pattern, span) in &patterns {
            if let Err(e) = super::discover::exclude_set(std::slice::from_ref(pattern)) {
                return Err(self.error(span.clone(), format!("in `{key}`: {e}"), None));
            }
        }
        let patterns: Vec<String> = patterns.into_iter().map(|(p, _)| p).collect();
        let set = super::discover::exclude_set(&patterns).map_err(ConfigError::plain)?;
        Ok(Globs {
            patterns,
            set,
            origin: self.origin(&value.span()),
        })
    }

    /// A string or an array of strings, with their spans.
    fn strings(
        &self,
        value: &Spanned<DeValue<'_>>,
        what: &str,
        one: &str,
    ) -> Result<Vec<(String, Range<usize>)>, ConfigError> {
        let expected = |v: &Spanned<DeValue<'_>>| {
            self.error(
                v.span(),
                format!(
                    "{what} must be {one} or an array of them, found {}",
                    v.get_ref().type_str()
                ),
                None,
            )
        };
        match value.get_ref() {
            DeValue::String(s) => Ok(vec![(s.to_string(), value.span())]),
            DeValue::Array(items) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => Ok((s.to_string(), item.span())),
                    _ => Err(expected(item)),
                })
                .collect(),
            _ => Err(expected(value)),
        }
    }
}

/// How messages name a configuration table: `name` is the table's path in
/// a Cargo.toml, or empty for the top of a `lifecycle-lint.toml`.
fn section(name: &str, sub: &str) -> String {
    match (name.is_empty(), sub.is_empty()) {
        (true, true) => FILE_NAME.to_string(),
        (true, false) => format!("[{sub}]"),
        (false, true) => format!("[{name}]"),
        (false, false) => format!("[{name}.{sub}]"),
    }
}

fn shown_value(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("\"{s}\""),
        other => other.type_str().to_string(),
    }
}

/// The regex crate's message without its ASCII-art pointer (the snippet shows where).
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once("error: ") {
        Some((_, problem)) => problem.trim().to_string(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Reads the configuration in `path`: a `lifecycle-lint.toml`, or a Cargo.toml
/// with a `[package|workspace.metadata.lifecycle-lint]` table. `Ok(None)`
/// when a Cargo.toml has no such table.
fn read(path: &Path, overrides: &Overrides) -> Result<Option<Config>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::plain(format!("cannot read {}: {e}", super::display_path(path)))
    })?;
    let doc = Document { path, text: &text };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if path.file_name().is_some_and(|n| n != "Cargo.toml") {
        return doc.config(&doc.parse()?, "", base, overrides).map(Some);
    }
    // A manifest that never mentions us cannot configure us, even if it is
    // broken (test fixtures sometimes are): leave it to cargo.
    if !text.contains("lifecycle-lint") {
        return Ok(None);
    }
    let root = doc.parse()?;
    let mut found: Vec<(String, &Spanned<DeValue<'_>>)> = Vec::new();
    for keys in CARGO_TABLES {
        let mut value = None;
        let mut table = Some(&root);
        for key in keys {
            value = table.and_then(|t| t.get(key));
            table = value.and_then(|v| v.get_ref().as_table());
        }
        if let Some(value) = value {
            found.push((keys.join("."), value));
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [(name, value)] => {
            let table = doc.table(value, name)?;
            doc.config(table, name, base, overrides).map(Some)
        }
        [.., (second, value)] => Err(doc.error(
            value.span(),
            format!(
                "both [{}] and [{second}] configure lifecycle-lint",
                found[0].0
            ),
            Some("keep one: the nearest configuration is used whole, they are not merged".into()),
        )),
    }
}

/// Finds the configuration for each directory, caching what it found.
pub struct Resolver {
    overrides: Overrides,
    /// `--config FILE`: used for every file.
    forced: Option<Arc<Config>>,
    by_dir: HashMap<PathBuf, Arc<Config>>,
}

impl Resolver {
    pub fn new(
        overrides: Overrides,
        config_file: Option<&Path>,
        cwd: &Path,
    ) -> Result<Resolver, ConfigError> {
        let forced = match config_file {
            None => None,
            Some(path) => {
                let path = absolute(cwd, path);
                let config = read(&path, &overrides)?.ok_or_else(|| {
                    ConfigError::plain(format!(
                        "{} has no [package.metadata.lifecycle-lint] or [workspace.metadata.lifecycle-lint] table",
                        super::display_path(&path)
                    ))
                })?;
                Some(Arc::new(config))
            }
        };
        Ok(Resolver {
            overrides,
            forced,
            by_dir: HashMap::new(),
        })
    }

    /// The configuration for files in `dir` (absolute, normalized).
    pub fn for_dir(&mut self, dir: &Path) -> Result<Arc<Config>, ConfigError> {
        if let Some(config) = &self.forced {
            return Ok(config.clone());
        }
        if let Some(config) = self.by_dir.get(dir) {
            return Ok(config.clone());
        }
        let config = match self.own(dir)? {
            Some(config) => Arc::new(config),
            None if is_boundary(dir) => {
                Arc::new(Config::defaults(dir.to_path_buf(), &self.overrides))
            }
            None => match dir.parent() {
                Some(parent) => self.for_dir(parent)?,
                None => Arc::new(Config::defaults(dir.to_path_buf(), &self.overrides)),
            },
        };
        self.by_dir.insert(dir.to_path_buf(), config.clone());
        Ok(config)
    }

    /// A configuration kept in `dir` itself.
    fn own(&self, dir: &Path) -> Result<Option<Config>, ConfigError> {
        let file = dir.join(FILE_NAME);
        let from_file = if file.is_file() {
            read(&file, &self.overrides)?
        } else {
            None
        };
        let manifest = dir.join("Cargo.toml");
        let from_manifest = if manifest.is_file() {
            read(&manifest, &self.overrides)?
        } else {
            None
        };
        match (from_file, from_manifest) {
            (Some(_), Some(_)) => Err(ConfigError::plain(format!(
                "both {} and {} configure lifecycle-lint; keep one (the nearest configuration is used whole, they are not merged)",
                super::display_path(&file),
                super::display_path(&manifest)
            ))),
            (a, b) => Ok(a.or(b)),
        }
    }
}

/// Whether `dir` is the root of the cargo workspace (or lone package) it
/// belongs to: configuration above it belongs to other projects.
fn is_boundary(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && super::discover::workspace_root(dir).as_deref() == Some(dir)
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved lexically.
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Files that share one configuration.
pub struct Group {
    pub config: Arc<Config>,
    pub files: Vec<PathBuf>,
}

/// Drops the files that configuration excludes, and groups the rest by the
/// configuration they are linted with. A path named on the command line is
/// linted whatever the globs say; below it, a file is skipped when it, or a
/// directory on the way to it, matches `exclude` (as seen from the
/// configuration of the directory holding it), or when `include` is set and
/// the file does not match it.
pub fn plan(
    roots: &[PathBuf],
    files: Vec<PathBuf>,
    resolver: &mut Resolver,
    cwd: &Path,
) -> Result<Vec<Group>, ConfigError> {
    let roots: Vec<PathBuf> = roots.iter().map(|r| absolute(cwd, r)).collect();
    let mut groups: Vec<Group> = Vec::new();
    'files: for file in files {
        let path = absolute(cwd, &file);
        let dir = path.parent().unwrap_or(Path::new("/"));
        let config = resolver.for_dir(dir)?;
        let named = roots
            .iter()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.components().count());
        if let Some(named) = named.filter(|r| **r != path) {
            for candidate in path.ancestors().take_while(|a| a != named) {
                let holder = resolver.for_dir(candidate.parent().unwrap_or(Path::new("/")))?;
                if let Ok(relative) = candidate.strip_prefix(&holder.base) {
                    if holder.excludes(relative) {
                        continue 'files;
                    }
                }
            }
            if let Ok(relative) = path.strip_prefix(&config.base) {
                if !config.includes(relative) {
                    continue;
                }
            }
        }
        match groups.iter_mut().find(|g| Arc::ptr_eq(&g.config, &config)) {
            Some(group) => group.files.push(file),
            None => groups.push(Group {
                config,
                files: vec![file],
            }),
        }
    }
    Ok(groups)
}
