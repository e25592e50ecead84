//! Assignments, leases, placements and ownership records compared by
//! pointer.
//!
//! The bug: whether a consumer's assignment or a session's lease is still
//! "the one" is decided by address. The meta layer re-delivers, re-fetches
//! and deserializes these into new allocations, so an unchanged one looks
//! replaced, and the decision it feeds (force-delete, revoke, re-place)
//! runs for nothing. Every pointer comparison of these is reported: nothing
//! else in a replicated system has their identity by address.
//!
//! Fine and alike: `lease_id`, `LeaseManager`, `assignment_tx` (the last word
//! is not the noun); a pointer test that short-cuts a value test of the
//! same two values.

use crate::finding::Finding;

use super::walk::Comparison;
use super::{aba, INFO};

pub(super) fn finding(pointer: &Comparison) -> Finding {
    let noun = &pointer.noun;
    let fetched = match pointer.source {
        Some(source) => format!("{} re-read from {}", noun.a(), source.describe()),
        None => format!("a re-fetched or cloned {}", noun.singular),
    };
    let parts = if noun.key == "assignment" {
        " (name, stream, creation time, group)"
    } else {
        ""
    };
    Finding::new(
        &INFO,
        pointer.span,
        format!(
            "`{}` compares {} by pointer: {fetched} can be a new allocation of the same one, so an \
             unchanged {} looks replaced{}",
            pointer.text,
            noun.plural(),
            noun.singular,
            aba(pointer)
        ),
        format!(
            "compare an explicit identity instead: a generation, revision or raft index kept in \
             the {}, or one `same_identity(a, b)` helper{parts} used for every \
             comparison of {}",
            noun.singular,
            noun.plural()
        ),
    )
}
