//! Shape: a `Drop` that removes a name-keyed entry from a shared map without
//! checking that the entry is still its own.
//!
//! The bug: a guard registered under a name (`registry.insert(name, ..)`)
//! removes `registry.remove(&self.name)` when it drops. If a newer instance
//! registered under the same name meanwhile (a restart, a reconnect, a
//! re-created table), the old guard's late drop removes the newer one's entry:
//! the name is gone from the map while its current owner still runs.
//!
//! Look-alikes that are fine: a guard that holds its name exclusively (the
//! code that builds it claims the name only when it is free: `Entry::Vacant`,
//! `contains_key`, `if set.insert(..)`, so no newer instance can register
//! while it lives; but code that evicts a stale occupant, `entry.remove()`,
//! and registers a newer guard under the same key takes the key over, and
//! the stale guard's late drop removes the newer entry) and one whose registration this file does not show (the
//! function that builds the guard must insert into a map and discard what it
//! replaced); a key unique per instance (`self.id`, a uuid, a
//! token, a slab key, a sequence number: nobody else holds it); a `Drop` that
//! compares before removing (`==`, `ptr_eq`, `remove_if`, `retain`, a
//! generation, epoch, version or id it reads); a map the value owns (no lock,
//! no static, no `Arc`/`Weak` field: nobody else inserts into it).

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{BinOp, Expr};

use super::clone_drop::self_field;
use super::{words_of, DropImpl, TypesOfFile};
use crate::engine::Context;
use crate::finding::Finding;
use crate::syntax::{peel, snake_case};

/// Words of a key that names something a newer instance can take over.
const NAME_WORDS: &[&str] = &[
    "name",
    "path",
    "topic",
    "addr",
    "address",
    "url",
    "uri",
    "host",
    "label",
    "peer",
    "endpoint",
    "table",
    "namespace",
    "bucket",
    "queue",
    "channel",
    "service",
    "subject",
    "file",
    "dir",
    "key",
    "pubkey",
    "account",
    "hash",
];

/// Words of a key unique to one instance.
const UNIQUE_WORDS: &[&str] = &[
    "id",
    "uuid",
    "token",
    "seq",
    "idx",
    "index",
    "generation",
    "epoch",
    "handle",
    "serial",
    "nonce",
    "slot",
    "pid",
    "ticket",
];

/// Words of a check that the entry is still this instance's.
const OWNERSHIP_WORDS: &[&str] = &[
    "ptr_eq",
    "remove_if",
    "retain",
    "generation",
    "gen",
    "epoch",
    "version",
    "id",
    "uuid",
    "token",
    "instance",
    "incarnation",
    "nonce",
    "current",
    "owner",
    "seq",
];

/// Calls on the way to a map that say someone else holds it too.
const SHARED_ACCESS: &[&str] = &[
    "lock",
    "write",
    "read",
    "borrow_mut",
    "upgrade",
    "lock_arc",
    "blocking_lock",
    "try_lock",
];

pub(super) fn check(
    cx: &Context<'_>,
    types: &TypesOfFile<'_>,
    already: &[String],
    out: &mut Vec<Finding>,
) {
    for drop in &types.drops {
        let Some((removal, map, key)) = name_keyed_removal(types, drop) else {
            continue;
        };
        if already.contains(&drop.type_name) {
            continue;
        }
        if compares(drop) || !registered_by_replacing(cx, &drop.type_name) {
            continue;
        }
        let type_name = &drop.type_name;
        let message = format!(
            "`Drop` for `{type_name}` removes the entry keyed by `self.{key}` from the shared \
             `{map}` without checking that the entry is still its own: when a newer instance \
             registered under the same {key} before this one dropped, this late drop removes \
             the newer instance's entry while it still runs"
        );
        let help = format!(
            "give each `{type_name}` an id or a generation, store it in the entry, and remove \
             only an entry that still carries it (`{map}.remove_if(&self.{key}, |_, e| e.id == \
             self.id)`, or compare before `remove`)"
        );
        out.push(Finding::new(&super::INFO, removal, message, help));
    }
}

/// The first `map.remove(&self.<name>)` in the `Drop` on a shared map: its
/// span, the map's name and the key's field.
fn name_keyed_removal(
    types: &TypesOfFile<'_>,
    drop: &DropImpl<'_>,
) -> Option<(Span, String, String)> {
    struct Find<'t, 'a> {
        types: &'t TypesOfFile<'a>,
        type_name: &'t str,
        /// Locals bound to a locked or upgraded map (`let mut map = self.map.lock();`).
        locked: Vec<String>,
        found: Option<(Span, String, String)>,
    }
    impl<'a> Visit<'a> for Find<'_, 'a> {
        fn visit_local(&mut self, local: &'a syn::Local) {
            if let (syn::Pat::Ident(p), Some(init)) = (&local.pat, &local.init) {
                if shared_map(self.types, self.type_name, &init.expr, &[]).is_some() {
                    self.locked.push(p.ident.to_string());
                }
            }
            visit::visit_local(self, local);
        }
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found.is_some() {
                return;
            }
            if let Expr::MethodCall(m) = e {
                if matches!(m.method.to_string().as_str(), "remove" | "remove_entry")
                    && m.args.len() == 1
                {
                    let key = self_field(&m.args[0]).filter(|k| self.name_like(k));
                    let map = shared_map(self.types, self.type_name, &m.receiver, &self.locked);
                    if let (Some(key), Some(map)) = (key, map) {
                        if Some(&key) != self_field(&m.receiver).as_ref() {
                            self.found = Some((e.span(), map, key));
                            return;
                        }
                    }
                }
            }
            visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    impl Find<'_, '_> {
        fn name_like(&self, field: &str) -> bool {
            let snake = snake_case(field);
            let words: Vec<&str> = snake.split('_').collect();
            if words.iter().any(|w| UNIQUE_WORDS.contains(w)) {
                return false;
            }
            words.iter().any(|w| NAME_WORDS.contains(w))
                || self
                    .types
                    .field_type(self.type_name, field)
                    .is_some_and(|t| matches!(t, "String" | "PathBuf" | "Arc < str >"))
        }
    }
    let mut find = Find {
        types,
        type_name: &drop.type_name,
        locked: Vec::new(),
        found: None,
    };
    find.visit_block(drop.body);
    find.found
}

/// The map's name when it is shared: reached through a lock or an upgrade,
/// a static (`REGISTRY`), a field whose type is an `Arc`, `Weak` or `Rc`, or
/// a local of the `Drop` bound to one of those (`locked`).
fn shared_map(
    types: &TypesOfFile<'_>,
    type_name: &str,
    receiver: &Expr,
    locked: &[String],
) -> Option<String> {
    let mut expr = receiver;
    let mut through_lock = false;
    loop {
        expr = match peel(expr) {
            Expr::MethodCall(m) => {
                through_lock |= SHARED_ACCESS.contains(&m.method.to_string().as_str());
                &m.receiver
            }
            Expr::Unary(u) => &u.expr,
            // `match self.map.lock() { Ok(g) => g, Err(p) => p.into_inner() }`
            Expr::Match(m) => &m.expr,
            Expr::Field(f) => {
                let syn::Member::Named(field) = &f.member else {
                    return None;
                };
                let field = field.to_string();
                let on_self = matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self"));
                let shared_type = on_self
                    && types.field_type(type_name, &field).is_some_and(|t| {
                        ["Arc", "Weak", "Rc", "Dash", "Shared"]
                            .iter()
                            .any(|w| t.contains(w))
                    });
                return (through_lock || shared_type).then_some(field);
            }
            Expr::Path(p) => {
                let name = p.path.segments.last()?.ident.to_string();
                let is_static = name.len() > 1
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
                let held = p
                    .path
                    .get_ident()
                    .is_some_and(|i| locked.iter().any(|l| i == l));
                return (through_lock || is_static || held).then_some(name);
            }
            _ => return None,
        };
    }
}

/// Whether the `Drop` compares anything or reads an id, a generation ..:
/// the check that the entry is still this instance's.
fn compares(drop: &DropImpl<'_>) -> bool {
    struct Compare(bool);
    impl Visit<'_> for Compare {
        fn visit_expr_binary(&mut self, b: &syn::ExprBinary) {
            if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) {
                self.0 = true;
            }
            visit::visit_expr_binary(self, b);
        }
        fn visit_macro(&mut self, m: &syn::Macro) {
            // `assert_eq!`, `matches!(..)` and the like compare too.
            let name = crate::syntax::macro_name(m);
            self.0 |= name.contains("eq") || name == "matches";
        }
    }
    let mut compare = Compare(false);
    compare.visit_block(drop.body);
    compare.0
        || words_of(drop.body)
            .iter()
            .any(|w| OWNERSHIP_WORDS.contains(&w.as_str()))
}

/// Whether some function of the file that builds a `type_name` (a struct
/// literal `Type { .. }`, `Self { .. }` in its impl, or a call of one of its
/// constructors `Type::new(..)`) registers it by an insert that replaces
/// what was there (`map.insert(k, v);`, its result discarded), and none of
/// them claims the key only when it is free. A function that takes a key
/// over (evicts the occupied entry, `entry.remove()`, and inserts anew) does
/// not hold it exclusively, whatever entry API it uses.
fn registered_by_replacing<'a>(cx: &Context<'a>, type_name: &str) -> bool {
    struct Builders<'t, 'a> {
        type_name: &'t str,
        bodies: &'a crate::macro_bodies::MacroBodies,
        in_impl: Vec<bool>,
        builders: Vec<&'a syn::Block>,
    }
    impl<'a> Visit<'a> for Builders<'_, 'a> {
        fn visit_item_impl(&mut self, imp: &'a syn::ItemImpl) {
            let own = matches!(&*imp.self_ty, syn::Type::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == self.type_name));
            self.in_impl.push(own);
            visit::visit_item_impl(self, imp);
            self.in_impl.pop();
        }
        fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
            if !m.attrs.iter().any(crate::syntax::is_cfg_test) {
                visit::visit_item_mod(self, m);
            }
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.note(&f.block);
        }
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.note(&f.block);
        }
    }
    impl<'a> Builders<'_, 'a> {
        fn note(&mut self, body: &'a syn::Block) {
            let own_impl = self.in_impl.last().copied().unwrap_or(false);
            let type_name = self.type_name;
            let builds =
                crate::syntax::any_expr(body, self.bodies, |e| match e {
                    Expr::Struct(s) => s.path.segments.last().is_some_and(|seg| {
                        seg.ident == type_name || (own_impl && seg.ident == "Self")
                    }),
                    // `Guard::new(map.clone(), key)` outside its own impl
                    Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
                        if !own_impl && p.path.segments.len() >= 2
                            && p.path.segments[p.path.segments.len() - 2].ident == type_name),
                    _ => false,
                });
            if builds {
                self.builders.push(body);
            }
        }
    }
    let mut find = Builders {
        type_name,
        bodies: cx.bodies,
        in_impl: Vec::new(),
        builders: Vec::new(),
    };
    find.visit_file(cx.file);
    let claims_if_free = |body: &syn::Block| {
        let words = words_of(body);
        words.iter().any(|w| EXCLUSIVE_WORDS.contains(&w.as_str()))
            && !crate::syntax::any_expr(
                body,
                cx.bodies,
                |e| matches!(e, Expr::MethodCall(m) if m.method == "remove" || m.method == "remove_entry"),
            )
    };
    !find.builders.is_empty()
        && !find.builders.iter().any(|b| claims_if_free(b))
        && find.builders.iter().any(|b| discards_an_insert(b))
}

/// Words of code that claims a key only when it is free.
const EXCLUSIVE_WORDS: &[&str] = &[
    "Vacant",
    "Occupied",
    "contains_key",
    "contains",
    "try_insert",
    "or_insert",
    "or_insert_with",
    "or_default",
    // `if let Some(cur) = map.get(&k) { join cur } else { map.insert(k, ..) }`
    "get",
];

/// A statement `map.insert(k, v);` (or `let _ = map.insert(..);`): an insert
/// whose replaced value nobody looks at.
fn discards_an_insert(body: &syn::Block) -> bool {
    struct Find(bool);
    impl Visit<'_> for Find {
        fn visit_stmt(&mut self, stmt: &syn::Stmt) {
            let discarded = match stmt {
                syn::Stmt::Expr(e, Some(_)) => Some(e),
                syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => {
                    l.init.as_ref().map(|i| &*i.expr)
                }
                _ => None,
            };
            if let Some(Expr::MethodCall(m)) = discarded.map(peel) {
                self.0 |= m.method == "insert";
            }
            visit::visit_stmt(self, stmt);
        }
        fn visit_item(&mut self, _: &syn::Item) {}
    }
    let mut find = Find(false);
    find.visit_block(body);
    find.0
}
