//! Shape: a `Drop` that deletes what it does not own, because the field that
//! makes it an owner is set before the registration it stands for.
//!
//! The bug: the `Drop` undoes a registration only when a field says there is
//! one (`if let Some(poller) = self.poller.take() { poller.delete(fd) }`),
//! and a method sets that field first and registers afterwards
//! (`self.poller = Some(..); poll.register(fd, ..)?;`). When the registration
//! fails (the descriptor, name or path is already registered by someone
//! else) the `?` returns with the field set, and the value's `Drop` deletes a
//! registration it never made: the one the other owner holds. calloop's
//! generic event source did this to the source that really owned the file
//! descriptor.
//!
//! Look-alikes that are fine: the field set after the fallible registration
//! (the fix); a field cleared again before the `?` (`self.poller = None`,
//! `.take()`); a fallible step after the field that is not the registration
//! the `Drop` undoes (writing a header into a file already created is
//! cleaned up rightly by the `Drop`); a `Drop` that deletes unconditionally
//! (no field decides) is not this shape.

use std::collections::HashSet;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, Stmt};

use super::clone_drop::self_field;
use super::{DropImpl, TypesOfFile};
use crate::engine::Context;
use crate::finding::{Extent, Finding};
use crate::syntax::{callee_name, is_cfg_test, peel};

/// Calls that undo a registration, besides the delete vocabulary.
const UNDOES: &[&str] = &[
    "delete",
    "deregister",
    "unregister",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "unlink",
    "release",
];

/// Calls that make the registration a `Drop` undoes.
const REGISTERS: &[&str] = &[
    "register",
    "add",
    "insert",
    "create",
    "create_new",
    "create_dir",
    "create_dir_all",
    "bind",
    "mount",
    "subscribe",
    "acquire",
    "claim",
    "reserve",
    "open",
];

pub(super) fn check(cx: &Context<'_>, types: &TypesOfFile<'_>, out: &mut Vec<Finding>) {
    for drop in &types.drops {
        let Some((gates, undo)) = gated_undo(cx, drop) else {
            continue;
        };
        for body in methods_of(cx.file, &drop.type_name) {
            let mut find = Armed {
                gates: &gates,
                found: Vec::new(),
            };
            find.visit_block(body);
            for (field, armed, register) in find.found {
                out.push(report(&drop.type_name, &field, armed, &register, &undo));
            }
        }
    }
}

/// The call that undoes the registration in the `Drop`.
struct Undo {
    name: String,
    span: Extent,
}

/// The `self` fields whose presence decides whether the `Drop` undoes a
/// registration (`if let Some(p) = self.poller.take() { p.delete(..) }`,
/// `if self.registered { .. }`), with that undo.
fn gated_undo(cx: &Context<'_>, drop: &DropImpl<'_>) -> Option<(HashSet<String>, Undo)> {
    struct Find<'c, 'a> {
        cx: &'c Context<'a>,
        found: Option<(HashSet<String>, Undo)>,
    }
    impl<'a> Visit<'a> for Find<'_, 'a> {
        fn visit_expr_if(&mut self, e: &'a syn::ExprIf) {
            if self.found.is_none() {
                let scrutinee = match &*e.cond {
                    Expr::Let(l) => &*l.expr,
                    other => other,
                };
                let mut gates = HashSet::new();
                fields_in(scrutinee, &mut gates);
                if !gates.is_empty() {
                    if let Some(undo) = first_undo(self.cx, &e.then_branch) {
                        self.found = Some((gates, undo));
                        return;
                    }
                }
            }
            visit::visit_expr_if(self, e);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut find = Find { cx, found: None };
    find.visit_block(drop.body);
    find.found
}

/// `self.a.take()`, `(self.a.take(), self.b.take())`, `&self.a`,
/// `self.a.as_ref()`, `self.armed`: the fields named.
fn fields_in(expr: &Expr, out: &mut HashSet<String>) {
    match expr {
        Expr::Tuple(t) => t.elems.iter().for_each(|e| fields_in(e, out)),
        Expr::Paren(p) => fields_in(&p.expr, out),
        Expr::Reference(r) => fields_in(&r.expr, out),
        Expr::MethodCall(m)
            if m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "take" | "as_ref" | "as_mut" | "as_deref" | "is_some" | "get"
                ) =>
        {
            fields_in(&m.receiver, out)
        }
        Expr::Field(f) => {
            if let (Expr::Path(p), syn::Member::Named(name)) = (&*f.base, &f.member) {
                if p.path.is_ident("self") {
                    out.insert(name.to_string());
                }
            }
        }
        _ => {}
    }
}

fn first_undo<'a>(cx: &Context<'a>, block: &'a Block) -> Option<Undo> {
    let mut found = None;
    crate::syntax::any_expr(block, cx.bodies, |e| {
        let Some(name) = callee_name(e) else {
            return false;
        };
        let undoes = UNDOES.contains(&name.as_str()) || cx.vocabulary.is_delete(&name);
        if undoes && found.is_none() {
            found = Some(Undo {
                name,
                span: Extent::of(e),
            });
        }
        undoes
    });
    found
}

/// The bodies of the methods of `type_name`'s impls in the file (outside
/// tests), other than `drop`.
fn methods_of<'a>(file: &'a syn::File, type_name: &str) -> Vec<&'a Block> {
    struct Impls<'t, 'a> {
        type_name: &'t str,
        out: Vec<&'a Block>,
    }
    impl<'a> Visit<'a> for Impls<'_, 'a> {
        fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
            if !m.attrs.iter().any(is_cfg_test) {
                visit::visit_item_mod(self, m);
            }
        }
        fn visit_item_impl(&mut self, imp: &'a syn::ItemImpl) {
            let own = matches!(&*imp.self_ty, syn::Type::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == self.type_name));
            if own {
                for item in &imp.items {
                    if let syn::ImplItem::Fn(f) = item {
                        if f.sig.ident != "drop" {
                            self.out.push(&f.block);
                        }
                    }
                }
            }
        }
    }
    let mut impls = Impls {
        type_name,
        out: Vec::new(),
    };
    impls.visit_file(file);
    impls.out
}

/// Finds `self.<gate> = Some(..)` (or `= true`) followed, in the same block,
/// by a fallible registration (`reg.register(..)?`) with no statement between
/// that clears the gate again.
struct Armed<'g> {
    gates: &'g HashSet<String>,
    /// (field, the arming assignment, the registration's text and span)
    found: Vec<(String, Span, (String, Span))>,
}

impl<'a> Visit<'a> for Armed<'_> {
    fn visit_block(&mut self, block: &'a Block) {
        for (i, stmt) in block.stmts.iter().enumerate() {
            let Some(field) = arms(stmt).filter(|f| self.gates.contains(f)) else {
                continue;
            };
            for later in &block.stmts[i + 1..] {
                if clears(later, &field) {
                    break;
                }
                if let Some(register) = fallible_registration(later) {
                    self.found.push((field.clone(), stmt.span(), register));
                    break;
                }
            }
        }
        visit::visit_block(self, block);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// `self.f = Some(..);` or `self.f = true;`: the field armed.
fn arms(stmt: &Stmt) -> Option<String> {
    let Stmt::Expr(Expr::Assign(a), _) = stmt else {
        return None;
    };
    let armed = match &*a.right {
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")),
        Expr::Lit(l) => matches!(&l.lit, syn::Lit::Bool(b) if b.value),
        _ => false,
    };
    let Expr::Field(f) = &*a.left else {
        return None;
    };
    let on_self = matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self"));
    match &f.member {
        syn::Member::Named(name) if armed && on_self => Some(name.to_string()),
        _ => None,
    }
}

/// `self.f = None`, `self.f = false`, `self.f.take()` in `stmt`.
fn clears(stmt: &Stmt, field: &str) -> bool {
    struct Clears<'f>(&'f str, bool);
    impl<'a> Visit<'a> for Clears<'_> {
        fn visit_expr_assign(&mut self, a: &'a syn::ExprAssign) {
            if self_field(&a.left).as_deref() == Some(self.0) {
                self.1 = true;
            }
            visit::visit_expr_assign(self, a);
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if m.method == "take" && self_field(&m.receiver).as_deref() == Some(self.0) {
                self.1 = true;
            }
            visit::visit_expr_method_call(self, m);
        }
    }
    let mut clears = Clears(field, false);
    clears.visit_stmt(stmt);
    clears.1
}

/// A `reg.register(..)?` (a registration whose failure returns) in `stmt`,
/// outside closures: its callee and span.
fn fallible_registration(stmt: &Stmt) -> Option<(String, Span)> {
    struct Find(Option<(String, Span)>);
    impl<'a> Visit<'a> for Find {
        fn visit_expr_try(&mut self, t: &'a syn::ExprTry) {
            if self.0.is_none() {
                if let Some(name) = callee_name(peel(&t.expr)) {
                    let verb = name.split('_').next().unwrap_or_default();
                    if REGISTERS.contains(&name.as_str()) || REGISTERS.contains(&verb) {
                        self.0 = Some((name, t.span()));
                        return;
                    }
                }
            }
            visit::visit_expr_try(self, t);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    }
    let mut find = Find(None);
    find.visit_stmt(stmt);
    find.0
}

fn report(
    type_name: &str,
    field: &str,
    armed: Span,
    (register, register_span): &(String, Span),
    undo: &Undo,
) -> Finding {
    let undo_name = &undo.name;
    let message = format!(
        "`self.{field}` is set before the fallible `{register}(..)?`, and `Drop for \
         {type_name}` calls `{undo_name}` whenever `self.{field}` is set: when `{register}` \
         fails (someone else already registered the same thing) the value drops as if it \
         owned the registration, and its `Drop` deletes the one the other owner holds"
    );
    let help = format!(
        "set `self.{field}` only after `{register}` succeeded, or clear it on the error path, \
         so that the `Drop` undoes only what this value registered"
    );
    Finding::new(&super::INFO, armed, message, help)
        .with_label(
            *register_span,
            format!("`{register}` can fail here with `self.{field}` set"),
        )
        .with_label(
            undo.span,
            format!("the `Drop` calls `{undo_name}` because `self.{field}` is set"),
        )
}
