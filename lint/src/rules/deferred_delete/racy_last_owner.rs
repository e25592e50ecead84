//! Shape: a `Drop` on a `Clone` type that deletes what the clones share
//! when `Arc::strong_count(..)` says it is the last one.
//!
//! The bug: the count is read while this handle still holds its own
//! reference, and nothing stops the other handles from dropping at the same
//! time. Two clones dropped together on two threads both read 2, and neither
//! deletes: the lock file, the directory or the registration outlives every
//! handle. (And a clone made from another handle between the check and the
//! delete finds its resource gone.) A count is not an owner: the `Drop` of
//! the value behind the `Arc` runs exactly once, when the last handle goes.
//!
//! Look-alikes that are fine: `Rc::strong_count` (an `Rc` never crosses
//! threads, so nobody drops concurrently); `Arc::into_inner`/`try_unwrap`/
//! `get_mut`, which decide atomically; a `fetch_sub` refcount; an owner flag
//! only one handle carries; the `Drop` on the `Inner` the `Arc` holds.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{BinOp, Expr};

use super::clone_drop::Site;
use super::clone_drop::LAST_OWNER_WORDS;
use crate::finding::Finding;
use crate::syntax::path_ends_with;

/// The span of the comparison of `Arc::strong_count(..)` with a number, when
/// it is the `Drop`'s only last-owner check (its words are the only ones of
/// `words` that say "last owner").
pub(super) fn only_check(body: &syn::Block, words: &[String]) -> Option<Span> {
    struct Find {
        checks: Vec<Span>,
    }
    impl<'a> Visit<'a> for Find {
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            let compares = matches!(
                b.op,
                BinOp::Eq(_)
                    | BinOp::Ne(_)
                    | BinOp::Le(_)
                    | BinOp::Lt(_)
                    | BinOp::Gt(_)
                    | BinOp::Ge(_)
            );
            if compares && (arc_strong_count(&b.left) || arc_strong_count(&b.right)) {
                self.checks.push(b.span());
            }
            visit::visit_expr_binary(self, b);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut find = Find { checks: Vec::new() };
    find.visit_block(body);
    let first = *find.checks.first()?;
    // Every `Arc::strong_count` accounts for one `strong_count` and one
    // `count` among the words; anything else that says "last owner" is a
    // check of its own.
    let mut budget = find.checks.len();
    let mut count_budget = find.checks.len();
    let other = words.iter().any(|w| match w.as_str() {
        "strong_count" if budget > 0 => {
            budget -= 1;
            false
        }
        "count" if count_budget > 0 => {
            count_budget -= 1;
            false
        }
        w => LAST_OWNER_WORDS.contains(&w),
    });
    (!other).then_some(first)
}

/// `Arc::strong_count(x)` (or `sync::Arc::strong_count`), not `Rc::`.
fn arc_strong_count(expr: &Expr) -> bool {
    let Expr::Call(call) = crate::syntax::peel(expr) else {
        return false;
    };
    matches!(&*call.func, Expr::Path(p) if path_ends_with(&p.path, &["Arc", "strong_count"]))
}

pub(super) fn report(type_name: &str, site: &Site, check: Span, clone_span: Span) -> Finding {
    let name = &site.name;
    let message = format!(
        "`{type_name}` is `Clone` and its `Drop` calls `{name}` when `Arc::strong_count` says it \
         is the last handle: the count is read while this handle still holds its reference, so \
         two clones dropped at the same time both count two and neither deletes, and the shared \
         resource outlives every handle"
    );
    let help = format!(
        "move the delete into the `Drop` of the value inside the `Arc` (it runs once, when the \
         last handle drops), or decide atomically with `Arc::into_inner`; do not call `{name}` \
         on a count"
    );
    Finding::new(&super::INFO, check, message, help)
        .with_label(
            site.span,
            format!("`{name}` runs only when the count says so"),
        )
        .with_label(clone_span, "`Clone` here: every clone runs the same `Drop`")
}
