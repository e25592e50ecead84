//! Shape 2, abandoned batch: a silent return inside a loop over a batch of
//! items, on a guard about the current item, ends the whole batch.
//!
//! The guard tests the item (its binding, or a value the loop body derived
//! from it): it decides about *this* item, yet `return` drops every item
//! after it. Giving up on one item alone is not enough to say so — a sorted
//! scan stops at the first item past a bound — so one of these must hold too:
//!
//! - another guard of the same loop skips its item with `continue`: the
//!   loop's own way of skipping one item, which this guard does not use;
//! - the function does work after the loop (writes, commits, sends what the
//!   loop staged), which the return skips;
//! - the guard is an absence or membership test of the item's value
//!   (`let Some(..) = lookup(item) else`, `ids.is_empty()`, `has(&item)`):
//!   "nothing to do for this item", not a bound on the rest.
//!
//! Loops over a channel or a stream (`while let Some(m) = rx.recv().await`)
//! are not batches: a return there ends a listener, another story.

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::Expr;

use super::common::{calls, idents, jumps, loop_body, text, Frame, Guard, LoopKind, SilentExit};
use super::INFO;
use crate::engine::Context;
use crate::finding::Finding;

pub fn check<'a>(cx: &Context<'a>, function: &str, exit: &SilentExit<'a>) -> Option<Finding> {
    let (position, frame) = exit.loops().next()?;
    let Frame::Loop {
        expr,
        kind,
        label,
        source,
        ..
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
    if !exit.branch.is_empty() {
        return None;
    }
    let bound = exit.bound_in_loop(position);
    let tested: HashSet<String> = idents(cx, exit.guard.expr());
    let mut items: Vec<&String> = tested.iter().filter(|name| bound.contains(*name)).collect();
    items.sort();
    let item = items.first()?;
    let sibling_continue = jumps(cx, loop_body(expr), label.as_deref()).continues;
    let work_after: Vec<String> = exit
        .after(position)
        .into_iter()
        .flat_map(|stmts| calls(cx, stmts).0)
        .map(|c| c.name)
        .filter(|name| !cx.vocabulary.is_log(name) && !is_plumbing(name))
        .collect();
    let absence = is_absence_test(exit.guard);
    if !sibling_continue && work_after.is_empty() && !absence {
        return None;
    }
    let kind_word = match kind {
        LoopKind::For => "for",
        _ => "while let",
    };
    let mut lost = vec![format!(
        "the rest of the batch (`{}`) is dropped unprocessed",
        text(source)
    )];
    if let Some(first) = work_after.first() {
        lost.push(format!("the `{first}` after the loop is skipped"));
    }
    let why = if sibling_continue {
        "; the loop's other guards skip one item with `continue`"
    } else {
        ""
    };
    let message = format!(
        "`{function}` returns from the whole `{kind_word}` loop on a guard about the current \
         item (`{item}`): {}{why}; the caller is told nothing",
        lost.join(" and ")
    );
    let help = "skip just this item with `continue` (and log it if that is unexpected); return \
                early only for a condition that is about the whole batch"
        .to_string();
    let finding = Finding::new(&INFO, exit.ret.span(), message, help)
        .with_label(exit.guard.expr().span(), "a test of the current item")
        .with_label(source.span(), "the batch whose remaining items are dropped");
    Some(finding)
}

fn is_awaited(expr: &Expr) -> bool {
    crate::syntax::snippet(expr, 400).contains(".await")
        || matches!(crate::syntax::peel(expr), Expr::MethodCall(call)
            if matches!(call.method.to_string().as_str(), "recv" | "try_recv" | "recv_timeout" | "blocking_recv"))
}

/// Constructors and conversions: no work of their own.
fn is_plumbing(name: &str) -> bool {
    matches!(
        name,
        "Ok" | "Some"
            | "Err"
            | "into"
            | "from"
            | "clone"
            | "to_owned"
            | "to_string"
            | "len"
            | "is_empty"
            | "elapsed"
            | "now"
            | "default"
            | "new"
            | "unwrap"
            | "expect"
            | "as_ref"
            | "map"
            | "collect"
            | "iter"
    )
}

/// `let Some(..) = .. else`, a `None`/`Err` arm, `x.is_none()`,
/// `x.is_empty()`, `has(&x)`, `contains(&x)`: whether there is anything to
/// do for this item.
fn is_absence_test(guard: Guard<'_>) -> bool {
    match guard {
        Guard::Refuted(_) | Guard::Arm(_) => true,
        Guard::Matched(_) => false,
        Guard::If(cond) => absence_cond(cond),
    }
}

fn absence_cond(cond: &Expr) -> bool {
    match cond {
        Expr::Paren(p) => absence_cond(&p.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => absence_cond(&u.expr),
        Expr::Try(t) => absence_cond(&t.expr),
        Expr::Await(a) => absence_cond(&a.base),
        // `a || b` returns whenever one holds; `a && b` only when both do.
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Or(_)) => {
            absence_cond(&b.left) || absence_cond(&b.right)
        }
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            absence_cond(&b.left) && absence_cond(&b.right)
        }
        Expr::MethodCall(call) => matches!(
            call.method.to_string().as_str(),
            "is_none"
                | "is_some"
                | "is_empty"
                | "is_err"
                | "is_ok"
                | "has"
                | "contains"
                | "contains_key"
        ),
        _ => false,
    }
}
