//! Output formats. Each takes the whole [`Analysis`] (already sorted by path,
//! line, column) and returns the text to print on stdout.

mod cargo;
mod github;
mod human;
mod json;
mod sarif;
mod short;

use std::time::Duration;

use super::{Analysis, Format};
use crate::rules::Group;
use crate::{Level, RULES};

pub fn render(format: Format, analysis: &Analysis, color: bool) -> String {
    match format {
        Format::Human => human::render(analysis, color),
        Format::Short => short::render(analysis),
        Format::Json => json::render(analysis),
        Format::Sarif => sarif::render(analysis),
        Format::Github => github::render(analysis),
        Format::Cargo => cargo::render(analysis),
    }
}

/// An error about the command's own input (a configuration file), as miette draws it.
pub fn diagnostic(error: &dyn miette::Diagnostic, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_links(false);
    if handler.render_report(&mut out, error).is_err() {
        out = format!("error: {error}\n");
    }
    out
}

/// rustc's words for a level, used by the human, short and github formats.
pub fn severity_word(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "note",
    }
}

pub fn rule_list() -> String {
    let width = RULES.iter().map(|r| r.info.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for rule in RULES {
        out.push_str(&format!(
            "{:width$}  {:9}  {:5}  {}\n",
            rule.info.id,
            rule.info.group.name(),
            rule.info.default_level.as_str(),
            rule.info.summary
        ));
    }
    out.push_str("\ngroups (-A/-W/-D GROUP, or GROUP = \"LEVEL\" under [rules]):\n");
    for group in Group::ALL {
        out.push_str(&format!("{:width$}  {}\n", group.name(), group.summary()));
    }
    out.push_str(&format!("{:width$}  every rule\n", "all"));
    out
}

/// What `--explain GROUP` prints: the group and its rules.
pub fn group_explanation(group: Group) -> String {
    let mut out = format!("# Group `{}`\n\n{}.\n\n", group.name(), group.summary());
    let mut any = false;
    for rule in group.rules() {
        any = true;
        out.push_str(&format!(
            "- `{}` ({} by default): {}\n",
            rule.info.id,
            rule.info.default_level.as_str(),
            rule.info.summary
        ));
    }
    if !any {
        out.push_str("No rule is in this group in this version.\n");
    }
    out
}

/// `--statistics`: findings per rule (most first, then by rule ID), with
/// their level, as ruff prints them.
pub fn statistics(analysis: &Analysis) -> String {
    let mut counts: Vec<(usize, &str, Level)> = Vec::new();
    for finding in &analysis.findings {
        match counts
            .iter_mut()
            .find(|(_, id, level)| *id == finding.rule.id && *level == finding.level)
        {
            Some((n, _, _)) => *n += 1,
            None => counts.push((1, finding.rule.id, finding.level)),
        }
    }
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(b.2.cmp(&a.2)));
    let mut out = String::new();
    for (n, id, level) in counts {
        out.push_str(&format!("{n:>6}  {:7}  {id}\n", severity_word(level)));
    }
    if !analysis.problems.is_empty() {
        out.push_str(&format!(
            "{:>6}  {:7}  (files that could not be read)\n",
            analysis.problems.len(),
            "error"
        ));
    }
    out
}

/// The one-line summary printed on stderr.
pub fn summary(analysis: &Analysis, elapsed: Duration) -> String {
    let count = |level| {
        analysis
            .findings
            .iter()
            .filter(|f| f.level == level)
            .count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut how = Vec::new();
    if analysis.files_skipped > 0 {
        how.push(format!(
            "{} with nothing any rule looks for",
            analysis.files_skipped
        ));
    }
    if analysis.files_cached > 0 {
        how.push(format!("{} from the cache", analysis.files_cached));
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" ({})", how.join(", "))
    };
    let mut line = format!(
        "lifecycle-lint: {} checked{how} in {:.2}s: {}, {}",
        plural(analysis.files_checked, "file"),
        elapsed.as_secs_f64(),
        plural(count(Level::Deny), "error"),
        plural(count(Level::Warn), "warning"),
    );
    if !analysis.suppressed.is_empty() {
        line.push_str(&format!(", {} suppressed", analysis.suppressed.len()));
    }
    if !analysis.problems.is_empty() {
        line.push_str(&format!(
            ", {} could not be linted",
            plural(analysis.problems.len(), "file")
        ));
    }
    line
}

/// Like [`printable`], but keeps every byte offset valid: for source text
/// that labels point into. Each byte of a control character becomes `?`; a
/// carriage return survives only as part of a CRLF line ending (alone, it
/// would move the cursor back over the snippet's gutter).
pub fn printable_source(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let line_ending = c == '\r' && chars.peek() == Some(&'\n');
        if c.is_control() && !matches!(c, '\n' | '\t') && !line_ending {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// For text shown on one line (file names, one-line messages): like
/// [`printable`], and line breaks become spaces, so a crafted file name
/// cannot start a line of its own (CI runners read every output line that
/// starts with `::` as a workflow command, such as `::set-output`).
pub fn single_line(text: &str) -> String {
    printable(text).replace('\n', " ")
}

/// Replaces control characters (ANSI escapes included) so that source text
/// and file names cannot rewrite the terminal they are printed on.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keeps_its_offsets_and_line_endings_but_not_its_escapes() {
        let source = "a\u{1b}[2J\r\nb\rc\t\u{85}d\n";
        let shown = printable_source(source);
        assert_eq!(shown, "a?[2J\r\nb?c\t??d\n");
        assert_eq!(shown.len(), source.len());
    }

    #[test]
    fn single_line_text_cannot_start_a_line() {
        assert_eq!(
            single_line("a\n::set-output x\r\u{1b}"),
            "a ::set-output x\u{fffd}\u{fffd}"
        );
    }
}
