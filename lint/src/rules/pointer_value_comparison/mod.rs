//! `pointer_value_comparison`: the identity of replicated state decided by
//! pointer, or by pointer in one place and by value in another.
//!
//! The analysis is per function and flow-insensitive: `walk` finds every
//! comparison of two states (by name or declared type, see `kinds`) with
//! where its operands were re-read from; the shapes decide which of them
//! are findings:
//! - `assignment_by_pointer`: assignments, leases, placements by pointer;
//! - `reread_by_pointer`: versioned state (layouts, configurations, epochs,
//!   shard maps ...) re-read from a watch channel, an `ArcSwap` or a map and
//!   compared by pointer;
//! - `pointer_here_value_there`: one kind compared by pointer and by value
//!   in one file;
//! - `address_as_id`: the address of a value re-read from a slot kept as a
//!   number and compared later (its own walk: the noun does not matter).

mod address_as_id;
mod assignment_by_pointer;
mod kinds;
mod pointer_here_value_there;
mod reread_by_pointer;
mod walk;

use proc_macro2::Span;

use crate::engine::Context;
use crate::finding::Finding;
use crate::prefilter::{Needs, Trigger, Trigger::*};
use kinds::{Declared, Family};
use walk::{Compare, Comparison};

declare_rule! {
    /// ## What it flags
    ///
    /// Replicated state whose identity is decided by pointer:
    /// `Arc::ptr_eq(&a, &b)`, `Rc::ptr_eq`, `Weak::ptr_eq`, `std::ptr::eq`,
    /// `ptr::addr_eq`, `a.as_ptr() == b.as_ptr()`,
    /// `Arc::as_ptr(&a) == Arc::as_ptr(&b)`, `as *const` casts. What an operand
    /// is comes from its name (its last word: `nca`, `current_lease`,
    /// `self.layout`, `nodes_config`), its declared type (a parameter, typed
    /// `let`, struct field or return type in the same file: `&Arc<ClusterLayout>`,
    /// `watch::Receiver<Arc<Config>>`, `HashMap<TableId, Arc<ShardMap>>`) or the
    /// holder it was read from (`config_rx.borrow()`, `self.shard_maps.get(&t)`).
    ///
    /// - **Assignments** (consumer and stream assignments, leases, placements,
    ///   ownership records; the `assignment` vocabulary): every pointer
    ///   comparison.
    /// - **Versioned state** (cluster layouts, loglets and log segments,
    ///   configurations, epochs, membership, topology, shard maps, schemas,
    ///   routing and partition tables; the `versioned` vocabulary): a pointer
    ///   comparison where one side was re-read from a watch channel
    ///   (`borrow()`, `borrow_and_update()`), an `ArcSwap` (`load()`,
    ///   `load_full()`), a map (`get`, `[]`) or a lookup named after the state
    ///   (`meta.consumer_assignment(&s, &n)`).
    /// - **Pointer here, value there**: in a file that compares one kind by
    ///   pointer, every comparison of whole values of that kind by value
    ///   (`new_epoch != epoch`, `assert_eq!(ca, nca)`), and the pointer
    ///   comparison with it, each labelled at the other: the file has two
    ///   notions of "the same epoch", and at most one of them is right.
    /// - **An address kept as an id**: `let id = Arc::as_ptr(&conn) as usize;`
    ///   (or `x.as_ptr() as usize`, `&*x as *const _ as usize`, a bare
    ///   `Arc::as_ptr(&x)`) where `conn` was re-read from a slot (`ArcSwap`
    ///   `load()`, a lock's `read()`/`lock()`, a watch `borrow()`, a map
    ///   `get`), then compared with `==`/`!=` with another such id: whatever
    ///   the value is (a connection too), once the old value is freed its
    ///   address can be given to its replacement, and "replaced?" answers no.
    ///
    /// Not flagged: pointer equality on things whose identity is their
    /// address, while both are held: channels and their ends (`config_tx`,
    /// `layout_rx`), tasks, wakers, `Notify`, connections, clients, pools,
    /// nodes, `self` against another handle, and versioned values behind a
    /// lock (`Arc<RwLock<Segment>>`, a mutable object); an address of
    /// something not re-read from a slot, or compared with a literal;
    /// `same_channel`/`will_wake`; comparisons of identity
    /// fields (`a.generation == b.generation`, `.version`, `.epoch`, `.id`);
    /// option checks and comparisons with literals, constants or values built
    /// on the spot; fast paths (`Arc::ptr_eq(a, b) || a == b`, or a pointer
    /// test and a value test of the same two values in one function); "is the
    /// map entry still mine" before removing it from that map; a versioned
    /// value compared by pointer with nothing re-read and no value comparison
    /// of its kind in the file; tests.
    ///
    /// ## Why it is a bug
    ///
    /// A pointer is not the identity of replicated state. A re-fetched,
    /// reloaded, cloned or deserialized value is a new allocation: after a
    /// reload or a replication round the same logical layout or configuration
    /// arrives in a new `Arc`, so by pointer it looks changed, and whatever
    /// runs on "changed" (a reconfiguration, a restart, a forced delete) runs
    /// for nothing. Where an address outlives its value (a `Weak`, a stored
    /// raw pointer) a freed value's address can be handed to the next one, so
    /// a real change compares equal and is missed (ABA). Value equality is not
    /// the identity either: a consumer deleted and re-created with the same
    /// configuration is equal by value; comparing by pointer in one place and
    /// by value in another gives two answers to one question.
    ///
    /// An address kept as a number outlives its value by construction: a
    /// reconnect guard that remembers `Arc::as_ptr(&conn) as usize` and
    /// compares it after a failure can see the new connection at the old
    /// connection's address and skip the reconnect (ombrac's client did).
    ///
    /// The review of nats-server PR 7792 is the story: `deleteNotActive`
    /// changed `reflect.DeepEqual(nca, ca)` (value) into
    /// `nca != o.consumerAssignment()` (pointer), and the two answers differ
    /// exactly when the meta layer re-creates or re-delivers an assignment.
    /// The decision they feed is whether to force-delete a consumer.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// fn delete_not_active(&self, ca: &Arc<ConsumerAssignment>) {
    ///     let nca = self.js.consumer_assignment(&self.stream, &self.name);
    ///     if nca.as_ref().map_or(true, |nca| !Arc::ptr_eq(nca, ca)) {
    ///         self.delete(); // also on a mere re-fetch of the same assignment
    ///     }
    /// }
    ///
    /// async fn follow(mut layout_rx: watch::Receiver<Arc<ClusterLayout>>, mut applied: Arc<ClusterLayout>) {
    ///     while layout_rx.changed().await.is_ok() {
    ///         let layout = layout_rx.borrow_and_update().clone();
    ///         if !Arc::ptr_eq(&layout, &applied) {
    ///             rebalance(&layout).await; // also when the same version is re-published
    ///             applied = layout;
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// Compare an explicit identity: the version, epoch, generation or raft
    /// index the state carries, or one `same_identity` helper used
    /// everywhere.
    ///
    /// ```rust,ignore
    /// impl ConsumerAssignment {
    ///     fn same_identity(&self, other: &Self) -> bool {
    ///         self.name == other.name && self.stream == other.stream && self.created == other.created
    ///     }
    /// }
    ///
    /// fn delete_not_active(&self, ca: &Arc<ConsumerAssignment>) {
    ///     let nca = self.js.consumer_assignment(&self.stream, &self.name);
    ///     if nca.as_ref().map_or(true, |nca| !nca.same_identity(ca)) {
    ///         self.delete();
    ///     }
    /// }
    ///
    /// // and in `follow`: `if layout.version != applied.version { .. }`
    /// ```
    INFO = "pointer_value_comparison",
    Warn,
    "replicated state (assignments, leases, layouts, configurations, epochs ...) compared by pointer identity, or by pointer in one place and by value in another"
}

/// Value comparisons are reported only in files that compare by pointer,
/// and every pointer comparison is spelled with one of these: `ptr_eq`,
/// `ptr::eq`, `addr_eq`, `as_ptr`, `ptr::from_ref`, or a cast to a raw
/// pointer (`as *const`, `as *mut`). Raw-pointer types alone are not
/// enough: FFI bindings are full of them. Nor is an address alone: it is
/// compared (`ptr_eq`, `ptr::eq`, `addr_eq`, `==`, `!=`, `assert_eq!`,
/// `assert_ne!`) or it is no pointer comparison (an address kept as an id is
/// compared with `==` or `!=` too), so a file of FFI calls taking
/// `buf.as_ptr()` is not read.
pub const NEEDS: Needs = Needs(&[
    &[
        Word("ptr_eq"),
        Word("ptr::eq"),
        Word("addr_eq"),
        Word("as_ptr"),
        Word("ptr::from_ref"),
        Regex(r"\bas\s*\*\s*(?:const|mut)\b"),
    ],
    COMPARES,
]);

/// In a file that compares by pointer, every item that compares anything:
/// a value comparison in one function is reported against a pointer
/// comparison in another.
pub const ITEM_NEEDS: Needs = Needs(&[COMPARES]);

/// Every comparison the rule reads, by pointer or by value: `ptr_eq`,
/// `ptr::eq`, `addr_eq`, `==`, `!=`, `.eq(..)`, `.ne(..)`, `assert_eq!`,
/// `assert_ne!` (and their `debug_`, `prop_` forms).
const COMPARES: &[Trigger] = &[
    Word("ptr_eq"),
    Word("ptr::eq"),
    Word("addr_eq"),
    Text("=="),
    Text("!="),
    Text("assert_eq"),
    Text("assert_ne"),
    Regex(r"\.\s*(?:eq|ne)\s*\("),
];

pub fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let declared = Declared::of_file(cx);
    let comparisons = walk::comparisons(cx, &declared);
    report(&comparisons, out);
    address_as_id::check(cx, out);
}

fn report(comparisons: &[Comparison], out: &mut Vec<Finding>) {
    let of = |compare: Compare| -> Vec<&Comparison> {
        comparisons
            .iter()
            .filter(|c| c.compare == compare)
            .collect()
    };
    let (pointers, values) = (of(Compare::Pointer), of(Compare::Value));
    if pointers.is_empty() {
        return;
    }
    for pointer in &pointers {
        let value = nearest(&values, pointer);
        let finding = match pointer.noun.family {
            Family::Assignment => assignment_by_pointer::finding(pointer),
            Family::Versioned if pointer.source.is_some() => reread_by_pointer::finding(pointer),
            Family::Versioned => match value {
                Some(value) => pointer_here_value_there::pointer_finding(pointer, value),
                None => continue,
            },
        };
        out.push(match value {
            Some(value) => finding.with_label(
                value.span,
                format!("`{}` compares {} by value", value.text, value.noun.plural()),
            ),
            None => finding,
        });
    }
    for value in &values {
        if let Some(pointer) = nearest(&pointers, value) {
            out.push(pointer_here_value_there::value_finding(value, pointer));
        }
    }
}

/// The first comparison of `to`'s kind in `to`'s function, or else in the file.
fn nearest<'c>(comparisons: &[&'c Comparison], to: &Comparison) -> Option<&'c Comparison> {
    let same_kind = |c: &&&Comparison| c.noun.key == to.noun.key;
    comparisons
        .iter()
        .filter(same_kind)
        .find(|c| c.function == to.function)
        .or_else(|| comparisons.iter().find(same_kind))
        .copied()
}

/// "line 12", or the comparison's text where lines are not known.
fn where_(comparison: &Comparison) -> String {
    match line_of(comparison.span.span) {
        Some(line) => format!("line {line}"),
        None => format!("`{}`", comparison.text),
    }
}

#[cfg(feature = "span-locations")]
fn line_of(span: Span) -> Option<usize> {
    Some(span.start().line).filter(|&line| line > 0)
}

#[cfg(not(feature = "span-locations"))]
fn line_of(_: Span) -> Option<usize> {
    None
}

/// The ABA clause of a pointer message, when the comparison holds an address
/// that can outlive its value.
fn aba(comparison: &Comparison) -> String {
    if comparison.raw {
        format!(
            "; and the address of a freed {0} can be handed to the next one, so a replaced {0} \
             can compare equal (ABA)",
            comparison.noun.singular
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::kinds::{names_holder_of, names_state, type_says};
    use crate::vocabulary::Vocabulary;
    use std::collections::HashSet;

    #[test]
    fn names_count_by_their_last_word() {
        let v = Vocabulary::default();
        for yes in [
            "nca",
            "ca",
            "ConsumerAssignment",
            "current_lease",
            "lease",
            "ca_ref",
            "assignment_before",
            "old_ca",
            "lease_2",
            "cluster_layout",
            "new_config",
            "shard_map",
            "epoch",
        ] {
            assert!(names_state(&v, yes, false).is_some(), "{yes}");
        }
        for no in [
            "lease_id",
            "LeaseManager",
            "assignment_tx",
            "leases",
            "assignments",
            "ca_generation",
            "release",
            "current",
            "config_tx",
            "configs",
            "layout_rx",
            "lease_manager",
            "config_version",
            "shard",
        ] {
            assert!(names_state(&v, no, false).is_none(), "{no}");
        }
    }

    #[test]
    fn nouns_are_named_as_the_message_says_them() {
        let v = Vocabulary::default();
        let singular = |name: &str, is_type: bool| names_state(&v, name, is_type).unwrap().singular;
        assert_eq!(singular("ClusterLayout", true), "cluster layout");
        assert_eq!(singular("current_lease", false), "lease");
        assert_eq!(singular("nca", false), "consumer assignment");
        assert_eq!(singular("NodesConfig", true), "nodes configuration");
        assert_eq!(singular("routing_table", false), "routing table");
        let plural = |name: &str| names_state(&v, name, true).unwrap().plural();
        assert_eq!(plural("Topology"), "topologies");
        assert_eq!(plural("Lease"), "leases");
        assert_eq!(plural("Membership"), "memberships");
        let holder = |name: &str| names_holder_of(&v, name).map(|n| n.key);
        assert_eq!(holder("config_rx").as_deref(), Some("configuration"));
        assert_eq!(holder("shard_maps").as_deref(), Some("shard map"));
        assert_eq!(holder("senders"), None);
    }

    #[test]
    fn declared_types_see_through_holders_but_not_collections_or_locks() {
        let v = Vocabulary::default();
        let none = HashSet::new();
        let says = |src: &str| {
            type_says(&v, &syn::parse_str(src).unwrap(), &none).map(|n| n.map(|n| n.key))
        };
        assert_eq!(
            says("&Arc<ConsumerAssignment>").unwrap().as_deref(),
            Some("assignment")
        );
        assert_eq!(
            says("Option<Rc<RefCell<Lease>>>").unwrap().as_deref(),
            Some("lease")
        );
        assert_eq!(says("Arc<Notify>"), Some(None));
        assert_eq!(says("Vec<Lease>"), Some(None));
        assert_eq!(says("Arc<RwLock<Segment>>"), Some(None));
        assert_eq!(says("&Self"), None);
        let t: HashSet<String> = ["T".to_string()].into();
        assert_eq!(type_says(&v, &syn::parse_str("&Arc<T>").unwrap(), &t), None);
    }
}
