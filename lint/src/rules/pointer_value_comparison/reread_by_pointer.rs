//! Versioned state re-read from a watch channel, an `ArcSwap` or a map, and
//! compared by pointer to decide whether it changed.
//!
//! The bug: a cluster layout, a configuration, an epoch or a shard map
//! is published again after a reload or a replication round as a new
//! allocation with the same version, so "changed" fires for nothing; where
//! the comparison keeps an address (a `Weak`, a raw pointer) a freed
//! value's address is reused by the next one and a real change is missed.
//!
//! Fine and alike: the same comparison on something whose identity is its
//! address (a channel end, a task, a connection, a mutable object behind a
//! lock), which the noun and the declared type rule out; a fast path
//! before a value comparison; "is the entry still mine" right before the
//! function removes it from the same map; a versioned value compared by
//! pointer with nothing re-read (a field against a parameter): that one is
//! reported only next to a value comparison of its kind.

use crate::finding::Finding;

use super::walk::Comparison;
use super::{aba, INFO};

pub(super) fn finding(pointer: &Comparison) -> Finding {
    let noun = &pointer.noun;
    let source = pointer.source.map_or("a holder", |s| s.describe());
    Finding::new(
        &INFO,
        pointer.span,
        format!(
            "`{}` decides by pointer whether {} re-read from {source} changed: the same {} \
             published again (a reload, a replicated copy) is a new allocation and looks \
             changed{}",
            pointer.text,
            noun.a(),
            noun.singular,
            aba(pointer)
        ),
        format!(
            "compare the version the {} carries (a version number, an epoch, a raft index) or \
             its contents, and compare {} the same way everywhere",
            noun.singular,
            noun.plural()
        ),
    )
}
