//! Shape 2, abandoned batch: a silent return inside a loop over a batch of
//! items, on a guard about the current item, ends the whole batch.
//!
//! Returning on one item is often right: a validation loop ("every item
//! must qualify, else the rule does not apply"), a search ("found it"), a
//! sorted scan that stops at a bound, a producer whose receiver went away.
//! What says that *this* return was meant to skip one item is the loop
//! itself:
//!
//! - **a sibling guard continues**: another guard of the same loop tests
//!   whether a value of the item is there (`let Some(..) = .. else {
//!   continue }`, `if x.is_none() { continue }`) and skips that item, while
//!   this one, the same kind of test on the same item, returns;
//! - **already there, so done**: the guard asks whether the item is already
//!   stored (`if store.has(&item)? { return Ok(()) }`, `contains(&item)`)
//!   and the function does work after the loop (writes the batch it staged,
//!   commits, sends), which the return skips — "already stored" is about
//!   one item, and success is reported for all.
//!
//! Loops over a channel or a stream (`while let Some(m) = rx.recv().await`)
//! are not batches, and a failed send (`tx.send(..).is_err()`) or spawn
//! means the receiver is gone or the runtime is shutting down: conditions
//! about the whole batch.

use std::collections::HashSet;

use syn::visit::Visit;
use syn::{Expr, Macro, Stmt};

use super::common::{
    calls, idents, is_absent_pattern, is_plumbing, is_present_pattern, jump_instead, loop_body,
    pattern_names, text, Frame, Guard, LoopKind, SilentExit,
};
use super::INFO;
use crate::engine::Context;
use crate::finding::Finding;
use crate::macro_bodies::walk_macro;

pub fn check<'a>(cx: &Context<'a>, function: &str, exit: &SilentExit<'a>) -> Option<Finding> {
    let (position, frame) = exit.loops().next()?;
    let Frame::Loop {
        expr,
        kind,
        label,
        source,
        bound,
    } = frame
    else {
        return None;
    };
    let source = (*source)?;
    if !matches!(kind, LoopKind::For | LoopKind::WhileLet) || is_awaited(source) {
        return None;
    }
    // A pure guard: the branch does nothing but return. A branch that did
    // the item's work first is a finish, not a skip.
    if !exit.branch.is_empty() || sends(cx, exit.guard.expr()) {
        return None;
    }
    let items = exit.item_names(cx, position);
    let tested = idents(cx, exit.guard.expr());
    let mut item: Vec<&String> = tested.iter().filter(|n| items.contains(*n)).collect();
    item.sort();
    let item = item.first()?;

    let body = loop_body(expr);
    let evidence =
        if absence_test(exit.guard) && continues_on_absence(cx, body, label.as_deref(), bound) {
            Evidence::SiblingContinues
        } else if existence_test(exit.guard.expr(), &items) {
            let after: Vec<String> = exit
                .after(position)
                .into_iter()
                .flat_map(|stmts| calls(cx, stmts).0)
                .map(|c| c.name)
                .filter(|name| !cx.vocabulary.is_log(name) && !is_plumbing(name))
                .collect();
            Evidence::AlreadyThere(after.into_iter().next()?)
        } else {
            return None;
        };
    let kind_word = match kind {
        LoopKind::For => "for",
        _ => "while let",
    };
    let (lost, why) = match &evidence {
        Evidence::SiblingContinues => (
            String::new(),
            "; the loop's other guard skips just its item with `continue`",
        ),
        Evidence::AlreadyThere(call) => (
            format!(", and the `{call}` after the loop, which the items already staged wait for, never runs"),
            "; the guard is about one item being there already",
        ),
    };
    let message = format!(
        "`{function}` returns from the whole `{kind_word}` loop on a guard about the current item \
         (`{item}`): the rest of the batch (`{}`) is dropped unprocessed{lost}{why}; the caller is \
         told nothing",
        text(source)
    );
    let help = "skip just this item with `continue` (and log it if that is unexpected); return \
                early only for a condition that is about the whole batch"
        .to_string();
    // Skipping the item is what the loop's evidence says was meant, but the
    // rest of the batch (and the work after the loop) then runs where it
    // did not: a person confirms.
    let fix = jump_instead(
        exit.ret,
        "continue",
        "skip just this item: `continue` instead of `return`".to_string(),
    );
    let finding = Finding::new(&INFO, exit.ret, message, help)
        .with_label(exit.guard.expr(), "a test of the current item")
        .with_label(source, "the batch whose remaining items are dropped")
        .with_fix(Some(fix));
    Some(finding)
}

enum Evidence {
    SiblingContinues,
    AlreadyThere(String),
}

fn is_awaited(expr: &Expr) -> bool {
    crate::syntax::snippet(expr, 400).contains(".await")
        || matches!(crate::syntax::peel(expr), Expr::MethodCall(call)
            if matches!(call.method.to_string().as_str(), "recv" | "try_recv" | "recv_timeout" | "blocking_recv"))
}

/// A send or a spawn in the guard: failing, it says the receiver is gone or
/// the runtime is shutting down, conditions about the whole batch.
fn sends<'a>(cx: &Context<'a>, expr: &'a Expr) -> bool {
    crate::syntax::any_expr(expr, cx.bodies, |e| {
        crate::syntax::callee_name(e).is_some_and(|name| {
            name.starts_with("spawn")
                || matches!(
                    name.as_str(),
                    "send"
                        | "try_send"
                        | "send_async"
                        | "send_timeout"
                        | "blocking_send"
                        | "unbounded_send"
                        | "feed"
                )
        })
    })
}

/// `let Some(..) = .. else`, a `None`/`Err` arm, `if let Some(..) = .. else`,
/// `x.is_none()`, `x.is_err()`, `!x.is_some()`, `!map.contains_key(&k)`:
/// the value is not there.
fn absence_test(guard: Guard<'_>) -> bool {
    match guard {
        Guard::Refuted(_, pat) => is_present_pattern(pat),
        Guard::Arm(_, pat) => is_absent_pattern(pat),
        Guard::Matched(..) => false,
        Guard::If(cond) => absence_cond(cond),
    }
}

fn absence_cond(cond: &Expr) -> bool {
    match cond {
        Expr::Paren(p) => absence_cond(&p.expr),
        // `a || b` returns whenever one holds; `a && b` only when both do.
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Or(_)) => {
            absence_cond(&b.left) || absence_cond(&b.right)
        }
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            absence_cond(&b.left) && absence_cond(&b.right)
        }
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => matches!(
            &*u.expr,
            Expr::MethodCall(call) if matches!(
                call.method.to_string().as_str(),
                "is_some" | "is_ok" | "contains" | "contains_key" | "has" | "exists"
            )
        ),
        Expr::MethodCall(call) => matches!(call.method.to_string().as_str(), "is_none" | "is_err"),
        _ => false,
    }
}

/// `store.has(&item)?`, `seen.contains(&item)`, `map.contains_key(&k)`:
/// whether the item is already there, asked of something that is not the
/// item.
fn existence_test(cond: &Expr, items: &HashSet<String>) -> bool {
    match cond {
        Expr::Paren(p) => existence_test(&p.expr, items),
        Expr::Try(t) => existence_test(&t.expr, items),
        Expr::Await(a) => existence_test(&a.base, items),
        Expr::MethodCall(call) => {
            matches!(
                call.method.to_string().as_str(),
                "has" | "contains" | "contains_key" | "exists" | "is_known"
            ) && call.args.iter().any(|arg| mentions(arg, items))
                && !mentions(&call.receiver, items)
        }
        _ => false,
    }
}

fn mentions(expr: &Expr, names: &HashSet<String>) -> bool {
    struct Mentions<'n>(&'n HashSet<String>, bool);
    impl<'a> Visit<'a> for Mentions<'_> {
        fn visit_ident(&mut self, ident: &'a syn::Ident) {
            self.1 |= self.0.contains(&ident.to_string());
        }
    }
    let mut m = Mentions(names, false);
    m.visit_expr(expr);
    m.1
}

/// Whether the loop body holds a guard that skips its item with `continue`
/// when a value of the item is absent: `let Some(..) = f(item) else {
/// continue }`, `if f(item).is_none() { continue }`, `None => continue`.
fn continues_on_absence<'a>(
    cx: &Context<'a>,
    body: &'a [Stmt],
    label: Option<&str>,
    bound: &[String],
) -> bool {
    struct Find<'c, 'a, 'l> {
        cx: &'c Context<'a>,
        label: Option<&'l str>,
        items: HashSet<String>,
        found: bool,
    }
    impl Find<'_, '_, '_> {
        fn skips(&self, exit: &Expr) -> bool {
            let target = |l: &Option<syn::Lifetime>| match l {
                Some(l) => Some(l.ident.to_string().as_str()) == self.label,
                None => true,
            };
            match exit {
                Expr::Continue(c) => target(&c.label),
                Expr::Block(b) => match b.block.stmts.last() {
                    Some(Stmt::Expr(Expr::Continue(c), _)) => target(&c.label),
                    _ => false,
                },
                _ => false,
            }
        }
        fn about_item(&self, expr: &Expr) -> bool {
            mentions(expr, &self.items)
        }
    }
    impl<'a> Visit<'a> for Find<'_, 'a, '_> {
        fn visit_local(&mut self, local: &'a syn::Local) {
            if let Some(init) = &local.init {
                if let Some((_, diverge)) = &init.diverge {
                    self.found |= is_present_pattern(&local.pat)
                        && self.skips(diverge)
                        && self.about_item(&init.expr);
                }
                if mentions(&init.expr, &self.items) {
                    pattern_names(&local.pat, &mut self.items);
                }
            }
            syn::visit::visit_local(self, local);
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::If(expr_if) => {
                    if let Some(Stmt::Expr(Expr::Continue(c), _)) = expr_if.then_branch.stmts.last()
                    {
                        let ok = match &c.label {
                            Some(l) => Some(l.ident.to_string().as_str()) == self.label,
                            None => true,
                        };
                        self.found |= ok
                            && expr_if.then_branch.stmts.len() == 1
                            && absence_cond(&expr_if.cond)
                            && self.about_item(&expr_if.cond);
                    }
                    syn::visit::visit_expr(self, expr);
                }
                Expr::Match(m) => {
                    for arm in &m.arms {
                        self.found |= is_absent_pattern(&arm.pat)
                            && self.skips(&arm.body)
                            && self.about_item(&m.expr);
                    }
                    syn::visit::visit_expr(self, expr);
                }
                // Inner loops' `continue`s are theirs.
                Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) if self.label.is_none() => {}
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.cx.bodies, mac);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    if bound.is_empty() {
        return false;
    }
    let mut find = Find {
        cx,
        label,
        items: bound.iter().cloned().collect(),
        found: false,
    };
    body.iter().for_each(|s| find.visit_stmt(s));
    find.found
}
