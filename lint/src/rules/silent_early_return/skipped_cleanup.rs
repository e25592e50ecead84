//! Shape 1, skipped cleanup: a silent return that jumps over the cleanup the
//! normal path runs later in the same function.
//!
//! Two forms, each with the evidence that the cleanup was meant to run on
//! this path too:
//!
//! - **`return` where `break` was meant**: the return sits in a loop that
//!   also has a `break`, and after the loop the function removes,
//!   unsubscribes, releases, commits or flushes. The `break` reaches the
//!   cleanup; the return, taken once entries were already taken or a
//!   subscription already made, does not. Inside a spawned async block the
//!   return ends the task, so the cleanup after its loop never runs at all.
//! - **Half a finish**: the returning branch records the same completion
//!   (`self.busy = None`) as a finishing branch further down, which also
//!   removes the entry from a shared set; the early branch marks the work
//!   done and leaves the entry behind.

use quote::ToTokens;
use syn::visit::Visit;
use syn::{Block, Expr, Stmt};

use super::common::{
    calls, is_cleanup, is_plumbing, is_present_pattern, jump_instead, jumps, loop_body,
    mentions_shutdown, receives, text, Call, Frame, Guard, Scope, SilentExit,
};
use super::INFO;
use crate::engine::Context;
use crate::finding::Finding;
use crate::macro_bodies::walk_macro;

pub fn check<'a>(
    cx: &Context<'a>,
    function: &str,
    scope: Scope<'a>,
    exit: &SilentExit<'a>,
) -> Option<Finding> {
    break_was_meant(cx, function, scope, exit).or_else(|| half_a_finish(cx, function, exit))
}

fn break_was_meant<'a>(
    cx: &Context<'a>,
    function: &str,
    scope: Scope<'a>,
    exit: &SilentExit<'a>,
) -> Option<Finding> {
    let (branch_calls, logs) = calls(cx, exit.branch);
    // A logged return is not silent; a return on success (`Ok(_) =>`,
    // `if let Some(..)`) ends the work, it does not abandon it; shutting
    // down or a closed channel stops everything on purpose.
    let guard = exit.guard.expr();
    let success = match exit.guard {
        Guard::Arm(_, pat) | Guard::Matched(_, pat) => is_present_pattern(pat),
        _ => false,
    };
    if logs || success || mentions_shutdown(cx, guard) || receives(cx, guard) {
        return None;
    }
    for (position, frame) in exit.loops() {
        let Frame::Loop { expr, label, .. } = frame else {
            continue;
        };
        if !jumps(cx, loop_body(expr), label.as_deref()).breaks {
            continue;
        }
        let all_after: Vec<Call<'a>> = exit
            .after(position)
            .into_iter()
            .flat_map(|stmts| calls(cx, stmts).0)
            .collect();
        // The branch runs part of what follows the loop itself: a
        // hand-written exit path (flush the stats, finish the batch, then
        // return), not a jump over it.
        if all_after
            .iter()
            .any(|c| !is_plumbing(&c.name) && branch_calls.iter().any(|b| b.name == c.name))
        {
            continue;
        }
        let after: Vec<Call<'a>> = all_after
            .into_iter()
            .filter(|c| is_cleanup(cx, &c.name))
            .collect();
        let skipped: Vec<&Call<'a>> = after
            .iter()
            .filter(|c| !branch_calls.iter().any(|b| b.name == c.name))
            .collect();
        // The branch runs the cleanup itself: nothing is skipped.
        if skipped.is_empty() || skipped.len() < after.len() {
            continue;
        }
        let names = call_list(&skipped);
        let whose = if scope.nested {
            "the task (or closure) it is in"
        } else {
            "the function"
        };
        let message = format!(
            "`return` inside this loop in `{function}` ends {whose} and jumps over {names} after the \
             loop, which the loop's `break` reaches: on this path what the loop already took \
             (entries moved into a request, a subscription, a staged batch) is never cleaned up \
             and nothing retries it"
        );
        let help =
            "use `break` (or a labelled `break`) so the cleanup after the loop runs, or run \
                    that cleanup in this branch before returning"
                .to_string();
        // `break` out of this loop: plain when it is the innermost one,
        // by its label otherwise (no fix for an unlabelled outer loop). It
        // runs the cleanup, and whatever else follows the loop, on this
        // path too: a person confirms.
        let innermost = exit.loops().next().map(|(p, _)| p) == Some(position);
        let jump = match label {
            _ if innermost => Some("break".to_string()),
            Some(label) => Some(format!("break '{label}")),
            None => None,
        };
        let fix = jump.map(|jump| {
            let description = format!(
                "`{jump}` instead of `return`, so that {names} after the loop runs on this path"
            );
            jump_instead(exit.ret, &jump, description)
        });
        let mut finding = Finding::new(&INFO, exit.ret, message, help)
            .with_label(expr, "this loop's `break` reaches the cleanup below")
            .with_fix(fix);
        for call in skipped.iter().take(3) {
            finding = finding.with_label(call.expr, "skipped by the return");
        }
        return Some(finding);
    }
    None
}

/// The branch records a completion (`place = value`) that a later block
/// records too, and that block also cleans up (removes the entry from a
/// shared set); the branch does not.
fn half_a_finish<'a>(cx: &Context<'a>, function: &str, exit: &SilentExit<'a>) -> Option<Finding> {
    let marks: Vec<(String, &Expr)> = exit
        .branch
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::Expr(expr @ Expr::Assign(_), _) => Some((flat(expr), expr)),
            _ => None,
        })
        .collect();
    if marks.is_empty() {
        return None;
    }
    let (branch_calls, _) = calls(cx, exit.branch);
    let mut finder = Finisher {
        cx,
        marks: &marks,
        found: None,
    };
    for stmts in exit.after_guard() {
        stmts.iter().for_each(|s| finder.visit_stmt(s));
    }
    let (mark, block) = finder.found?;
    let (finish_calls, _) = calls(cx, &block.stmts);
    let skipped: Vec<&Call<'a>> = finish_calls
        .iter()
        .filter(|c| is_cleanup(cx, &c.name))
        .filter(|c| !branch_calls.iter().any(|b| b.name == c.name))
        .collect();
    if skipped.is_empty() {
        return None;
    }
    let names = call_list(&skipped);
    let message = format!(
        "`{function}` returns after marking the work done (`{}`) as its finishing path does, but \
         skips what that path also does: {names}; the entry stays in the shared set and nothing \
         will take it out",
        text(mark)
    );
    let help = "do the finishing bookkeeping on this path too (or fall through to the finishing \
                path) before returning"
        .to_string();
    let mut finding = Finding::new(&INFO, exit.ret, message, help)
        .with_label(mark, "the finishing path marks it done here too");
    for call in skipped.iter().take(3) {
        finding = finding.with_label(call.expr, "skipped by the early return");
    }
    Some(finding)
}

struct Finisher<'c, 'a, 'm> {
    cx: &'c Context<'a>,
    marks: &'m [(String, &'a Expr)],
    found: Option<(&'a Expr, &'a Block)>,
}

impl<'a> Visit<'a> for Finisher<'_, 'a, '_> {
    fn visit_block(&mut self, block: &'a Block) {
        if self.found.is_some() {
            return;
        }
        for stmt in &block.stmts {
            if let Stmt::Expr(expr @ Expr::Assign(_), _) = stmt {
                let text = flat(expr);
                if self.marks.iter().any(|(m, _)| *m == text) {
                    self.found = Some((expr, block));
                    return;
                }
            }
        }
        syn::visit::visit_block(self, block);
    }
    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        walk_macro(self, self.cx.bodies, mac);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn flat(expr: &Expr) -> String {
    expr.to_token_stream().to_string()
}

fn call_list(calls: &[&Call<'_>]) -> String {
    let mut names: Vec<String> = Vec::new();
    for call in calls {
        let name = format!("`{}`", call.name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.len() {
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} and {last}", names.join(", "))
        }
    }
}
