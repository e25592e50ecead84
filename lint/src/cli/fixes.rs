//! Edits offered with findings. Today one kind, offered for every lifecycle
//! finding: a suppression comment with a placeholder reason, inserted on its
//! own line above the finding's first line (which it then covers; when an
//! item starts on that line it covers the item, see `suppress`). It has a
//! placeholder, so it is shown as a quick fix (rust-analyzer reads cargo
//! JSON's `suggested_replacement`; SARIF carries it as `fixes`) and never
//! applied without a person writing the reason.

use serde::{Deserialize, Serialize};

use super::location::{LineIndex, Position, Region};
use super::Report;
use crate::finding::{Applicability, Fix, Placement};
use crate::rules::Group;

/// A rewrite of the code offered with a finding (a [`Fix`] of the engine),
/// located in the file's text: what `--fix` applies, cargo JSON's
/// `suggested_replacement`s and SARIF's `fixes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub description: String,
    pub applicability: Applicability,
    /// Sorted, not overlapping.
    pub edits: Vec<Replacement>,
}

/// Text that replaces a region (an empty region: an insertion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub region: Region,
    pub text: String,
}

impl Suggestion {
    /// How the applicability reads in the human report.
    pub fn safety(&self) -> &'static str {
        match self.applicability {
            Applicability::MachineApplicable => "safe: `--fix` applies it",
            Applicability::MaybeIncorrect => {
                "maybe incorrect: review it; `--fix --unsafe-fixes` applies it"
            }
            Applicability::HasPlaceholders => "has placeholders: fill them in by hand",
        }
    }

    /// The lines the fix touches, before and after: (first line number,
    /// old text, new text), each without its final line break.
    pub fn preview(&self, text: &str) -> Option<(usize, String, String)> {
        let first = self.edits.first()?;
        let last = self.edits.last()?;
        let start = text[..first.region.start.offset.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let end_at = last.region.end.offset.min(text.len());
        let end = text[end_at..].find('\n').map_or(text.len(), |i| end_at + i);
        let old = &text[start..end];
        let shifted: Vec<Replacement> = self
            .edits
            .iter()
            .map(|e| Replacement {
                region: Region {
                    start: Position {
                        offset: e.region.start.offset - start,
                        ..e.region.start
                    },
                    end: Position {
                        offset: e.region.end.offset - start,
                        ..e.region.end
                    },
                },
                text: e.text.clone(),
            })
            .collect();
        let new = apply(old, shifted.iter())?;
        Some((first.region.start.line, old.to_string(), new))
    }
}

/// `text` with `edits` applied: sorted and not overlapping, or `None`. They
/// are applied back to front, so each one's offsets stay valid.
pub fn apply<'e>(text: &str, edits: impl IntoIterator<Item = &'e Replacement>) -> Option<String> {
    let mut edits: Vec<&Replacement> = edits.into_iter().collect();
    edits.sort_by_key(|e| (e.region.start.offset, e.region.end.offset));
    if edits
        .windows(2)
        .any(|w| w[1].region.start.offset < w[0].region.end.offset)
    {
        return None;
    }
    let mut out = text.to_string();
    for edit in edits.iter().rev() {
        let (start, end) = (edit.region.start.offset, edit.region.end.offset);
        if end > out.len() || !out.is_char_boundary(start) || !out.is_char_boundary(end) {
            return None;
        }
        out.replace_range(start..end, &edit.text);
    }
    Some(out)
}

/// The engine's fixes located in `text` (the text the spans come from).
/// A fix whose edits overlap, or fall outside the text, is dropped.
pub fn locate_all(text: &str, index: &LineIndex<'_>, fixes: Vec<Fix>) -> Vec<Suggestion> {
    fixes
        .into_iter()
        .filter_map(|fix| locate(text, index, fix))
        .collect()
}

fn locate(text: &str, index: &LineIndex<'_>, fix: Fix) -> Option<Suggestion> {
    let mut edits = Vec::new();
    for edit in fix.edits {
        let region = index.region(edit.span);
        if region.end.offset > text.len() || region.start.offset > region.end.offset {
            return None;
        }
        let (at, replaced) = match edit.placement {
            Placement::Replace => (region.start, region.end),
            Placement::Before => (region.start, region.start),
            Placement::After => (region.end, region.end),
            Placement::LineBefore => (region.start, region.start),
        };
        let mut inserted = edit.text;
        if edit.placement == Placement::LineBefore {
            let offset = at.offset;
            let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let before = &text[line_start..offset];
            if before.chars().all(|c| c == ' ' || c == '\t') {
                inserted.push('\n');
                inserted.push_str(before);
            } else {
                inserted.push(' ');
            }
        }
        edits.push(Replacement {
            region: Region {
                start: at,
                end: replaced,
            },
            text: inserted,
        });
    }
    edits.sort_by_key(|e| (e.region.start.offset, e.region.end.offset));
    let overlapping = edits
        .windows(2)
        .any(|w| w[1].region.start.offset < w[0].region.end.offset);
    (!overlapping && !edits.is_empty()).then_some(Suggestion {
        description: fix.description,
        applicability: fix.applicability,
        edits,
    })
}

/// The placeholder a person replaces with the reason.
pub const REASON_PLACEHOLDER: &str = "<why this rule does not apply here>";

/// The *Fixes* section `--explain RULE` ends with: what edits come with
/// the rule's findings and how safe they are to apply.
pub fn explanation(rule: &crate::RuleInfo) -> String {
    if rule.group == Group::Meta {
        return "## Fixes\n\nNone: fix the comment or the file as the message says.\n".to_string();
    }
    let code = match crate::rules::code_fixes(rule.id) {
        Some(text) => format!(
            "Rewrites of the code, per shape (`--fix` applies the machine-applicable\n\
             ones, `--fix --unsafe-fixes` the maybe-incorrect ones too, `--diff`\n\
             shows them; fixes with placeholders are only offered to editors):\n\n{text}"
        ),
        None => "No rewrite of the code itself is offered.\n".to_string(),
    };
    format!(
        "## Fixes\n\n{code}\nEvery finding also comes with a suppression comment above its line,\n\
         `// lifecycle-lint: allow({}) -- {REASON_PLACEHOLDER}`. It has a\n\
         placeholder (cargo JSON applicability `HasPlaceholders`, also in SARIF\n\
         `fixes`), so editors offer it as a quick fix and nothing applies it\n\
         unattended.\n",
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
            fixes: Vec::new(),
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
