//! Suppression comments, applied to a finished [`Analysis`]:
//!
//! ```text
//! // lifecycle-lint: allow(timer_leak) -- the sleep is the retry backoff
//! let retry = tokio::time::sleep(backoff);           // the next line
//! select! { .. } // lifecycle-lint: allow(timer_leak) -- ..   (its own line)
//!
//! // lifecycle-lint: allow(deferred_delete) -- local cache, no quorum involved
//! fn evict(&self) { .. }                             // the item after it
//!
//! //! lifecycle-lint: allow(timer_leak, silent_early_return) -- generated code
//! ```
//!
//! An inner comment (`//!`, `/*!`) covers the item it is in, or the whole
//! file at its top. The reason after ` -- ` is required. Directives that are
//! malformed, lack a reason or name unknown rules are reported
//! (`invalid_suppression`), and so are rules named by a directive that
//! suppress nothing (`unused_suppression`).

mod comments;

use std::collections::{BTreeMap, BTreeSet};

use comments::{comments, Comment, Style};

use super::config::Levels;
use super::location::{LineIndex, Region};
use super::outline::{self, OutlineItem};
use super::{Analysis, Report};
use crate::rules::{invalid_suppression, unused_suppression};
use crate::{Level, RuleInfo};

/// What every suppression comment starts with. Files whose text holds it
/// are kept by the analysis for this step, findings or not.
pub const MARKER: &str = "lifecycle-lint:";

/// The tool's name as written in a near miss of the marker (no colon, or an
/// underscore): such a comment is reported, never silently ignored.
const NAMES: [&str; 2] = ["lifecycle-lint", "lifecycle_lint"];

/// Whether `text` may hold a directive, well-formed or not: files without
/// one skip the suppression step (and need not keep their text).
pub fn may_hold_directive(text: &str) -> bool {
    NAMES.iter().any(|name| text.contains(name))
}

/// A finding a comment suppressed, with the comment's reason (SARIF reports
/// it as an in-source suppression).
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub report: Report,
    pub reason: String,
}

/// One `lifecycle-lint:` comment, read.
struct Directive {
    region: Region,
    /// Known rules named by `allow(..)`.
    rules: Vec<&'static RuleInfo>,
    reason: Option<String>,
    /// What is wrong with it, if anything (reported as `invalid_suppression`).
    problems: Vec<(String, String)>,
    /// The lines it covers (inclusive) and how to call them in messages.
    covers: Option<(usize, usize, String)>,
    /// The rules that suppressed at least one finding.
    used: BTreeSet<&'static str>,
}

/// Applies the suppression comments of every file the analysis kept the
/// text of: moves suppressed findings to `analysis.suppressed`, and adds
/// `invalid_suppression` and `unused_suppression` findings at the levels in
/// `levels`.
pub fn apply(analysis: &mut Analysis, levels: &Levels) {
    let mut by_path: BTreeMap<String, Vec<Report>> = BTreeMap::new();
    for report in std::mem::take(&mut analysis.findings) {
        by_path.entry(report.path.clone()).or_default().push(report);
    }
    for (path, text) in &analysis.sources {
        if !may_hold_directive(text) {
            continue;
        }
        let mut directives = read(text);
        if directives.is_empty() {
            continue;
        }
        let mine = by_path.remove(path).unwrap_or_default();
        // Meta findings go last: a file- or item-wide `allow(unused_suppression)`
        // covers them too, without counting for what is unused.
        let mut kept = Vec::new();
        for report in mine {
            match suppressing(&mut directives, &report) {
                Some(reason) => analysis.suppressed.push(Suppressed { report, reason }),
                None => kept.push(report),
            }
        }
        for report in meta_findings(&directives, path, levels) {
            match suppressing(&mut directives, &report) {
                Some(reason) => analysis.suppressed.push(Suppressed { report, reason }),
                None => kept.push(report),
            }
        }
        by_path.insert(path.clone(), kept);
    }
    analysis.findings = by_path.into_values().flatten().collect();
    analysis.sort();
}

/// The reason of the narrowest directive that covers `report` and names its
/// rule (marking it used), if any.
fn suppressing(directives: &mut [Directive], report: &Report) -> Option<String> {
    let line = report.region.start.line;
    let mut narrowest: Option<(usize, String)> = None;
    for directive in directives.iter_mut() {
        let Some((first, last, _)) = &directive.covers else {
            continue;
        };
        if !(*first..=*last).contains(&line)
            || !directive.rules.iter().any(|r| r.id == report.rule.id)
        {
            continue;
        }
        directive.used.insert(report.rule.id);
        let width = last - first;
        if narrowest.as_ref().is_none_or(|(w, _)| width < *w) {
            let reason = directive.reason.clone().unwrap_or_default();
            narrowest = Some((width, reason));
        }
    }
    narrowest.map(|(_, reason)| reason)
}

fn meta_findings(directives: &[Directive], path: &str, levels: &Levels) -> Vec<Report> {
    let mut out = Vec::new();
    let report = |rule: &'static RuleInfo, region: Region, message: String, help: String| Report {
        path: path.to_string(),
        rule,
        level: levels.of(rule),
        region,
        message,
        labels: Vec::new(),
        help,
        fixes: Vec::new(),
    };
    for directive in directives {
        if levels.of(&invalid_suppression::INFO) != Level::Allow {
            for (message, help) in &directive.problems {
                out.push(report(
                    &invalid_suppression::INFO,
                    directive.region,
                    message.clone(),
                    help.clone(),
                ));
            }
        }
        if levels.of(&unused_suppression::INFO) == Level::Allow {
            continue;
        }
        let Some((_, _, scope)) = &directive.covers else {
            continue;
        };
        for rule in &directive.rules {
            let counted =
                rule.reads == crate::rules::Reads::Syntax && levels.of(rule) != Level::Allow;
            if counted && !directive.used.contains(rule.id) {
                out.push(report(
                    &unused_suppression::INFO,
                    directive.region,
                    format!("`allow({})` suppresses nothing: `{}` reports nothing in {scope}", rule.id, rule.id),
                    format!(
                        "delete the comment, or `{}` from its list: a stale suppression hides the next real finding here",
                        rule.id
                    ),
                ));
            }
        }
    }
    out
}

/// The directives of a file, with what each covers.
fn read(text: &str) -> Vec<Directive> {
    let all = comments(text);
    let index = LineIndex::new(text);
    let mut directives: Vec<(&Comment<'_>, Directive)> = all
        .iter()
        .filter_map(|c| parse(c, &index).map(|d| (c, d)))
        .collect();
    if directives.is_empty() {
        return Vec::new();
    }
    let items = if directives.iter().any(|(c, _)| !c.trailing) {
        outline::outline(text).unwrap_or_default()
    } else {
        Vec::new()
    };
    let code_lines = code_lines(text, &all, &index);
    for (comment, directive) in &mut directives {
        if directive.rules.is_empty() {
            continue;
        }
        let line = directive.region.start.line;
        directive.covers = Some(if comment.trailing {
            (line, line, "this line".to_string())
        } else if comment.style == Style::Inner {
            match outline::enclosing(&items, comment.start) {
                Some(item) => item_scope(item),
                None => (1, usize::MAX, "this file".to_string()),
            }
        } else {
            let end_line = directive.region.end.line;
            let Some(&target) = code_lines.range(end_line + 1..).next() else {
                directive.problems.push((
                    "this suppression is followed by no code".to_string(),
                    "put it on the line before the code it is for, or at the end of that line"
                        .to_string(),
                ));
                continue;
            };
            let item = items
                .iter()
                .filter(|i| i.region.start.line <= target && target <= i.head_line)
                .max_by_key(|i| i.region.len());
            match item {
                Some(item) => item_scope(item),
                None => (target, target, format!("the line after it (line {target})")),
            }
        });
    }
    directives.into_iter().map(|(_, d)| d).collect()
}

fn item_scope(item: &OutlineItem) -> (usize, usize, String) {
    (
        item.region.start.line,
        item.region.end.line,
        format!("`{}`", item.path),
    )
}

/// The lines that hold code: something other than whitespace and comments.
fn code_lines(text: &str, comments: &[Comment<'_>], index: &LineIndex<'_>) -> BTreeSet<usize> {
    let mut lines = BTreeSet::new();
    let mut at = 0;
    let mut gaps: Vec<(usize, usize)> = Vec::new();
    for c in comments {
        gaps.push((at, c.start));
        at = c.end;
    }
    gaps.push((at, text.len()));
    for (start, end) in gaps {
        for (offset, byte) in text.as_bytes()[start..end].iter().enumerate() {
            if !byte.is_ascii_whitespace() {
                lines.insert(index.position_of_offset(start + offset).line);
            }
        }
    }
    lines
}

/// Reads a comment as a directive, if it is one (its text starts with the marker).
fn parse(comment: &Comment<'_>, index: &LineIndex<'_>) -> Option<Directive> {
    let text = comment.body.trim();
    let (rest, marker_ok) = match text.strip_prefix(MARKER) {
        Some(rest) => (rest.trim_start(), true),
        None => {
            // `lifecycle-lint allow(..)`, `lifecycle_lint: allow(..)`: meant
            // as a directive (it names the tool, then `allow`), not one.
            let name = NAMES.iter().find(|name| {
                text.get(..name.len())
                    .is_some_and(|t| t.eq_ignore_ascii_case(name))
            })?;
            let rest = text[name.len()..].trim_start();
            let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
            if !rest.starts_with("allow") {
                return None;
            }
            (rest, false)
        }
    };
    let mut directive = Directive {
        region: Region {
            start: index.position_of_offset(comment.start),
            end: index.position_of_offset(comment.end),
        },
        rules: Vec::new(),
        reason: None,
        problems: Vec::new(),
        covers: None,
        used: BTreeSet::new(),
    };
    let form = "write `lifecycle-lint: allow(RULE, ..) -- why it does not apply here`";
    if !marker_ok {
        directive.problems.push((
            format!(
                "`{}` is not a suppression: the marker is `{MARKER}`, spelled so, with its colon",
                one_line(text)
            ),
            form.to_string(),
        ));
        return Some(directive);
    }
    let Some((names, after)) = rest
        .strip_prefix("allow")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split_once(')'))
    else {
        directive.problems.push((
            format!("`{}` is not a suppression", one_line(text)),
            form.to_string(),
        ));
        return Some(directive);
    };
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match crate::rules::rule(name) {
            Some(rule) => directive.rules.push(rule.info),
            None => directive.problems.push((
                format!("`allow({name})` names no rule: `{name}` is not a lifecycle-lint rule"),
                match crate::rules::suggestion(name).filter(|m| crate::rules::rule(m).is_some()) {
                    Some(meant) => format!("did you mean `{meant}`?"),
                    None => format!("known rules: {}", super::rule_ids()),
                },
            )),
        }
    }
    if names.trim().is_empty() {
        directive
            .problems
            .push(("`allow()` names no rule".to_string(), form.to_string()));
    }
    let after = after.trim();
    match after.strip_prefix("--").map(str::trim) {
        Some(reason) if !reason.is_empty() => directive.reason = Some(reason.to_string()),
        _ if after.is_empty() || after.starts_with("--") => directive.problems.push((
            "this suppression gives no reason".to_string(),
            "say why the rule does not apply here after ` -- `: reviewers check the reason, and the next reader learns what must stay true".to_string(),
        )),
        _ => directive.problems.push((
            format!("unexpected `{}` after `allow(..)`", one_line(after)),
            form.to_string(),
        )),
    }
    Some(directive)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per directive: the lines it covers, its rules, its reason, how many problems.
    type Read = (
        Option<(usize, usize)>,
        Vec<&'static str>,
        Option<String>,
        usize,
    );

    fn covers(text: &str) -> Vec<Read> {
        read(text)
            .into_iter()
            .map(|d| {
                (
                    d.covers.map(|(a, b, _)| (a, b)),
                    d.rules.iter().map(|r| r.id).collect(),
                    d.reason,
                    d.problems.len(),
                )
            })
            .collect()
    }

    #[test]
    fn each_form_covers_its_line_item_or_file() {
        let text = "\
//! lifecycle-lint: allow(timer_leak) -- generated
fn f() {
    // lifecycle-lint: allow(deferred_delete) -- next line
    // another comment
    g(); h(); // lifecycle-lint: allow(silent_early_return) -- this line
}
// lifecycle-lint: allow(pointer_value_comparison, timer_leak) -- the item
#[inline]
fn k() {
    x();
}
";
        assert_eq!(
            covers(text),
            [
                (
                    Some((1, usize::MAX)),
                    vec!["timer_leak"],
                    Some("generated".into()),
                    0
                ),
                (
                    Some((5, 5)),
                    vec!["deferred_delete"],
                    Some("next line".into()),
                    0
                ),
                (
                    Some((5, 5)),
                    vec!["silent_early_return"],
                    Some("this line".into()),
                    0
                ),
                (
                    Some((8, 11)),
                    vec!["pointer_value_comparison", "timer_leak"],
                    Some("the item".into()),
                    0
                ),
            ]
        );
    }

    #[test]
    fn near_misses_of_the_marker_are_problems_and_suppress_nothing() {
        let text = "\
// lifecycle-lint allow(timer_leak) -- no colon
a();
// lifecycle_lint: allow(timer_leak) -- underscore
b();
// Lifecycle-Lint: allow(timer_leak) -- capitals
c();
// lifecycle-lint is the tool this crate is linted with
// see lifecycle-lint's README
d();
";
        let found = covers(text);
        assert_eq!(
            found.len(),
            3,
            "prose that names the tool is no directive: {found:?}"
        );
        for directive in &found {
            assert_eq!(directive.0, None, "suppresses nothing");
            assert!(directive.1.is_empty());
            assert_eq!(directive.3, 1, "one problem");
        }
        let problems: Vec<String> = read(text)
            .into_iter()
            .flat_map(|d| d.problems.into_iter().map(|(m, _)| m))
            .collect();
        assert!(
            problems[0].contains("the marker is `lifecycle-lint:`"),
            "{problems:?}"
        );
        assert!(may_hold_directive("x // lifecycle_lint allow(a)"));
        assert!(!may_hold_directive("fn main() {}"));
    }

    #[test]
    fn an_unknown_rule_gets_the_rule_that_was_meant() {
        let directives = read("// lifecycle-lint: allow(timer-leak) -- dash\nf();\n");
        assert_eq!(directives[0].problems[0].1, "did you mean `timer_leak`?");
    }

    #[test]
    fn malformed_directives_are_problems() {
        let text = "\
// lifecycle-lint: allow(timer_leak)
a();
// lifecycle-lint: allow(timer_leek) -- typo
b();
// lifecycle-lint: deny(timer_leak)
c(); // lifecycle-lint: allow(timer_leak) --
// lifecycle-lint: allow(timer_leak) -- nothing follows
";
        let found = covers(text);
        assert_eq!(found[0], (Some((2, 2)), vec!["timer_leak"], None, 1));
        assert_eq!(found[1], (None, vec![], Some("typo".into()), 1));
        assert_eq!(found[2], (None, vec![], None, 1));
        assert_eq!(found[3], (Some((6, 6)), vec!["timer_leak"], None, 1));
        assert_eq!(
            found[4],
            (None, vec!["timer_leak"], Some("nothing follows".into()), 1)
        );
    }

    #[test]
    fn a_marker_inside_a_string_is_not_a_directive() {
        assert!(read("let s = \"// lifecycle-lint: allow(timer_leak) -- no\";\n").is_empty());
    }
}
