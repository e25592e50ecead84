//! Shape: a `Drop` on a `Clone` type that deletes what the clones share.
//!
//! The bug: `Drop` runs once per value and a `Clone` type has one value per
//! clone. When its `Drop` removes a file or a directory, calls a delete on a
//! remote object or a registration, takes its own key out of a map, or
//! aborts the task its clones share (`self.task.abort()`), the first clone to
//! drop deletes what every other clone still holds and uses (a
//! `#[derive(Clone)]` temp-dir owner whose every copy removes the dir; a
//! client handle whose every copy aborts the one connection task). A manual
//! `impl Clone` that copies the path and duplicates the open handle
//! (`file.try_clone().unwrap()`) shares the file just the same.
//!
//! Look-alikes that are fine: a `Drop` that checks it is the last owner
//! (`Arc::strong_count`, `Arc::into_inner`/`get_mut`/`try_unwrap`, a
//! refcount or `fetch_sub`, an owner flag such as `owned`/`keep`/`persist`/
//! `armed` that the clones do not carry); the `Arc<Inner>` pattern, whose
//! `Drop` is on the `Inner` that is not `Clone`; an `impl Clone` that does
//! more than clone its fields (it allocates a new id or counts a reference,
//! so each clone owns its own resource). Types that are not `Clone` in the
//! same file are not looked at.

use proc_macro2::Span;
use syn::visit::{self, Visit};
use syn::Expr;

use super::{words_of, DropImpl, TypesOfFile};
use crate::engine::Context;
use crate::finding::{Extent, Finding};
use crate::syntax::{callee_name, peel};

/// Calls that delete a file or a directory.
const FS_REMOVES: &[&str] = &["remove_file", "remove_dir", "remove_dir_all"];

/// Calls and words of a last-owner check (`Arc::strong_count(&self.inner) == 1`,
/// `Arc::get_mut`, `refs.fetch_sub(1, ..) == 1`) or an owner flag.
pub(super) const LAST_OWNER_WORDS: &[&str] = &[
    "strong_count",
    "weak_count",
    "into_inner",
    "get_mut",
    "try_unwrap",
    "unwrap_or_clone",
    "fetch_sub",
    "is_unique",
    "count",
    "refcount",
    "refs",
    "rc",
    "owned",
    "owner",
    "owns",
    "keep",
    "persist",
    "armed",
    "disarmed",
    "leak",
    "last",
    "primary",
    "original",
    "detached",
    "should",
];

/// Reports, and returns the types reported.
pub(super) fn check(
    cx: &Context<'_>,
    types: &TypesOfFile<'_>,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    let mut reported = Vec::new();
    for drop in &types.drops {
        let Some(&clone_span) = types.shared_clones.get(&drop.type_name) else {
            continue;
        };
        let Some(site) = shared_delete(cx, drop) else {
            continue;
        };
        let words = words_of(drop.body);
        if words.iter().any(|w| LAST_OWNER_WORDS.contains(&w.as_str())) {
            // The one last-owner check that is itself the bug: a count read
            // while this handle still holds its reference.
            if let Some(check) = super::racy_last_owner::only_check(drop.body, &words) {
                out.push(super::racy_last_owner::report(
                    &drop.type_name,
                    &site,
                    check,
                    clone_span,
                ));
                reported.push(drop.type_name.clone());
            }
            continue;
        }
        out.push(report(&drop.type_name, &site, clone_span));
        reported.push(drop.type_name.clone());
    }
    reported
}

/// What the `Drop` deletes.
pub(super) enum What {
    Path,
    Delete,
    OwnKey,
    /// `self.task.abort()`: the task every clone shares.
    Abort,
}

pub(super) struct Site {
    pub name: String,
    pub span: Extent,
    pub what: What,
}

/// The first call in the `Drop` body that deletes something the clones share.
fn shared_delete(cx: &Context<'_>, drop: &DropImpl<'_>) -> Option<Site> {
    struct Find<'c, 'a> {
        cx: &'c Context<'a>,
        found: Option<Site>,
    }
    impl<'a> Visit<'a> for Find<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found.is_some() {
                return;
            }
            if let Some(name) = callee_name(e) {
                let what = if FS_REMOVES.contains(&name.as_str()) {
                    Some(What::Path)
                } else if self.cx.vocabulary.is_delete(&name) {
                    Some(What::Delete)
                } else if removes_own_key(e) {
                    Some(What::OwnKey)
                } else if aborts_own_task(e) {
                    Some(What::Abort)
                } else {
                    None
                };
                if let Some(what) = what {
                    self.found = Some(Site {
                        name,
                        span: Extent::of(e),
                        what,
                    });
                    return;
                }
            }
            visit::visit_expr(self, e);
        }
        fn visit_macro(&mut self, mac: &'a syn::Macro) {
            crate::macro_bodies::walk_macro(self, self.cx.bodies, mac);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut find = Find { cx, found: None };
    find.visit_block(drop.body);
    find.found
}

/// `map.remove(&self.id)`: a key the value carries, from a map it does not
/// own (not `self.id.remove(..)`).
pub(super) fn removes_own_key(e: &Expr) -> bool {
    let Expr::MethodCall(m) = e else { return false };
    if !matches!(m.method.to_string().as_str(), "remove" | "remove_entry") || m.args.len() != 1 {
        return false;
    }
    let Some(key) = self_field(&m.args[0]) else {
        return false;
    };
    // `self.id.remove(..)`: the key is the map.
    self_field(&m.receiver).as_deref() != Some(key.as_str())
}

/// `self.poll_task.abort()`: a task (an `AbortHandle`, a `JoinHandle`
/// behind an `Arc`) held in a field, which every clone of the value holds.
fn aborts_own_task(e: &Expr) -> bool {
    let Expr::MethodCall(m) = e else { return false };
    m.method == "abort" && m.args.is_empty() && self_field(&m.receiver).is_some()
}

/// `self.name` (through `&`, `.clone()`, `.as_str()` ..): the field's name.
pub(super) fn self_field(expr: &Expr) -> Option<String> {
    match peel(expr) {
        Expr::Field(f) => match (&*f.base, &f.member) {
            (Expr::Path(p), syn::Member::Named(name)) if p.path.is_ident("self") => {
                Some(name.to_string())
            }
            _ => self_field(&f.base),
        },
        Expr::MethodCall(m) if m.args.is_empty() => self_field(&m.receiver),
        _ => None,
    }
}

fn report(type_name: &str, site: &Site, clone_span: Span) -> Finding {
    let name = &site.name;
    let (verb, held) = match site.what {
        What::Path => ("deletes", "the file or directory"),
        What::Delete => ("deletes", "the resource"),
        What::OwnKey => ("deletes", "the entry"),
        What::Abort => ("aborts", "the task"),
    };
    let message = format!(
        "`{type_name}` is `Clone` and its `Drop` calls `{name}` with no last-owner check: \
         the first clone to drop {verb} {held} that every other clone of it still holds and uses"
    );
    let help = format!(
        "keep what `{type_name}` {verb} in an `Arc<Inner>` and move the `Drop` to `Inner` (the \
         last owner runs it, exactly once), or decide with `Arc::into_inner`/an owner flag \
         before calling `{name}`; or do not make `{type_name}` `Clone`"
    );
    Finding::new(&super::INFO, site.span, message, help)
        .with_label(clone_span, "`Clone` here: every clone runs the same `Drop`")
}
