//! `unused_suppression`: a suppression comment that suppresses nothing.
//!
//! Reported by the CLI's suppression step (`cli/suppress.rs`): syn drops
//! comments, so the engine never sees them.

use crate::engine::Context;
use crate::finding::Finding;

declare_rule! {
    /// ## What it flags
    ///
    /// A suppression comment, `// lifecycle-lint: allow(RULE) -- reason`, naming
    /// a rule that reports nothing in the code the comment covers: the line
    /// after it (or its own line, at the end of code), the item after it, or
    /// the whole file (`//!` at the top).
    ///
    /// Rules turned off (level `allow`) are not counted: they report nothing
    /// anywhere, so their suppressions are not stale.
    ///
    /// ## Why it is a bug
    ///
    /// A suppression outlives the finding it was written for. Once the code is
    /// fixed or moved, the stale comment silently covers the next real bug
    /// that lands on that line or in that item, and readers keep trusting a
    /// reason that no longer describes the code.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// // lifecycle-lint: allow(timer_leak) -- the sleep is the retry backoff
    /// let delay = backoff.next();
    /// ```
    ///
    /// ## Fix
    ///
    /// Delete the comment, or drop the rule that no longer reports from its
    /// `allow(..)` list.
    INFO = "unused_suppression", Warn, "a suppression comment that suppresses nothing", reads = Comments, group = Meta
}

/// Nothing: this rule reads comments, which syn does not keep.
pub fn check(_: &Context<'_>, _: &mut Vec<Finding>) {}
