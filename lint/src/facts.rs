//! Facts that cross files, gathered in a first pass over the whole crate.
//!
//! Today: which types delete something when they are dropped, so that
//! `let _g = ConsumerGuard::new(c);` in one file is recognised as a deferred
//! delete when `impl Drop for ConsumerGuard` lives in another. Facts hold only
//! strings (no spans), so they can be gathered on worker threads and merged.
//!
//! A crate's own types are known by name. Types of the other members of its
//! cargo workspace are known too, but by crate: `guards::RemoveOnDrop` counts
//! only where the file names it through that crate (`use guards::RemoveOnDrop`
//! or `guards::RemoveOnDrop::new(..)`), since the same name in another crate
//! is another type.

use std::collections::BTreeMap;

use syn::visit::Visit;
use syn::{Expr, ImplItem, Item};

use crate::macro_bodies::MacroBodies;
use crate::prefilter::{Needs, Trigger::*};
use crate::syntax::{any_expr, callee_name, last_segment};
use crate::vocabulary::{Vocabulary, Word};

/// A type whose `Drop` impl calls a delete-like function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletingDrop {
    /// The delete-like call the `drop` body makes, e.g. `delete` or `remove_consumer`.
    pub delete_call: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrateFacts {
    deleting_drops: BTreeMap<String, DeletingDrop>,
    /// Deleting types of other members of the workspace: (type, crate).
    foreign_deleting_drops: BTreeMap<(String, String), DeletingDrop>,
}

impl CrateFacts {
    /// What a file must contain to contribute facts: a `Drop` impl whose
    /// body calls a delete-like function (see [`crate::prefilter`]).
    pub const NEEDS: Needs = Needs(&[&[Regex(r"\bDrop\s+for\b")], &[Vocabulary(Word::Delete)]]);

    /// Gathers facts from every file of a crate.
    pub fn collect<'f>(
        files: impl IntoIterator<Item = &'f syn::File>,
        vocabulary: &Vocabulary,
    ) -> CrateFacts {
        let mut facts = CrateFacts::default();
        for file in files {
            facts.merge(CrateFacts::of_file(file, vocabulary));
        }
        facts
    }

    /// The facts one file contributes.
    pub fn of_file(file: &syn::File, vocabulary: &Vocabulary) -> CrateFacts {
        let bodies = MacroBodies::parse(file);
        let mut collect = Collect {
            vocabulary,
            bodies: &bodies,
            facts: CrateFacts::default(),
        };
        collect.visit_file(file);
        collect.facts
    }

    pub fn merge(&mut self, other: CrateFacts) {
        self.deleting_drops.extend(other.deleting_drops);
        self.foreign_deleting_drops
            .extend(other.foreign_deleting_drops);
    }

    /// If values of the type named `type_name` (last path segment) delete on drop.
    pub fn deleting_drop(&self, type_name: &str) -> Option<&DeletingDrop> {
        self.deleting_drops.get(type_name)
    }

    /// If the type `type_name` of the workspace member crate `krate` deletes on drop.
    pub fn foreign_deleting_drop(&self, type_name: &str, krate: &str) -> Option<&DeletingDrop> {
        self.foreign_deleting_drops
            .get(&(type_name.to_string(), krate.to_string()))
    }

    /// Whether any type of another workspace member is known.
    pub fn has_foreign(&self) -> bool {
        !self.foreign_deleting_drops.is_empty()
    }

    /// Records a deleting type of another member of the workspace, the crate `krate`.
    pub fn insert_foreign_deleting_drop(
        &mut self,
        type_name: String,
        krate: String,
        drop: DeletingDrop,
    ) {
        self.foreign_deleting_drops.insert((type_name, krate), drop);
    }

    /// The names of every deleting type, the workspace's other members' included.
    pub fn deleting_drop_types(&self) -> impl Iterator<Item = &str> {
        self.deleting_drops
            .keys()
            .chain(self.foreign_deleting_drops.keys().map(|(t, _)| t))
            .map(String::as_str)
    }

    /// Every deleting type with what its `Drop` calls (for caches to store).
    pub fn deleting_drops(&self) -> impl Iterator<Item = (&str, &DeletingDrop)> {
        self.deleting_drops.iter().map(|(t, d)| (t.as_str(), d))
    }

    /// Records a deleting type (for caches to restore).
    pub fn insert_deleting_drop(&mut self, type_name: String, drop: DeletingDrop) {
        self.deleting_drops.insert(type_name, drop);
    }
}

struct Collect<'a> {
    vocabulary: &'a Vocabulary,
    bodies: &'a MacroBodies,
    facts: CrateFacts,
}

impl<'a> Visit<'a> for Collect<'a> {
    fn visit_item(&mut self, item: &'a Item) {
        if let Item::Impl(imp) = item {
            let is_drop = imp
                .trait_
                .as_ref()
                .is_some_and(|(_, path, _)| last_segment(path).as_deref() == Some("Drop"));
            let type_name = match &*imp.self_ty {
                syn::Type::Path(p) => last_segment(&p.path),
                _ => None,
            };
            if let (true, Some(type_name)) = (is_drop, type_name) {
                for drop_fn in imp.items.iter().filter_map(|i| match i {
                    ImplItem::Fn(f) if f.sig.ident == "drop" => Some(f),
                    _ => None,
                }) {
                    let mut delete_call = None;
                    any_expr(&drop_fn.block, self.bodies, |e: &Expr| {
                        match callee_name(e) {
                            Some(name) if self.vocabulary.is_delete(&name) => {
                                delete_call = Some(name);
                                true
                            }
                            _ => false,
                        }
                    });
                    if let Some(delete_call) = delete_call {
                        self.facts
                            .deleting_drops
                            .insert(type_name.clone(), DeletingDrop { delete_call });
                    }
                }
            }
        }
        syn::visit::visit_item(self, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_drop_impls_that_delete_and_ignores_those_that_only_count_or_log() {
        let a: syn::File = syn::parse_str(
            "impl Drop for ConsumerGuard { fn drop(&mut self) { if self.armed { self.consumer.delete(); } } }
             impl Drop for Inflight { fn drop(&mut self) { self.deletes_inflight.fetch_sub(1, SeqCst); } }",
        )
        .unwrap();
        let b: syn::File = syn::parse_str(
            "impl<T> std::ops::Drop for LeaseGuard<T> { fn drop(&mut self) { tokio::spawn(async move { revoke_lease(id).await }); } }
             impl Drop for Logged { fn drop(&mut self) { tracing::info!(\"dropped\"); } }",
        )
        .unwrap();
        let facts = CrateFacts::collect([&a, &b], &Vocabulary::default());
        assert_eq!(
            facts.deleting_drop_types().collect::<Vec<_>>(),
            ["ConsumerGuard", "LeaseGuard"]
        );
        assert_eq!(
            facts.deleting_drop("LeaseGuard").unwrap().delete_call,
            "revoke_lease"
        );
    }
}
