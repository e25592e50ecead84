//! What a rule reports: a [`Finding`] at a span, with labels and help.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;

use crate::rules::RuleInfo;

/// How seriously a finding is taken. `Deny` fails the build or CI run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a piece of code is: its span, and the span of its last token.
///
/// Where spans can be joined (the CLI parses with span locations) `span`
/// covers the whole code. A proc-macro on stable Rust cannot join spans, so
/// there `span` is the first token's alone, and the macro underlines the
/// code from `span` to `last` instead.
#[derive(Debug, Clone, Copy)]
pub struct Extent {
    pub span: Span,
    pub last: Span,
}

impl Extent {
    /// The extent of a syntax node, from its first token to its last.
    pub fn of(node: &(impl ToTokens + ?Sized)) -> Extent {
        Extent::spanning(node.span(), node.to_token_stream())
    }

    /// The extent of `tokens`, whose joined span is `span`.
    pub fn spanning(span: Span, tokens: TokenStream) -> Extent {
        let last = tokens.into_iter().last().map_or(span, |tree| match tree {
            // The end of a group is its closing delimiter.
            TokenTree::Group(group) => group.span_close(),
            other => other.span(),
        });
        Extent { span, last }
    }
}

/// A bare span is code of one token (or already joined).
impl From<Span> for Extent {
    fn from(span: Span) -> Extent {
        Extent { span, last: span }
    }
}

impl<T: ToTokens + ?Sized> From<&T> for Extent {
    fn from(node: &T) -> Extent {
        Extent::of(node)
    }
}

/// A secondary location that explains the finding ("the proposal is sent here").
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    /// The last token of the labelled code (see [`Extent`]).
    pub last: Span,
    pub message: String,
}

/// One problem found by one rule.
///
/// `Span` is not `Send`: front ends map it to a location (line/column in the
/// CLI, a compile error in the proc-macro) on the thread that parsed the file.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleInfo,
    /// The offending code; the primary label of a rendered report.
    pub span: Span,
    /// The last token of the offending code (see [`Extent`]).
    pub last: Span,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: String,
    /// Rewrites of the code that fix it, decided by the shape that found it
    /// (usually none: only where the change is mechanical).
    pub fixes: Vec<Fix>,
}

impl Finding {
    pub fn new(
        rule: &'static RuleInfo,
        at: impl Into<Extent>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        let Extent { span, last } = at.into();
        Finding {
            rule,
            span,
            last,
            message: message.into(),
            labels: Vec::new(),
            help: help.into(),
            fixes: Vec::new(),
        }
    }

    /// Offers `fix` with the finding (one without edits is dropped).
    pub fn with_fix(mut self, fix: Option<Fix>) -> Finding {
        self.fixes.extend(fix.filter(|f| !f.edits.is_empty()));
        self
    }

    pub fn with_label(mut self, at: impl Into<Extent>, message: impl Into<String>) -> Finding {
        let Extent { span, last } = at.into();
        self.labels.push(Label {
            span,
            last,
            message: message.into(),
        });
        self
    }
}

/// How safe a fix is to apply without reading it, in rustc's words (cargo
/// JSON's `suggestion_applicability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "cli", derive(serde::Serialize, serde::Deserialize))]
pub enum Applicability {
    /// Certainly what the code meant: `--fix` applies it.
    MachineApplicable,
    /// Probably what was meant, but it changes what the code does in a way
    /// a person should confirm: applied only with `--fix --unsafe-fixes`.
    MaybeIncorrect,
    /// Holds a placeholder (`/* ... */`) a person must fill in: never
    /// applied by the tool, offered to editors as a quick fix.
    HasPlaceholders,
}

impl Applicability {
    /// The name cargo JSON and rust-analyzer use.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::MachineApplicable => "MachineApplicable",
            Applicability::MaybeIncorrect => "MaybeIncorrect",
            Applicability::HasPlaceholders => "HasPlaceholders",
        }
    }
}

/// Where an [`Edit`] goes relative to its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The text replaces the span's code.
    Replace,
    /// The text goes right before the span.
    Before,
    /// The text goes right after the span.
    After,
    /// The text is a statement put before the span, which starts a
    /// statement: on a line of its own with the span's indentation when the
    /// span starts its line, else on the same line followed by a space.
    /// (The engine does not see the file's whitespace; the front end does.)
    LineBefore,
}

/// One change of a [`Fix`]: text at a span of the linted file.
#[derive(Debug, Clone)]
pub struct Edit {
    pub span: Span,
    pub placement: Placement,
    pub text: String,
}

impl Edit {
    pub fn replace(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            placement: Placement::Replace,
            text: text.into(),
        }
    }

    pub fn before(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            placement: Placement::Before,
            text: text.into(),
        }
    }

    pub fn line_before(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            placement: Placement::LineBefore,
            text: text.into(),
        }
    }
}

/// A rewrite that fixes a finding: all its edits apply together.
#[derive(Debug, Clone)]
pub struct Fix {
    /// What it does, for the person choosing it ("make the interval with
    /// `interval_at(..)`, so its first tick waits a period").
    pub description: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn new(description: impl Into<String>, applicability: Applicability) -> Fix {
        Fix {
            description: description.into(),
            applicability,
            edits: Vec::new(),
        }
    }

    pub fn with_edit(mut self, edit: Edit) -> Fix {
        self.edits.push(edit);
        self
    }
}

#[cfg(all(test, feature = "span-locations"))]
mod tests {
    use super::*;

    #[test]
    fn an_extent_ends_at_the_last_token_of_its_node() {
        let expr: syn::Expr = syn::parse_str("scopeguard::guard(c, |c| c.delete())").unwrap();
        let extent = Extent::of(&expr);
        // `span` is joined here (span locations); `last` is the closing paren.
        assert_eq!(extent.span.start().column, 0);
        assert_eq!(extent.last.start().column, 35);
        assert_eq!(extent.last.end(), extent.span.end());

        let lone = proc_macro2::Span::call_site();
        let from_span = Extent::from(lone);
        assert_eq!(from_span.last.start(), from_span.span.start());
    }
}
