//! Shape: a scope guard that removes the function's own subject from a map,
//! in a function that proposes to the consensus layer.
//!
//! The bug: `registry.remove(&id)` in a `scopeguard::guard` closure or a
//! `defer!` body of a function that forwards a proposal about `id` takes the
//! member (consumer, peer, session ..) out of this node's map on every exit,
//! including the return right after the proposal was sent and before it was
//! committed: the rest of the cluster still lists it, this node no longer
//! does, and when the proposal fails nobody puts it back.
//!
//! Look-alikes that are fine: `map.remove(&k)` in a guard of a function that
//! proposes nothing (ordinary cleanup of an in-flight table, a lock set, a
//! waiters map), and a removal whose key is not one of the function's
//! parameters (or the guard's own value): that is bookkeeping of something
//! else, not the subject of the proposal. Only the remove methods of maps and
//! sets count; their receiver must be some other value than the key.

use std::collections::HashSet;

use syn::{Expr, ExprMethodCall};

use crate::syntax::peel;

/// The methods that take an entry out of a map or a set.
const REMOVE_METHODS: &[&str] = &["remove", "remove_entry", "swap_remove", "shift_remove"];

/// `map.remove(&id)` (also `.remove(id.as_str())`, `.remove(&id.clone())`,
/// `.remove(&c.id)`) where the key is rooted at one of `subjects` and the map
/// is not: the text shown for it, e.g. `consumers.remove`.
pub(super) fn removal_of_subject(expr: &Expr, subjects: &HashSet<String>) -> Option<String> {
    let Expr::MethodCall(ExprMethodCall {
        receiver,
        method,
        args,
        ..
    }) = expr
    else {
        return None;
    };
    if !REMOVE_METHODS.contains(&method.to_string().as_str()) || args.len() != 1 {
        return None;
    }
    let key_root = root(&args[0])?;
    if !subjects.contains(&key_root) {
        return None;
    }
    let map = map_name(receiver)?;
    (root(receiver).as_deref() != Some(key_root.as_str())).then(|| format!("{map}.{method}"))
}

/// The local a key or map expression starts from: `id` in `&id.clone()`,
/// `c` in `c.id.as_str()`, `self` in `self.members.lock()`.
fn root(expr: &Expr) -> Option<String> {
    match peel(expr) {
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        Expr::Field(f) => root(&f.base),
        Expr::MethodCall(m) => root(&m.receiver),
        Expr::Reference(r) => root(&r.expr),
        Expr::Unary(u) => root(&u.expr),
        Expr::Try(t) => root(&t.expr),
        Expr::Await(a) => root(&a.base),
        _ => None,
    }
}

/// The map's name as written: the last field or local before the lock and
/// accessor calls (`self.consumers.lock().unwrap()` → `consumers`).
fn map_name(expr: &Expr) -> Option<String> {
    match peel(expr) {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => map_name(&f.base),
        },
        Expr::MethodCall(m) => map_name(&m.receiver),
        Expr::Reference(r) => map_name(&r.expr),
        Expr::Unary(u) => map_name(&u.expr),
        Expr::Try(t) => map_name(&t.expr),
        Expr::Await(a) => map_name(&a.base),
        _ => None,
    }
}
