//! miette's graphical reports: snippet, labels, help, rule ID and level.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use super::{printable, printable_source, single_line};
use crate::cli::{Analysis, Region, Report};
use crate::Level;

/// Fixed so that output does not depend on the terminal it was captured from.
const WIDTH: usize = 100;

pub fn render(analysis: &Analysis, color: bool) -> String {
    let mut out = String::new();
    for report in &analysis.findings {
        out.push_str(&render_one(analysis, report, color));
        out.push('\n');
    }
    for p in &analysis.problems {
        let at = p
            .position
            .map(|at| format!(":{}:{}", at.line, at.column))
            .unwrap_or_default();
        out.push_str(&format!(
            "error[{}]: {}{at}: {}\n\n",
            p.kind.as_str(),
            single_line(&p.path),
            single_line(&p.message)
        ));
    }
    out
}

/// One finding as miette draws it (the `rendered` text of cargo messages too).
pub fn render_one(analysis: &Analysis, report: &Report, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_links(false);
    let source = analysis
        .sources
        .get(&report.path)
        .cloned()
        .unwrap_or_else(|| Arc::from(""));
    let diagnostic = HumanReport {
        report,
        source: Source {
            name: single_line(&report.path),
            text: printable_source(&source),
        },
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &diagnostic).is_err() {
        out.push_str(&format!(
            "{}: {}\n",
            single_line(&report.path),
            single_line(&report.message)
        ));
    }
    out.push_str(&suggestions(report, &source));
    out
}

/// Each rewrite offered with the finding, as rustc shows a suggestion: a
/// `help:` line, then the lines it changes, before (`-`) and after (`+`).
fn suggestions(report: &Report, source: &str) -> String {
    let mut out = String::new();
    for fix in &report.fixes {
        let Some((line, old, new)) = fix.preview(source) else {
            continue;
        };
        out.push_str(&format!(
            "  help: {} ({})\n",
            single_line(&fix.description),
            fix.safety()
        ));
        let width = (line + old.lines().count().max(new.lines().count()))
            .to_string()
            .len();
        for (i, text) in old.lines().enumerate() {
            out.push_str(&format!("  {:>width$} - {}\n", line + i, printable(text)));
        }
        for (i, text) in new.lines().enumerate() {
            out.push_str(&format!("  {:>width$} + {}\n", line + i, printable(text)));
        }
    }
    out
}

struct HumanReport<'a> {
    report: &'a Report,
    source: Source,
}

/// A file's text as miette reads it, except that the `[path:line:column]`
/// header counts the column in characters, like every other format (miette
/// counts bytes, so a multi-byte character before the finding would shift it).
struct Source {
    name: String,
    text: String,
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        let column = if before == 0 {
            let preceding = self.text.get(..span.offset()).unwrap_or_default();
            let line_start = preceding.rfind('\n').map_or(0, |i| i + 1);
            preceding[line_start..].chars().count()
        } else {
            contents.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

fn span(region: &Region) -> SourceSpan {
    SourceSpan::new(region.start.offset.into(), region.len())
}

impl fmt::Debug for HumanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report.message)
    }
}

impl HumanReport<'_> {
    /// Whether there is text to draw a snippet from: not for a file that is
    /// not UTF-8 (an `unparsable_file` finding), whose position is then
    /// given in the message.
    fn has_snippet(&self) -> bool {
        !self.source.text.is_empty()
    }
}

impl fmt::Display for HumanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(&self.report.message))?;
        if !self.has_snippet() {
            let at = self.report.region.start;
            write!(f, "\n  at {}:{}:{}", self.source.name, at.line, at.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for HumanReport<'_> {}

impl Diagnostic for HumanReport<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let word = if self.report.level == Level::Deny {
            "error"
        } else {
            "warning"
        };
        Some(Box::new(format!("{word}[{}]", self.report.rule.id)))
    }

    fn severity(&self) -> Option<Severity> {
        Some(if self.report.level == Level::Deny {
            Severity::Error
        } else {
            Severity::Warning
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}\n(`cargo lifecycle-lint --explain {}` tells more)",
            printable(&self.report.help),
            self.report.rule.id
        )))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.has_snippet()
            .then_some(&self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if !self.has_snippet() {
            return None;
        }
        let primary = LabeledSpan::new_primary_with_span(None, span(&self.report.region));
        let others = self.report.labels.iter().map(|(region, message)| {
            LabeledSpan::new_with_span(Some(printable(message)), span(region))
        });
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}
