//! The rules: one module per rule, registered in [`RULES`].
//!
//! A rule module declares its [`RuleInfo`] with [`declare_rule!`] — whose doc
//! comment (*What it flags / Why it is a bug / Example / Fix*) is exactly what
//! `cargo lifecycle-lint --explain RULE` prints and what SARIF carries as help —
//! and exports `fn check(&Context, &mut Vec<Finding>)`. Adding a rule is one
//! new file plus one line in [`RULES`].

use crate::engine::Context;
use crate::finding::{Finding, Level};
use crate::prefilter::Needs;

/// Declares a rule's metadata; the doc comment becomes its `--explain` text.
/// A rule reads syntax unless declared with `reads = Comments` or `Files`,
/// and belongs to the `lifecycle` group unless declared with `group = ..`.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $name:ident = $id:literal, $level:ident, $summary:literal $(,)?
    ) => {
        declare_rule! { $(#[doc = $doc])* $name = $id, $level, $summary, reads = Syntax, group = Lifecycle }
    };
    (
        $(#[doc = $doc:literal])*
        $name:ident = $id:literal, $level:ident, $summary:literal, reads = $reads:ident $(,)?
    ) => {
        declare_rule! { $(#[doc = $doc])* $name = $id, $level, $summary, reads = $reads, group = Lifecycle }
    };
    (
        $(#[doc = $doc:literal])*
        $name:ident = $id:literal, $level:ident, $summary:literal, reads = $reads:ident, group = $group:ident $(,)?
    ) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::RuleInfo = $crate::rules::RuleInfo {
            id: $id,
            default_level: $crate::finding::Level::$level,
            summary: $summary,
            reads: $crate::rules::Reads::$reads,
            group: $crate::rules::Group::$group,
            doc: concat!($($doc, "\n"),*),
        };
    };
}

pub mod deferred_delete;
mod groups;
pub mod invalid_suppression;
pub mod pointer_value_comparison;
pub mod silent_early_return;
pub mod timer_leak;
pub mod unparsable_file;
pub mod unused_suppression;

pub use groups::{select, suggestion, Group, Selection};

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The syntax tree: checked by the engine, in the CLI and the proc-macro alike.
    Syntax,
    /// Comments, which syn drops: reported by the CLI's suppression step
    /// (`cli/suppress.rs`), which reads the source text. The engine's
    /// `check` for such a rule finds nothing.
    Comments,
    /// The file as a whole: reported by the CLI when it cannot read a file
    /// as Rust (`cli/analyze.rs`). The engine's `check` finds nothing.
    Files,
}

/// Static description of a rule.
#[derive(Debug)]
pub struct RuleInfo {
    /// The public, stable ID (`deferred_delete`).
    pub id: &'static str,
    pub default_level: Level,
    /// One line for `--list-rules`.
    pub summary: &'static str,
    pub reads: Reads,
    /// The group that `-W GROUP` and `[rules] GROUP = ..` set with it.
    pub group: Group,
    /// The doc comment as written (each line keeps rustdoc's leading space).
    doc: &'static str,
}

impl RuleInfo {
    /// The rule's documentation in Markdown: what `--explain` prints.
    pub fn explanation(&self) -> String {
        let mut text = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            text.push_str(line.strip_prefix(' ').unwrap_or(line));
            text.push('\n');
        }
        text
    }
}

/// A registered rule: its description and its check.
#[derive(Clone, Copy)]
pub struct Rule {
    pub info: &'static RuleInfo,
    pub check: fn(&Context<'_>, &mut Vec<Finding>),
    /// What a file must contain for `check` to have anything to report
    /// (see [`crate::prefilter`]).
    pub needs: Needs,
    /// What an item of such a file must contain for `check` to read it
    /// (see [`crate::items`]): the rule's needs, unless what it reports
    /// depends on items that meet none of them (a value comparison
    /// elsewhere in a file that compares by pointer).
    pub item_needs: Needs,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Rule").field(&self.info.id).finish()
    }
}

/// Every rule, in the order `--list-rules` shows them.
pub static RULES: &[Rule] = &[
    Rule {
        info: &deferred_delete::INFO,
        check: deferred_delete::check,
        needs: deferred_delete::NEEDS,
        item_needs: deferred_delete::NEEDS,
    },
    Rule {
        info: &timer_leak::INFO,
        check: timer_leak::check,
        needs: timer_leak::NEEDS,
        item_needs: timer_leak::NEEDS,
    },
    Rule {
        info: &silent_early_return::INFO,
        check: silent_early_return::check,
        needs: silent_early_return::NEEDS,
        item_needs: silent_early_return::NEEDS,
    },
    Rule {
        info: &pointer_value_comparison::INFO,
        check: pointer_value_comparison::check,
        needs: pointer_value_comparison::NEEDS,
        item_needs: pointer_value_comparison::ITEM_NEEDS,
    },
    Rule {
        info: &unused_suppression::INFO,
        check: unused_suppression::check,
        needs: Needs::NEVER,
        item_needs: Needs::NEVER,
    },
    Rule {
        info: &invalid_suppression::INFO,
        check: invalid_suppression::check,
        needs: Needs::NEVER,
        item_needs: Needs::NEVER,
    },
    Rule {
        info: &unparsable_file::INFO,
        check: unparsable_file::check,
        needs: Needs::NEVER,
        item_needs: Needs::NEVER,
    },
];

/// Looks a rule up by its ID.
/// What a rule's shapes offer as rewrites of the code (its `FIXES`), for
/// the *Fixes* section of `--explain`; `None` for rules that offer none.
pub fn code_fixes(id: &str) -> Option<&'static str> {
    match id {
        "timer_leak" => Some(timer_leak::FIXES),
        "silent_early_return" => Some(silent_early_return::FIXES),
        _ => None,
    }
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.info.id == id)
}

/// The rules that read syntax: all the proc-macro can check or allow.
pub fn syntax_rules() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().filter(|r| r.info.reads == Reads::Syntax)
}
