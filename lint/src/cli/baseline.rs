//! Baselines: `--write-baseline FILE` records the current findings,
//! `--baseline FILE` reports only findings not recorded there.
//!
//! An entry is keyed by rule, file, enclosing item (`Reaper::run`) and a
//! hash of the offending code without its whitespace, so it survives
//! edits that only move the code (a line inserted above it, reformatting
//! around it). Identical keys are counted: two identical findings in one
//! function need two entries. Entries whose file was linted but that match
//! no finding are reported as fixed.
//!
//! Paths in the file are relative to the baseline's directory, never
//! absolute and never with `..`: the baseline is only compared with the
//! findings of this run, and nothing named in it is ever opened.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::absolute;
use super::location::Region;
use super::outline::{enclosing, outline};
use super::Analysis;

const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    findings: Vec<Entry>,
}

/// One recorded finding. `line` and `message` are for people reading the
/// file and the list of fixed entries; they are not part of the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub item: String,
    pub rule: String,
    pub snippet_hash: String,
    pub line: usize,
    pub message: String,
}

impl Entry {
    fn key(&self) -> String {
        [&self.rule, &self.path, &self.item, &self.snippet_hash]
            .map(|s| s.as_str())
            .join("\0")
    }
}

/// What comparing a run with a baseline found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings that were in the baseline, and so not reported.
    pub known: usize,
    /// Entries of linted files that match no finding any more.
    pub fixed: Vec<Entry>,
}

/// The baseline's directory: paths in the file are relative to it.
fn base_of(file: &Path, cwd: &Path) -> PathBuf {
    absolute(cwd, file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `path` (absolute) relative to `base`, with `/`, if it lies below it.
fn relative(path: &Path, base: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Entries for the current findings, with the findings they stand for (by
/// index); findings outside `base` get none.
fn entries(analysis: &Analysis, base: &Path) -> Vec<(usize, Entry)> {
    let mut outlines = HashMap::new();
    let mut out = Vec::new();
    for (i, report) in analysis.findings.iter().enumerate() {
        // Shown paths are relative to the display base, not to `cwd`.
        let shown = absolute(super::display_base(), Path::new(&report.path));
        let Some(path) = relative(&shown, base) else {
            continue;
        };
        let text = analysis.sources.get(&report.path).map_or("", |t| &**t);
        let items = outlines
            .entry(report.path.clone())
            .or_insert_with(|| outline(text).unwrap_or_default());
        out.push((
            i,
            Entry {
                path,
                item: enclosing(items, report.region.start.offset)
                    .map(|item| item.path.clone())
                    .unwrap_or_default(),
                rule: report.rule.id.to_string(),
                snippet_hash: snippet_hash(text, &report.region),
                line: report.region.start.line,
                message: report.message.clone(),
            },
        ));
    }
    out
}

/// A key for each report that survives line shifts and reformatting, as
/// the baseline's: rule, shown path, enclosing item and the offending
/// code's hash, hashed, with `:N` for the N-th identical one (in order).
/// SARIF carries it as `partialFingerprints`, so code-scanning alerts keep
/// their identity when lines move.
pub fn fingerprints(
    reports: &[&super::Report],
    sources: &BTreeMap<String, std::sync::Arc<str>>,
) -> Vec<String> {
    let mut outlines = HashMap::new();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    reports
        .iter()
        .map(|report| {
            let text = sources.get(&report.path).map_or("", |t| &**t);
            let items = outlines
                .entry(report.path.clone())
                .or_insert_with(|| outline(text).unwrap_or_default());
            let item = enclosing(items, report.region.start.offset)
                .map(|item| item.path.as_str())
                .unwrap_or("");
            let key = [
                report.rule.id,
                report.path.as_str(),
                item,
                &snippet_hash(text, &report.region),
            ]
            .join("\0");
            let hash = fnv1a(key.bytes());
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            format!("{hash:016x}:{n}")
        })
        .collect()
}

/// FNV-1a (64 bits) of the offending code without its whitespace, so that
/// reformatting keeps the key; stable across platforms and releases, unlike
/// std's hasher.
fn snippet_hash(text: &str, region: &Region) -> String {
    let code = text
        .get(region.start.offset..region.end.offset)
        .unwrap_or("");
    let hash = fnv1a(code.bytes().filter(|b| !b.is_ascii_whitespace()));
    format!("{hash:016x}")
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Writes the current findings to `file`; returns how many were recorded
/// and how many lie outside the baseline's directory (not recorded).
pub fn write(file: &Path, analysis: &Analysis, cwd: &Path) -> Result<(usize, usize), String> {
    let base = base_of(file, cwd);
    let mut findings: Vec<Entry> = entries(analysis, &base)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    findings.sort();
    let outside = analysis.findings.len() - findings.len();
    let document = Document {
        version: VERSION,
        findings,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("entries always serialize");
    text.push('\n');
    std::fs::write(file, text).map_err(|e| {
        format!(
            "cannot write the baseline {}: {e}",
            super::display_path(file)
        )
    })?;
    Ok((document.findings.len(), outside))
}

/// Reads a baseline, refusing entries whose path could point outside its directory.
pub fn read(file: &Path) -> Result<Vec<Entry>, String> {
    let shown = super::display_path(file);
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the baseline {shown}: {e}"))?;
    let document: Document = serde_json::from_str(&text)
        .map_err(|e| format!("{shown} is not a lifecycle-lint baseline: {e}"))?;
    if document.version != VERSION {
        return Err(format!(
            "{shown}: baseline version {} is not supported (expected {VERSION}); write it again with --write-baseline",
            document.version
        ));
    }
    for (i, entry) in document.findings.iter().enumerate() {
        if !is_plain_relative(&entry.path) {
            return Err(format!(
                "{shown}: entry {} has path `{}`; baseline paths are relative to the baseline's directory and stay inside it",
                i + 1,
                entry.path.escape_debug()
            ));
        }
    }
    Ok(document.findings)
}

/// A relative path made only of normal components (no `..`, no root, no drive).
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Removes from `analysis` the findings recorded in `baseline`. `linted`
/// are the files of this run, so entries of files not linted now are not
/// taken for fixed.
pub fn apply(
    analysis: &mut Analysis,
    baseline: &[Entry],
    file: &Path,
    linted: &[PathBuf],
    cwd: &Path,
) -> Outcome {
    let base = base_of(file, cwd);
    let mut remaining: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for entry in baseline {
        remaining.entry(entry.key()).or_default().push(entry);
    }
    let mut known = vec![false; analysis.findings.len()];
    for (i, entry) in entries(analysis, &base) {
        if let Some(left) = remaining.get_mut(&entry.key()) {
            if left.pop().is_some() {
                known[i] = true;
            }
        }
    }
    let mut flags = known.iter();
    analysis
        .findings
        .retain(|_| !flags.next().copied().unwrap_or(false));
    let linted: std::collections::HashSet<String> = linted
        .iter()
        .filter_map(|p| relative(&absolute(cwd, p), &base))
        .collect();
    let mut fixed: Vec<Entry> = remaining
        .into_values()
        .flatten()
        .filter(|e| linted.contains(&e.path))
        .cloned()
        .collect();
    fixed.sort();
    Outcome {
        known: known.iter().filter(|&&k| k).count(),
        fixed,
    }
}

/// The stderr lines for fixed entries.
pub fn describe_fixed(outcome: &Outcome) -> String {
    let mut out = format!(
        "lifecycle-lint: {} baseline {} no longer found (fixed); --write-baseline drops {}:\n",
        outcome.fixed.len(),
        if outcome.fixed.len() == 1 {
            "entry is"
        } else {
            "entries are"
        },
        if outcome.fixed.len() == 1 {
            "it"
        } else {
            "them"
        },
    );
    for e in &outcome.fixed {
        let item = if e.item.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", e.item)
        };
        out.push_str(&format!(
            "  {}:{}: {}{item}: {}\n",
            super::render::printable(&e.path),
            e.line,
            e.rule,
            super::render::printable(&e.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        for ok in ["src/lib.rs", "a/b/c.rs"] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.rs",
            "src/../../x.rs",
            "./x.rs",
            "C:\\x.rs",
            "a\\..\\b",
        ] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn the_snippet_hash_ignores_whitespace_only() {
        let hash = |text: &str| {
            let index = super::super::location::LineIndex::new(text);
            let region = Region {
                start: index.position_of_offset(0),
                end: index.position_of_offset(text.len()),
            };
            snippet_hash(text, &region)
        };
        assert_eq!(
            hash("sleep(d)"),
            hash("sleep(\n    d,\n)".replace(',', "").as_str())
        );
        assert_ne!(hash("sleep(d)"), hash("sleep(e)"));
    }
}
