//! GitHub Actions workflow commands: `::error file=..,line=..::message`.
//!
//! Values are escaped as the runner expects, so a file name or message with
//! a newline, `::` or `,` cannot end the command early and inject another.

use super::{printable, severity_word};
use crate::cli::Analysis;
use crate::Level;

pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    for f in &analysis.findings {
        let command = if f.level == Level::Deny {
            "error"
        } else {
            "warning"
        };
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&f.path),
            f.region.start.line,
            f.region.start.column,
            f.region.end.line,
            f.region.end.column,
            property(&format!("{}[{}]", severity_word(f.level), f.rule.id)),
            data(&format!("{}\nhelp: {}", f.message, f.help)),
        ));
    }
    for p in &analysis.problems {
        let at = p
            .position
            .map(|at| format!(",line={},col={}", at.line, at.column))
            .unwrap_or_default();
        out.push_str(&format!(
            "::error file={}{at},title={}::{}\n",
            property(&p.path),
            property(&format!("lifecycle-lint {}", p.kind.as_str())),
            data(&p.message)
        ));
    }
    out
}

/// Escaping for the message part of a workflow command. Control characters
/// but `\n` and tab (ANSI escapes, `\r`) are replaced first: the runner's log
/// viewer would interpret them.
fn data(text: &str) -> String {
    printable(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a property value (`file=`, `title=`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crafted_file_name_cannot_start_a_new_command() {
        let escaped = property("src/a\n::set-output name=x::y,z.rs");
        assert!(!escaped.contains('\n') && !escaped.contains("::") && !escaped.contains(','));
        assert_eq!(data("100%\n"), "100%25%0A");
        assert_eq!(data("\u{1b}[2J\r"), "\u{fffd}[2J\u{fffd}");
    }
}
