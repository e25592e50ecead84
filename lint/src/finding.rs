//! What a rule reports: a [`Finding`] at a span, with labels and help.

use proc_macro2::Span;

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

/// A secondary location that explains the finding ("the proposal is sent here").
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
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
    pub message: String,
    pub labels: Vec<Label>,
    pub help: String,
}

impl Finding {
    pub fn new(
        rule: &'static RuleInfo,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            span,
            message: message.into(),
            labels: Vec::new(),
            help: help.into(),
        }
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Finding {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
}
