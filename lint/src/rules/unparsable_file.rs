//! `unparsable_file`: a Rust file the parser cannot read, reported by the
//! CLI instead of failing the run.
//!
//! The engine never sees such a file (there is no tree to check), so its
//! `check` finds nothing; `cli/analyze.rs` turns the parse error into a
//! finding of this rule at the error's position.

use crate::engine::Context;
use crate::finding::Finding;

declare_rule! {
    /// ## What it flags
    ///
    /// A `.rs` file that is not Rust the linter can read: a syntax error,
    /// Rust 2015 syntax that `syn` 2 no longer accepts (anonymous trait
    /// method parameters such as `fn f(u8);`, some bare trait objects), or a
    /// file that is not UTF-8. The finding sits at the position of the
    /// error, and says what the parser expected there. The file is not
    /// linted; every other file still is.
    ///
    /// A cargo-script front matter header (a first line of three or more
    /// dashes, optionally after a `#!` line, up to the matching closing
    /// line) is skipped as rustc skips it, not reported.
    ///
    /// Only files some rule needs are parsed (see *Speed* in the README): a
    /// file that mentions none of the rules' words is not read as Rust, so a
    /// syntax error in it is reported only with `--parse-all`. A file named
    /// on the command line is always parsed.
    ///
    /// ## Why it is a bug
    ///
    /// It is not a lifecycle bug; it is a hole in the check. Whatever that
    /// file does — a per-iteration timer, a deferred delete — is not
    /// examined. It is a warning by default rather than a failed run,
    /// because real trees carry templates, deliberately invalid test inputs
    /// and vendored Rust 2015 crates, and adopting the linter should not
    /// break CI on a tree with no finding.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// pub trait Store {
    ///     fn remove(&mut self, u64); // Rust 2015: anonymous parameter
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// Fix the syntax (`fn remove(&mut self, key: u64);`), or exclude the
    /// file (`exclude = ["vendor/**"]` in the configuration) if it is not
    /// meant to be Rust. Make it fail CI with
    /// `[rules] unparsable_file = "deny"` (or `-D unparsable_file`), or turn
    /// it off with `"allow"`.
    INFO = "unparsable_file", Warn, "a Rust file the parser cannot read, so nothing in it is checked", reads = Files, group = Meta
}

/// Reported by the CLI from the parse result, never by the engine.
pub fn check(_cx: &Context<'_>, _out: &mut Vec<Finding>) {}
