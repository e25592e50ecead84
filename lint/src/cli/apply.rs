//! `--fix` and `--diff`: the rewrites of the reported findings, chosen by
//! applicability, applied to the files (or shown as a unified diff).
//!
//! This is the only code that writes into the linted tree, so it is
//! careful: it writes only files it linted (below a linted root, not through
//! a symbolic link), refuses a file whose content changed since it was
//! read, never writes a result that does not parse, and replaces a file
//! atomically (a temporary file in the same directory, then a rename). Only
//! reported findings are fixed: suppressed and baselined ones are not in the
//! report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::fixes::{self, Replacement};
use super::{cache, config, display_path, Analysis};
use crate::finding::Applicability;

/// Which fixes to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Also `MaybeIncorrect` ones (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
}

impl Choice {
    fn takes(self, applicability: Applicability) -> bool {
        match applicability {
            Applicability::MachineApplicable => true,
            Applicability::MaybeIncorrect => self.unsafe_fixes,
            // A placeholder needs a person.
            Applicability::HasPlaceholders => false,
        }
    }
}

/// The edits chosen for one file.
#[derive(Debug)]
pub struct FilePlan {
    /// The text the edits' regions refer to (as linted: without a BOM).
    pub text: std::sync::Arc<str>,
    pub edits: Vec<Replacement>,
    /// How many findings these edits fix.
    pub findings: usize,
}

#[derive(Debug, Default)]
pub struct Plan {
    /// By displayed path.
    pub files: BTreeMap<String, FilePlan>,
    /// Findings with a fix of the chosen kind left out because it overlaps
    /// another one in the same file (the next run offers it again).
    pub overlapping: usize,
    /// Findings whose only code fixes are `MaybeIncorrect`, not chosen.
    pub unsafe_left: usize,
}

impl Plan {
    pub fn findings(&self) -> usize {
        self.files.values().map(|f| f.findings).sum()
    }
}

/// The edits to make: for each reported finding, its first fix the choice
/// takes, unless one of its edits overlaps an edit already chosen in its file.
pub fn plan(analysis: &Analysis, choice: Choice) -> Plan {
    let mut plan = Plan::default();
    for report in &analysis.findings {
        let Some(fix) = report.fixes.iter().find(|f| choice.takes(f.applicability)) else {
            if report
                .fixes
                .iter()
                .any(|f| f.applicability == Applicability::MaybeIncorrect)
            {
                plan.unsafe_left += 1;
            }
            continue;
        };
        let Some(text) = analysis.sources.get(&report.path) else {
            continue;
        };
        let file = plan
            .files
            .entry(report.path.clone())
            .or_insert_with(|| FilePlan {
                text: text.clone(),
                edits: Vec::new(),
                findings: 0,
            });
        if fix.edits.iter().any(|e| overlaps_any(e, &file.edits)) {
            plan.overlapping += 1;
            continue;
        }
        file.edits.extend(fix.edits.iter().cloned());
        file.findings += 1;
    }
    plan.files.retain(|_, f| f.findings > 0);
    plan
}

/// Two edits overlap when their regions share a byte, or when both insert
/// at the same place (their order would be a guess).
fn overlaps_any(edit: &Replacement, chosen: &[Replacement]) -> bool {
    let (a, b) = (edit.region.start.offset, edit.region.end.offset);
    chosen.iter().any(|c| {
        let (c0, c1) = (c.region.start.offset, c.region.end.offset);
        (a < c1 && c0 < b)
            || a == c0
            || (a == b && c0 < a && a < c1)
            || (c0 == c1 && a < c0 && c0 < b)
    })
}

/// The fixed text of a file, or why there is none.
fn fixed_text(path: &str, file: &FilePlan) -> Result<String, String> {
    let fixed = fixes::apply(&file.text, file.edits.iter())
        .ok_or_else(|| format!("{path}: the fixes overlap; nothing applied"))?;
    syn::parse_file(&fixed).map_err(|e| {
        format!("{path}: the fixed file would not parse ({e}); nothing applied to it")
    })?;
    Ok(fixed)
}

/// What `--fix` did.
#[derive(Debug, Default)]
pub struct Applied {
    pub files: usize,
    pub findings: usize,
    /// One line per file that was not written, and why.
    pub refused: Vec<String>,
}

/// Writes the plan's files. `linted` are the files the run linted and
/// `roots` what it was asked to lint: nothing else is written.
pub fn apply(plan: &Plan, linted: &[PathBuf], roots: &[PathBuf], cwd: &Path) -> Applied {
    let by_shown: BTreeMap<String, &PathBuf> =
        linted.iter().map(|p| (display_path(p), p)).collect();
    let roots: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(config::absolute(cwd, r)).ok())
        .collect();
    let mut applied = Applied::default();
    for (shown, file) in &plan.files {
        let outcome = by_shown
            .get(shown)
            .ok_or_else(|| format!("{shown}: not a file this run linted; not written"))
            .and_then(|path| write_one(shown, path, file, &roots, cwd));
        match outcome {
            Ok(()) => {
                applied.files += 1;
                applied.findings += file.findings;
            }
            Err(why) => applied.refused.push(why),
        }
    }
    applied
}

fn write_one(
    shown: &str,
    path: &Path,
    file: &FilePlan,
    roots: &[PathBuf],
    cwd: &Path,
) -> Result<(), String> {
    let path = config::absolute(cwd, path);
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|e| format!("{shown}: cannot read it again ({e}); not written"))?;
    if meta.file_type().is_symlink() || !meta.is_file() {
        return Err(format!(
            "{shown}: a symbolic link or not a regular file; not written"
        ));
    }
    let real = std::fs::canonicalize(&path).map_err(|e| format!("{shown}: {e}; not written"))?;
    if !roots.iter().any(|root| real.starts_with(root)) {
        return Err(format!(
            "{shown}: outside the linted directories; not written"
        ));
    }
    if meta.permissions().readonly() {
        return Err(format!("{shown}: read-only; not written"));
    }
    let fixed = fixed_text(shown, file)?;
    let unchanged = |bytes: &[u8]| {
        let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        cache::content_hash(text) == cache::content_hash(file.text.as_bytes())
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{shown}: cannot read it again ({e}); not written"))?;
    if !unchanged(&bytes) {
        return Err(format!(
            "{shown}: changed since it was linted; not written (run again)"
        ));
    }
    let bom = bytes.starts_with("\u{feff}".as_bytes());
    let dir = real.parent().unwrap_or(Path::new("/"));
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.lifecycle-lint-{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        out.write_all(fixed.as_bytes())?;
        out.sync_all()?;
        std::fs::set_permissions(&temp, meta.permissions())?;
        Ok(())
    })();
    let finish = written.and_then(|()| {
        // Last look before replacing it: an editor may have saved meanwhile.
        let now = std::fs::read(&real)?;
        if !unchanged(&now) {
            return Err(std::io::Error::other("changed since it was linted"));
        }
        std::fs::rename(&temp, &real)
    });
    finish.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("{shown}: cannot write it ({e}); not written")
    })
}

/// `--diff`: a unified diff of every file the plan changes, with paths as
/// shown (relative to the workspace root: `git apply` takes it there).
pub fn diff(plan: &Plan) -> Result<String, Vec<String>> {
    let mut out = String::new();
    let mut refused = Vec::new();
    for (shown, file) in &plan.files {
        match fixed_text(shown, file) {
            Ok(_) => out.push_str(&unified(shown, &file.text, &file.edits)),
            Err(why) => refused.push(why),
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(refused)
    }
}

/// Lines of a text, each with its line break (the last may have none).
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A unified diff (3 lines of context) of the edits to `old`: each run of
/// lines they touch is replaced by the same lines with its edits applied.
fn unified(path: &str, old: &str, edits: &[Replacement]) -> String {
    const CONTEXT: usize = 3;
    let old_lines = lines(old);
    // `a/`, `b/` as git writes them (`git apply` from the workspace root);
    // an absolute path (a file outside the workspace) as it is.
    let mut out = if path.starts_with('/') {
        format!("--- {path}\n+++ {path}\n")
    } else {
        format!("--- a/{path}\n+++ b/{path}\n")
    };
    if old_lines.is_empty() {
        return out;
    }
    let last_line = old_lines.len() - 1;
    let offset_of_line: Vec<usize> = std::iter::once(0)
        .chain(old_lines.iter().scan(0, |at, l| {
            *at += l.len();
            Some(*at)
        }))
        .collect();
    // The changed line ranges (0-based, inclusive), merged, with their edits.
    let mut changes: Vec<(usize, usize, Vec<&Replacement>)> = Vec::new();
    let mut sorted: Vec<&Replacement> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.region.start.offset, e.region.end.offset));
    for edit in sorted {
        let first = (edit.region.start.line - 1).min(last_line);
        // A region that ends at the start of a line (after a line break)
        // does not touch that line.
        let end_line = if edit.region.end.column == 1 && !edit.region.is_empty() {
            edit.region.end.line - 1
        } else {
            edit.region.end.line
        };
        let last = (end_line.max(1) - 1).clamp(first, last_line);
        match changes.last_mut() {
            Some((_, end, group)) if first <= *end => {
                *end = (*end).max(last);
                group.push(edit);
            }
            _ => changes.push((first, last, vec![edit])),
        }
    }
    let mut hunks: Vec<Vec<(usize, usize, String)>> = Vec::new();
    for (first, last, group) in changes {
        let base = offset_of_line[first];
        let old_text = &old[base..offset_of_line[last + 1]];
        let shifted: Vec<Replacement> = group
            .iter()
            .map(|e| {
                let mut e = (*e).clone();
                e.region.start.offset -= base;
                e.region.end.offset -= base;
                e
            })
            .collect();
        let new_text = fixes::apply(old_text, shifted.iter()).unwrap_or_else(|| old_text.into());
        match hunks.last_mut() {
            Some(hunk) if first <= hunk.last().expect("never empty").1 + 2 * CONTEXT + 1 => {
                hunk.push((first, last, new_text))
            }
            _ => hunks.push(vec![(first, last, new_text)]),
        }
    }
    let mut line_shift: isize = 0;
    for hunk in hunks {
        let start = hunk[0].0.saturating_sub(CONTEXT);
        let end = (hunk.last().expect("never empty").1 + CONTEXT).min(old_lines.len().max(1) - 1);
        let new_start = start as isize + line_shift;
        let (mut body, mut old_count, mut new_count) = (String::new(), 0, 0);
        let mut line = start;
        for (first, last, new_text) in &hunk {
            for context in &old_lines[line..*first] {
                push_line(&mut body, ' ', context);
                old_count += 1;
                new_count += 1;
            }
            for removed in &old_lines[*first..=*last] {
                push_line(&mut body, '-', removed);
                old_count += 1;
            }
            let added = lines(new_text);
            for line in &added {
                push_line(&mut body, '+', line);
                new_count += 1;
            }
            line_shift += added.len() as isize - (last + 1 - first) as isize;
            line = last + 1;
        }
        for context in old_lines.get(line..=end).unwrap_or_default() {
            push_line(&mut body, ' ', context);
            old_count += 1;
            new_count += 1;
        }
        // A hunk that adds to an empty range starts one line earlier.
        let shown_start = |start: isize, count: usize| if count == 0 { start } else { start + 1 };
        out.push_str(&format!(
            "@@ -{},{old_count} +{},{new_count} @@\n{body}",
            shown_start(start as isize, old_count),
            shown_start(new_start, new_count)
        ));
    }
    out
}

fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    match line.strip_suffix('\n') {
        Some(text) => {
            out.push_str(text);
            out.push('\n');
        }
        None => {
            out.push_str(line);
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::location::LineIndex;

    /// An edit replacing the first `needle` in `text`.
    fn edit(text: &str, needle: &str, with: &str) -> Replacement {
        let start = text.find(needle).unwrap();
        let index = LineIndex::new(text);
        Replacement {
            region: crate::cli::Region {
                start: index.position_of_offset(start),
                end: index.position_of_offset(start + needle.len()),
            },
            text: with.to_string(),
        }
    }

    fn plan_of(text: &str, edits: Vec<Replacement>) -> FilePlan {
        FilePlan {
            text: text.into(),
            edits,
            findings: 1,
        }
    }

    #[test]
    fn the_diff_has_a_hunk_per_distant_change_and_counts_lines() {
        let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let edits = vec![
            edit(&text, "line 2\n", "line 2\nnew after 2\n"),
            edit(&text, "line 15", "fifteen"),
        ];
        let diff = unified("src/a.rs", &text, &edits);
        assert_eq!(
            diff,
            "--- a/src/a.rs\n+++ b/src/a.rs\n\
             @@ -1,5 +1,6 @@\n line 1\n-line 2\n+line 2\n+new after 2\n line 3\n line 4\n line 5\n\
             @@ -12,7 +13,7 @@\n line 12\n line 13\n line 14\n-line 15\n+fifteen\n line 16\n line 17\n line 18\n"
        );
    }

    #[test]
    fn a_missing_final_line_break_is_marked() {
        let text = "fn a() {}\nfn b() {}";
        let diff = unified("x.rs", text, &[edit(text, "b", "c")]);
        assert!(
            diff.ends_with("-fn b() {}\n\\ No newline at end of file\n+fn c() {}\n\\ No newline at end of file\n"),
            "{diff}"
        );
    }

    #[test]
    fn overlapping_edits_are_told_apart_from_neighbours() {
        let text = "abcdef";
        let at = |s: usize, e: usize| {
            let index = LineIndex::new(text);
            Replacement {
                region: crate::cli::Region {
                    start: index.position_of_offset(s),
                    end: index.position_of_offset(e),
                },
                text: String::new(),
            }
        };
        let chosen = [at(1, 3)];
        assert!(overlaps_any(&at(2, 4), &chosen));
        assert!(overlaps_any(&at(0, 2), &chosen));
        assert!(overlaps_any(&at(2, 2), &chosen), "an insertion inside");
        assert!(overlaps_any(&at(1, 1), &chosen), "same start");
        assert!(!overlaps_any(&at(3, 5), &chosen), "adjacent after");
        assert!(!overlaps_any(&at(0, 1), &chosen), "adjacent before");
        assert!(!overlaps_any(&at(3, 3), &chosen), "an insertion at the end");
    }

    #[test]
    fn a_fix_that_would_not_parse_is_not_applied() {
        let text = "fn f() { g(); }\n";
        let file = plan_of(text, vec![edit(text, "g();", "g(;")]);
        let refused = fixed_text("f.rs", &file).unwrap_err();
        assert!(refused.contains("would not parse"), "{refused}");
    }

    /// A scratch directory under the system's temporary one.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lifecycle-lint-apply-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap()
    }

    #[test]
    fn files_changed_since_they_were_linted_are_refused() {
        let dir = scratch("changed");
        let path = dir.join("a.rs");
        let linted = "fn f() { old(); }\n";
        std::fs::write(&path, "fn f() { old(); }\n// saved meanwhile\n").unwrap();
        let file = plan_of(linted, vec![edit(linted, "old", "new")]);
        let refused =
            write_one("a.rs", &path, &file, std::slice::from_ref(&dir), &dir).unwrap_err();
        assert!(refused.contains("changed since it was linted"), "{refused}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "fn f() { old(); }\n// saved meanwhile\n"
        );
        // Unchanged, it is written, its byte-order mark kept, and no
        // temporary file is left.
        std::fs::write(&path, format!("\u{feff}{linted}")).unwrap();
        write_one("a.rs", &path, &file, std::slice::from_ref(&dir), &dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\u{feff}fn f() { new(); }\n"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn links_and_files_outside_the_roots_are_refused() {
        let dir = scratch("outside");
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        let text = "fn f() { old(); }\n";
        let file = plan_of(text, vec![edit(text, "old", "new")]);
        let outside = dir.join("elsewhere.rs");
        std::fs::write(&outside, text).unwrap();
        let refused = write_one(
            "elsewhere.rs",
            &outside,
            &file,
            std::slice::from_ref(&root),
            &dir,
        )
        .unwrap_err();
        assert!(
            refused.contains("outside the linted directories"),
            "{refused}"
        );
        #[cfg(unix)]
        {
            let link = root.join("link.rs");
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            let refused =
                write_one("link.rs", &link, &file, std::slice::from_ref(&root), &dir).unwrap_err();
            assert!(refused.contains("symbolic link"), "{refused}");
        }
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), text);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
