//! Edits offered with findings. Today one kind, offered for every lifecycle
//! finding: a suppression comment with a placeholder reason, inserted on its
//! own line above the finding's first line (which it then covers; when an
//! item starts on that line it covers the item, see `suppress`). It has a
//! placeholder, so it is shown as a quick fix (rust-analyzer reads cargo
//! JSON's `suggested_replacement`; SARIF carries it as `fixes`) and never
//! applied without a person writing the reason.

use super::location::{LineIndex, Position};
use super::Report;
use crate::rules::Group;

/// The placeholder a person replaces with the reason.
pub const REASON_PLACEHOLDER: &str = "<why this rule does not apply here>";

/// The *Fixes* section `--explain RULE` ends with: what edits come with
/// the rule's findings and how safe they are to apply.
pub fn explanation(rule: &crate::RuleInfo) -> String {
    if rule.group == Group::Meta {
        return "## Fixes\n\nNone: fix the comment or the file as the message says.\n".to_string();
    }
    format!(
        "## Fixes\n\nEvery finding comes with one edit: a suppression comment above its line,\n\
         `// lifecycle-lint: allow({}) -- {REASON_PLACEHOLDER}`. It has a\n\
         placeholder (cargo JSON applicability `HasPlaceholders`, also in SARIF\n\
         `fixes`), so editors offer it as a quick fix and nothing applies it\n\
         unattended. No rewrite of the code itself is offered yet.\n",
        rule.id
    )
}

/// Text to insert at a position (an empty region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insertion {
    pub at: Position,
    pub text: String,
    /// What the edit does, for the person choosing it.
    pub description: String,
}

/// The suppression edit for `report` in `text`, for lifecycle findings (not
/// for findings about suppressions or unreadable files themselves).
pub fn suppression(text: &str, report: &Report) -> Option<Insertion> {
    if report.rule.group == Group::Meta || text.is_empty() {
        return None;
    }
    let offset = report.region.start.offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let at = LineIndex::new(text).position_of_offset(line_start + indent.len());
    Some(Insertion {
        at,
        text: format!(
            "// lifecycle-lint: allow({}) -- {REASON_PLACEHOLDER}\n{indent}",
            report.rule.id
        ),
        description: format!(
            "suppress `{}` here, saying why it does not apply (replace the placeholder)",
            report.rule.id
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::location::Region;
    use crate::Level;

    fn report_at(text: &str, needle: &str, rule: &'static crate::RuleInfo) -> Report {
        let offset = text.find(needle).unwrap();
        let index = LineIndex::new(text);
        Report {
            path: "src/x.rs".into(),
            rule,
            level: Level::Warn,
            region: Region {
                start: index.position_of_offset(offset),
                end: index.position_of_offset(offset + needle.len()),
            },
            message: String::new(),
            labels: Vec::new(),
            help: String::new(),
        }
    }

    #[test]
    fn the_suppression_goes_above_the_line_with_its_indentation() {
        let text = "fn f() {\n    loop {\n        let t = sleep(d);\n    }\n}\n";
        let report = report_at(text, "sleep(d)", &crate::rules::timer_leak::INFO);
        let edit = suppression(text, &report).unwrap();
        assert_eq!((edit.at.line, edit.at.column), (3, 9));
        let mut fixed = text.to_string();
        fixed.insert_str(edit.at.offset, &edit.text);
        assert_eq!(
            fixed,
            "fn f() {\n    loop {\n        // lifecycle-lint: allow(timer_leak) -- <why this rule does not apply here>\n        let t = sleep(d);\n    }\n}\n"
        );
    }

    #[test]
    fn findings_about_the_run_itself_get_none() {
        let text = "// lifecycle-lint: allow(timer_leak)\nfn f() {}\n";
        let report = report_at(
            text,
            "// lifecycle",
            &crate::rules::invalid_suppression::INFO,
        );
        assert_eq!(suppression(text, &report), None);
    }
}
