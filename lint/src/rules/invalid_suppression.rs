//! `invalid_suppression`: a suppression comment without a reason, naming an
//! unknown rule, or not in the expected form.
//!
//! Reported by the CLI's suppression step (`cli/suppress.rs`): syn drops
//! comments, so the engine never sees them.

use crate::engine::Context;
use crate::finding::Finding;

declare_rule! {
    /// ## What it flags
    ///
    /// A comment that starts with `lifecycle-lint:` but is not a valid
    /// suppression. The form is
    ///
    /// ```text
    /// // lifecycle-lint: allow(RULE[, RULE..]) -- why the rule does not apply here
    /// ```
    ///
    /// and it is flagged when the reason after ` -- ` is missing or empty,
    /// when a name in `allow(..)` is not a rule (`--list-rules` lists them), or
    /// when the text is not in that form at all.
    ///
    /// A suppression without a reason, or with an unknown rule among known
    /// ones, still suppresses the known rules: this finding is the one thing
    /// left to fix. A comment that is not in the form suppresses nothing.
    ///
    /// ## Why it is a bug
    ///
    /// A suppression is a claim that a lifecycle rule does not apply here. The
    /// reason is what lets a reviewer check that claim, and what the next
    /// person reads before changing the code; without it the finding is just
    /// hidden. A misspelt rule suppresses nothing, so the comment promises
    /// something it does not do.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// // lifecycle-lint: allow(timer_leak)
    /// let tick = tokio::time::interval(period);
    /// ```
    ///
    /// ## Fix
    ///
    /// Say why, after ` -- `:
    ///
    /// ```rust,ignore
    /// // lifecycle-lint: allow(timer_leak) -- the first tick is awaited on purpose
    /// let tick = tokio::time::interval(period);
    /// ```
    INFO = "invalid_suppression", Deny, "a suppression comment without a reason, with an unknown rule, or malformed", reads = Comments, group = Meta
}

/// Nothing: this rule reads comments, which syn does not keep.
pub fn check(_: &Context<'_>, _: &mut Vec<Finding>) {}
