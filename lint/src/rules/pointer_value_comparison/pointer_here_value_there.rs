//! One kind of state compared by pointer in one place and by value in
//! another, in one file.
//!
//! The bug: the file has two answers to "is it the same epoch": a value
//! re-created with the same contents (a reload, a replicated copy, a
//! consumer deleted and re-created with the same configuration) is equal
//! by value and different by pointer, so the two paths disagree exactly
//! when replication does its job. Both comparisons are reported, each
//! labelled at the other.
//!
//! Fine and alike: a pointer test and a value test of the same two values
//! in one function (a fast path); comparisons of identity fields
//! (`a.epoch == b.epoch`), with literals, constants or values built on the
//! spot; value equality in a file that never compares that kind by pointer.

use crate::finding::Finding;

use super::kinds::Family;
use super::walk::Comparison;
use super::{aba, where_, INFO};

fn help(comparison: &Comparison) -> String {
    format!(
        "compare an explicit identity in both places: the version, epoch, generation or raft index \
         the {} carries, or one `same_identity(a, b)` helper",
        comparison.noun.singular
    )
}

/// A versioned value compared by pointer in a file that also compares its
/// kind by value (an assignment's pointer comparison is reported anyway).
pub(super) fn pointer_finding(pointer: &Comparison, value: &Comparison) -> Finding {
    let noun = &pointer.noun;
    Finding::new(
        &INFO,
        pointer.span,
        format!(
            "`{}` compares {} by pointer while {} compares them by value: {} re-created with \
             the same contents is different here and equal there{}",
            pointer.text,
            noun.plural(),
            where_(value),
            noun.a(),
            aba(pointer)
        ),
        help(pointer),
    )
}

pub(super) fn value_finding(value: &Comparison, pointer: &Comparison) -> Finding {
    let noun = &value.noun;
    let why = match noun.family {
        Family::Assignment => format!(
            "{} deleted and re-created with the same contents is equal by value (ABA)",
            noun.a()
        ),
        Family::Versioned => format!(
            "{} re-created with the same contents (a reload, a replicated copy) is equal here \
             and different there",
            noun.a()
        ),
    };
    Finding::new(
        &INFO,
        value.span,
        format!(
            "`{}` compares whole {} by value while {} compares them by pointer: {why}",
            value.text,
            noun.plural(),
            where_(pointer)
        ),
        help(value),
    )
    .with_label(
        pointer.span,
        format!("{} are compared by pointer here", pointer.noun.plural()),
    )
}
