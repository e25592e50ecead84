//! (b) An interval created inside the loop.
//!
//! The bug: an interval's first tick completes at once, so an interval made
//! anew on every iteration and ticked before any `reset*()` never waits:
//! the loop spins, or skips the delay it was written for.
//!
//! The same holds for an interval re-created by assignment (`ticker =
//! interval(d)`, `self.timer = interval(d)`) on every iteration: the tick at
//! the top of the next iteration (or in the `while ..poll_tick(cx)
//! .is_ready()` condition) is the new interval's immediate one. A `poll`
//! function is re-entered by the executor like a loop: one that replaces the
//! interval it polls runs its periodic work again on the next poll, not a
//! period later.
//!
//! Fine and alike: an interval created before the loop, `interval_at(later,
//! ..)`, a fresh interval `reset()` before its first tick, the deliberate
//! skip idiom (the first tick awaited and dropped as a statement, then
//! ticked again), and an interval re-assigned only on some iterations
//! (`if period_changed { ticker = interval(new) }`: one early tick after a
//! change, not a loop without a wait).

use super::*;
use crate::finding::{Applicability, Edit, Fix};

pub(super) enum IntervalEvent {
    Created {
        name: String,
        span: Extent,
        period: String,
        how: Creation,
        /// The same interval made to wait its first period.
        rewrite: Option<IntervalRewrite>,
    },
    Reset {
        name: String,
    },
    Tick {
        name: String,
        span: Extent,
        discarded: bool,
        in_select: bool,
        /// In the `while` condition: runs at the start of every iteration.
        in_condition: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Creation {
    /// `let iv = interval(d);` in the loop body.
    Let,
    /// `iv = interval(d);` / `self.iv = interval(d);` as a statement of the
    /// loop body itself (so on every iteration), or anywhere in a `poll` fn.
    Assign,
    /// An assignment nested in a condition of the loop body: some
    /// iterations only.
    ConditionalAssign,
}

/// The variable or `self` field an interval lives in: `iv`, `self.iv`.
pub(super) fn interval_key(expr: &Expr) -> Option<String> {
    match peel_future(expr, None) {
        Expr::Field(f) if matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) => {
            match &f.member {
                syn::Member::Named(name) => Some(format!("self.{name}")),
                syn::Member::Unnamed(i) => Some(format!("self.{}", i.index)),
            }
        }
        other => variable(other),
    }
}

/// `x.tick()`, `x.poll_tick(cx)`: the receiver.
pub(super) fn ticked(expr: &Expr) -> Option<&ExprMethodCall> {
    match expr {
        Expr::MethodCall(m)
            if (m.method == "tick" && m.args.is_empty())
                || (m.method == "poll_tick" && m.args.len() == 1) =>
        {
            Some(m)
        }
        _ => None,
    }
}

impl<'a> Walker<'a, '_> {
    /// Where interval events go: the innermost loop, or the `poll` fn itself.
    pub(super) fn interval_events(&mut self) -> Option<&mut Vec<IntervalEvent>> {
        match self.loops.last_mut() {
            Some(frame) => Some(&mut frame.intervals),
            None => self.poll_intervals.as_mut(),
        }
    }

    pub(super) fn on_tick(&mut self, call: &'a ExprMethodCall) {
        let discarded = mem::take(&mut self.next_tick_discarded);
        let in_select = self.in_select_future;
        let receiver = peel_future(&call.receiver, None);
        if let Some(period) = immediate_interval(receiver) {
            if !self.loops.is_empty() {
                // `interval(d).tick().await`: one tick, a wait of a period
                // meant (outside a `select!`, where the branch would then
                // restart with every iteration instead).
                let fix = interval_rewrite(self.cx.file, receiver, true)
                    .filter(|_| !in_select)
                    .map(|r| r.at(Applicability::MachineApplicable));
                let finding = self
                    .fresh_interval_finding(
                        Extent::of(receiver),
                        Extent::of(call),
                        &period,
                        in_select,
                    )
                    .with_fix(fix);
                self.report(finding);
            }
            return;
        }
        if let (Some(events), Some(name)) = (self.interval_events(), interval_key(receiver)) {
            events.push(IntervalEvent::Tick {
                name,
                span: Extent::of(call),
                discarded,
                in_select,
                in_condition: false,
            });
        }
    }

    /// `iv = interval(d)`, `self.iv = interval(d)`.
    pub(super) fn on_assign(&mut self, assign: &'a syn::ExprAssign) {
        let (Some(period), Some(name)) = (
            immediate_interval(&assign.right),
            interval_key(&assign.left),
        ) else {
            return;
        };
        let how = match self.loops.last() {
            Some(frame) => {
                let every_iteration = frame.body.stmts.iter().any(|stmt| {
                    matches!(stmt, Stmt::Expr(Expr::Assign(a), _) if std::ptr::eq(a, assign))
                });
                if every_iteration {
                    Creation::Assign
                } else {
                    Creation::ConditionalAssign
                }
            }
            None => Creation::Assign,
        };
        let rewrite = interval_rewrite(self.cx.file, &assign.right, false);
        if let Some(events) = self.interval_events() {
            events.push(IntervalEvent::Created {
                name,
                span: Extent::of(assign),
                period,
                how,
                rewrite,
            });
        }
    }

    /// The ticks of a `while` condition (`while iv.poll_tick(cx).is_ready()`)
    /// happen at the start of every iteration.
    pub(super) fn condition_ticks(cond: &'a Expr, bodies: &MacroBodies) -> Vec<IntervalEvent> {
        let mut ticks = Vec::new();
        any_expr(cond, bodies, |e| {
            if let Some(call) = ticked(e) {
                if let Some(name) = interval_key(&call.receiver) {
                    ticks.push(IntervalEvent::Tick {
                        name,
                        span: Extent::of(call),
                        discarded: false,
                        in_select: false,
                        in_condition: true,
                    });
                }
            }
            false
        });
        ticks
    }

    /// After a loop body: each interval created in it and ticked before any
    /// `reset*()` ticks at once on every iteration. A first tick dropped as a
    /// statement and followed by another is the deliberate skip idiom. An
    /// interval re-assigned on every iteration and ticked only before the
    /// assignment is ticked fresh on the next iteration.
    pub(super) fn report_fresh_intervals(&mut self, frame: &LoopFrame<'a>) {
        let events = &frame.intervals;
        for (i, event) in events.iter().enumerate() {
            let IntervalEvent::Created {
                name,
                span,
                period,
                how,
                rewrite,
            } = event
            else {
                continue;
            };
            if *how == Creation::ConditionalAssign {
                continue;
            }
            let ticks = ticks_until_reset(name, &events[i + 1..]);
            if let Some(&(tick, discarded, in_select, _)) = ticks.first() {
                if discarded && ticks.len() > 1 {
                    continue;
                }
                // Made and ticked once per iteration: a wait of a period is
                // what the tick was written for, and `interval_at(now + d,
                // d)` waits it. Ticked more than once, each tick now waits
                // (was: the first did not): probably meant, not certain. In
                // a `select!` the rewritten tick would restart with every
                // iteration and starve: the fix there is to hoist it.
                let applicability = if ticks.len() == 1 && *how == Creation::Let {
                    Applicability::MachineApplicable
                } else {
                    Applicability::MaybeIncorrect
                };
                let fix = rewrite
                    .as_ref()
                    .filter(|_| !in_select)
                    .map(|r| r.clone().at(applicability));
                let finding = self
                    .fresh_interval_finding(*span, tick, period, in_select)
                    .with_label(
                        frame.keyword,
                        "a fresh interval on every iteration of this loop",
                    )
                    .with_fix(fix);
                self.report(finding);
                continue;
            }
            if *how != Creation::Assign || events[i + 1..].iter().any(|e| touches(e, name)) {
                continue;
            }
            // Nothing after it in this iteration: the next one ticks it first.
            let ticks = ticks_until_reset(name, &events[..i]);
            let Some(&(tick, discarded, in_select, in_condition)) = ticks.first() else {
                continue;
            };
            if discarded && ticks.len() > 1 {
                continue;
            }
            // Re-made by assignment so that the next tick waits a period from
            // here: `interval_at(now + d, d)` does that; outside a `select!`
            // (where it would become a deadline restarted by every other
            // branch). It changes when the loop runs, so a person confirms.
            let fix = rewrite
                .as_ref()
                .filter(|_| !in_select)
                .map(|r| r.clone().at(Applicability::MaybeIncorrect));
            let consequence = if in_condition {
                "so the `while` condition finds it ready at once: the loop never sees `Pending` \
                 and runs its body again and again without waiting"
            } else if in_select {
                "so from the second iteration on the `tick()` branch is ready at once and wins \
                 the `select!`: the loop never waits"
            } else {
                "so from the second iteration on this `tick()` returns at once: the loop runs back \
                 to back instead of once per period"
            };
            let message = format!(
                "interval re-created on every iteration: `{name}` is replaced by a new interval of \
                 {period} here, and the tick at the start of the next iteration is that new \
                 interval's first one, which completes immediately, {consequence}"
            );
            let help = "keep one interval and change its pace with `reset()` (or \
                        `reset_after(period)`), or make the new one with \
                        `interval_at(Instant::now() + period, period)`, or call `reset()` right \
                        after creating it; if a fresh wait per iteration is meant, \
                        `sleep(period).await`";
            let finding = Finding::new(&INFO, *span, message, help)
                .with_label(
                    tick,
                    "ticks the new interval next time round: completes immediately",
                )
                .with_label(
                    frame.keyword,
                    "every iteration of this loop makes a new interval",
                )
                .with_fix(fix);
            self.report(finding);
        }
    }

    /// After a `poll` fn: an interval field replaced while the function polls
    /// it is polled fresh on the next call.
    pub(super) fn report_poll_intervals(&mut self, events: &[IntervalEvent], poll: Span) {
        for (i, event) in events.iter().enumerate() {
            let IntervalEvent::Created {
                name,
                span,
                period,
                rewrite,
                ..
            } = event
            else {
                continue;
            };
            if events[i + 1..].iter().any(|e| touches(e, name)) {
                continue; // polled (or reset) again in the same call
            }
            let Some(&(tick, ..)) = ticks_until_reset(name, &events[..i]).first() else {
                continue;
            };
            let message = format!(
                "interval re-created in `poll`: `{name}` is replaced by a new interval of {period} \
                 here, in the function that polls it; the new interval has not registered this \
                 task's waker, and its first tick completes immediately, so the work it paces \
                 runs again on the very next poll instead of after {period}, or waits for an \
                 unrelated wake-up"
            );
            let help = "keep the interval and `reset()` it (or `reset_after(period)`) instead of \
                        replacing it, or call `reset()` right after creating the new one (or \
                        make it with `interval_at(Instant::now() + period, period)`)";
            let finding = Finding::new(&INFO, *span, message, help)
                .with_label(
                    tick,
                    "polls the new interval on the next call: ready at once",
                )
                .with_label(poll, "re-entered by the executor on every wake-up")
                // The new interval still has to be polled to register the
                // waker: the first tick a period away is what was meant,
                // `reset()` of the old one is the better fix.
                .with_fix(
                    rewrite
                        .as_ref()
                        .map(|r| r.clone().at(Applicability::MaybeIncorrect)),
                );
            self.report(finding);
        }
    }

    pub(super) fn fresh_interval_finding(
        &self,
        created: Extent,
        tick: Extent,
        period: &str,
        in_select: bool,
    ) -> Finding {
        let consequence = if in_select {
            "so the `tick()` branch is ready at once and wins the `select!` on every iteration: a \
             busy loop that never waits"
        } else {
            "so this `tick()` returns at once and the wait never happens: the loop runs without \
             its intended delay (a busy loop, or a skipped wait)"
        };
        let message = format!(
            "interval created inside the loop: this interval of {period} is created anew on every \
             iteration and ticked before any `reset()`; an interval's first tick completes \
             immediately, {consequence}"
        );
        let help = "create the interval once, before the loop, and tick it inside (only its very \
                    first tick is immediate); if a fresh wait per iteration is meant, \
                    `sleep(period).await`; `interval_at(Instant::now() + period, period)` or a \
                    `reset()` before the first tick also skip the immediate tick";
        Finding::new(&INFO, created, message, help).with_label(
            tick,
            "completes immediately: the first tick of a new interval",
        )
    }
}

/// `tokio::time::interval(d)` or `interval_at(Instant::now(), d)`: an
/// interval whose first tick is immediate. Returns its period, described.
/// async-std's `stream::interval(d)` first yields after `d`: not one.
pub(super) fn immediate_interval(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = peel_parens(expr) else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if path_mentions(&func.path, "async_std") || path_mentions(&func.path, "stream") {
        return None;
    }
    match (last_segment(&func.path)?.as_str(), call.args.len()) {
        ("interval", 1) => Some(describe_duration(&call.args[0])),
        ("interval_at", 2) if is_bare_now(&call.args[0]) => Some(describe_duration(&call.args[1])),
        _ => None,
    }
}

pub(super) fn is_bare_now(expr: &Expr) -> bool {
    callee_is(peel_parens(expr), "now")
}

/// `x.tick()` → `x`.
pub(super) fn tick_receiver(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::MethodCall(m) if m.method == "tick" && m.args.is_empty() => Some(&m.receiver),
        _ => None,
    }
}

/// The ticks of `name` in `events` before it is reset or re-created:
/// (span, discarded, in a `select!`, in the `while` condition).
fn ticks_until_reset(name: &str, events: &[IntervalEvent]) -> Vec<(Extent, bool, bool, bool)> {
    let mut ticks = Vec::new();
    for event in events {
        match event {
            IntervalEvent::Created { name: n, .. } | IntervalEvent::Reset { name: n }
                if n == name =>
            {
                break
            }
            IntervalEvent::Tick {
                name: n,
                span,
                discarded,
                in_select,
                in_condition,
            } if n == name => ticks.push((*span, *discarded, *in_select, *in_condition)),
            _ => {}
        }
    }
    ticks
}

fn touches(event: &IntervalEvent, name: &str) -> bool {
    match event {
        IntervalEvent::Created { name: n, .. }
        | IntervalEvent::Reset { name: n }
        | IntervalEvent::Tick { name: n, .. } => n == name,
    }
}

// ---- an interval field replaced by another method of the file ----

/// A `self.<field>` ticked in a loop (or a `poll` fn) of one function:
/// (field, the function's name).
fn ticked_fields<'a>(cx: &Context<'a>) -> Vec<(String, String)> {
    struct Ticks<'b> {
        bodies: &'b MacroBodies,
        loops: usize,
        found: Vec<String>,
    }
    impl<'a> Visit<'a> for Ticks<'_> {
        fn visit_item(&mut self, _: &'a syn::Item) {}
        fn visit_expr_loop(&mut self, node: &'a syn::ExprLoop) {
            self.loops += 1;
            visit::visit_expr_loop(self, node);
            self.loops -= 1;
        }
        fn visit_expr_while(&mut self, node: &'a syn::ExprWhile) {
            self.loops += 1;
            visit::visit_expr_while(self, node);
            self.loops -= 1;
        }
        fn visit_expr_for_loop(&mut self, node: &'a syn::ExprForLoop) {
            self.loops += 1;
            visit::visit_expr_for_loop(self, node);
            self.loops -= 1;
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            crate::macro_bodies::walk_macro(self, self.bodies, mac);
        }
        fn visit_expr_method_call(&mut self, call: &'a ExprMethodCall) {
            if self.loops > 0 && ticked_method(call) {
                if let Some(key) = interval_key(&call.receiver) {
                    if let Some(field) = key.strip_prefix("self.") {
                        self.found.push(field.to_string());
                    }
                }
            }
            visit::visit_expr_method_call(self, call);
        }
    }
    let mut out = Vec::new();
    for function in &cx.functions {
        let mut ticks = Ticks {
            bodies: cx.bodies,
            // A `poll` fn is re-entered like a loop body.
            loops: usize::from(is_poll_fn(function.sig)),
            found: Vec::new(),
        };
        ticks.visit_block(function.body);
        let name = function.sig.ident.to_string();
        out.extend(ticks.found.into_iter().map(|field| (field, name.clone())));
    }
    out
}

/// Functions of the file without parameters that return a new immediate
/// interval as their value: `fn new_timer() -> Interval { .. interval(d) }`.
/// Each call makes the same interval again (same period, or the same random
/// draw), never a new pace.
fn interval_makers<'a>(cx: &Context<'a>) -> HashMap<String, &'a Expr> {
    let mut makers = HashMap::new();
    for function in &cx.functions {
        if !function.sig.inputs.is_empty() {
            continue;
        }
        if let Some(Stmt::Expr(tail, None)) = function.body.stmts.last() {
            if immediate_interval(tail).is_some() {
                makers.insert(function.sig.ident.to_string(), tail);
            }
        }
    }
    makers
}

/// `self.timer = new_timer();` (a maker above) or `self.timer =
/// interval(PERIOD);` (a period that is not this function's input) in a
/// method, for a field that another function ticks in its loop: the
/// replacement only restarts the period, and a new interval's first tick
/// is immediate, so the work the interval paces runs again at once.
pub(super) fn check_replaced_fields(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let ticked = ticked_fields(cx);
    if ticked.is_empty() {
        return;
    }
    let makers = interval_makers(cx);
    let mut reported: HashSet<*const Expr> = HashSet::new();
    for function in &cx.functions {
        if function.sig.receiver().is_none() {
            continue;
        }
        let name = function.sig.ident.to_string();
        any_expr(function.body, cx.bodies, |e| {
            let Expr::Assign(assign) = e else {
                return false;
            };
            let Some(field) = interval_key(&assign.left)
                .and_then(|key| key.strip_prefix("self.").map(str::to_string))
            else {
                return false;
            };
            let Some((_, ticker)) = ticked.iter().find(|(f, t)| *f == field && *t != name) else {
                return false;
            };
            let made = match peel_parens(&assign.right) {
                Expr::Call(call) if call.args.is_empty() => match &*call.func {
                    Expr::Path(p) => last_segment(&p.path)
                        .and_then(|maker| makers.get(&maker).map(|at| (maker, *at))),
                    _ => None,
                },
                _ => None,
            };
            let (interval, maker) = match made {
                Some((maker, at)) => (at, Some(maker)),
                None if immediate_interval(&assign.right).is_some()
                    && !period_varies(&assign.right, cx.bodies) =>
                {
                    (e, None)
                }
                None => return false,
            };
            let resets = any_expr(function.body, cx.bodies, |r| {
                matches!(r, Expr::MethodCall(m) if m.method.to_string().starts_with("reset")
                    && interval_key(&m.receiver).as_deref() == Some(&format!("self.{field}")))
            });
            if resets || !reported.insert(interval as *const Expr) {
                return false;
            }
            let period = immediate_interval(interval).unwrap_or_default();
            let source = maker
                .as_ref()
                .map_or(String::new(), |m| format!(" from `{m}()`"));
            let message = format!(
                "interval field re-made with its own period: `{name}` replaces `self.{field}`, \
                 which `{ticker}` ticks in its loop, with a new interval of {period}{source}; the \
                 period is the same, so the replacement is meant to restart it, but a new \
                 interval's first tick completes immediately: the work `self.{field}` paces runs \
                 again at once instead of a period later"
            );
            let help = "to restart the period, `self.field.reset()` (the next tick comes a whole \
                        period later); or make the interval with \
                        `interval_at(Instant::now() + period, period)`";
            // Re-made to restart the period: `interval_at(now + period,
            // period)` restarts it. Not for a maker function, whose other
            // callers (the first creation) would change too.
            let fix = maker
                .is_none()
                .then(|| interval_rewrite(cx.file, &assign.right, false))
                .flatten()
                .map(|r| r.at(Applicability::MaybeIncorrect));
            let mut finding = Finding::new(&INFO, interval, message, help).with_fix(fix);
            if maker.is_some() {
                finding = finding.with_label(assign, format!("stored in `self.{field}` here"));
            }
            out.push(finding);
            false
        });
    }
}

/// Whether the arguments of an `interval(..)` call read a local or a
/// parameter.
fn period_varies(call: &Expr, bodies: &MacroBodies) -> bool {
    let Expr::Call(call) = peel_parens(call) else {
        return true;
    };
    call.args
        .iter()
        .any(|arg| any_expr(arg, bodies, |v| variable(v).is_some_and(|v| is_local(&v))))
}

/// A lower-case name, not a `const` (by Rust naming): a local or a
/// parameter, whose value can differ between calls (a new pace).
fn is_local(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_lowercase() || c == '_')
}

// ---- the fix: make the interval with its first tick a period away ----

/// `interval(d)` → `interval_at(Instant::now() + d, d)`, `interval_at(
/// Instant::now(), d)` → `interval_at(Instant::now() + d, d)`: the same
/// interval, whose first tick waits a period instead of completing at once.
/// The caller decides how safe that is for its shape; `certain` says
/// whether the paths written are certainly tokio's (`Instant` must be
/// `tokio::time::Instant`, not std's).
#[derive(Clone)]
pub(super) struct IntervalRewrite {
    pub fix: Fix,
    pub certain: bool,
}

impl IntervalRewrite {
    /// The fix at `applicability`, downgraded to `MaybeIncorrect` when the
    /// paths are not certain.
    pub fn at(self, applicability: Applicability) -> Fix {
        let mut fix = self.fix;
        fix.applicability = if self.certain {
            applicability
        } else {
            applicability.max(Applicability::MaybeIncorrect)
        };
        fix
    }
}

/// `receiver`: the call is the receiver of a method call (`interval(d).tick()`),
/// where a block must be parenthesized (at the start of a statement, `{ .. }.tick()`
/// would not parse).
pub(super) fn interval_rewrite(
    file: &syn::File,
    expr: &Expr,
    receiver: bool,
) -> Option<IntervalRewrite> {
    let Expr::Call(call) = peel_parens(expr) else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let name = last_segment(&func.path)?;
    let resolved = crate::syntax::resolved_path(file, &func.path);
    let is_tokio = resolved
        .as_ref()
        .is_some_and(|p| p.len() == 3 && p[0] == "tokio" && p[1] == "time" && p[2] == name);
    let description = "make the interval with `interval_at(Instant::now() + period, period)`, so \
                       its first tick waits a period instead of completing at once";
    match (name.as_str(), call.args.len()) {
        ("interval", 1) => {
            let period = &call.args[0];
            // The prefix to write `interval_at` and `Instant` under.
            let prefix = time_module_prefix(&func.path);
            let made =
                |d: &str| format!("{prefix}::interval_at({prefix}::Instant::now() + {d}, {d})");
            let text = with_period(period, made, receiver)?;
            Some(IntervalRewrite {
                fix: Fix::new(description, Applicability::MaybeIncorrect)
                    .with_edit(Edit::replace(call.span(), text)),
                certain: is_tokio,
            })
        }
        ("interval_at", 2) if is_bare_now(&call.args[0]) => {
            // The `Instant` is the one the code already passes.
            let start = crate::syntax::source_text(&call.args[0])?;
            let func_text = crate::syntax::source_text(&call.func)?;
            let made = |d: &str| format!("{func_text}({start} + {d}, {d})");
            let text = with_period(&call.args[1], made, receiver)?;
            Some(IntervalRewrite {
                fix: Fix::new(description, Applicability::MaybeIncorrect)
                    .with_edit(Edit::replace(call.span(), text)),
                // Only `+ period` is added to what already compiles.
                certain: true,
            })
        }
        _ => None,
    }
}

/// `made(period)` for a period that can be written twice, else the period
/// bound once in a block: `{ let period = compute(); made(period) }`.
fn with_period(period: &Expr, made: impl Fn(&str) -> String, receiver: bool) -> Option<String> {
    let text = crate::syntax::source_text(period)?;
    Some(if crate::syntax::is_pure(period) {
        made(&text)
    } else if receiver {
        format!("({{ let period = {text}; {} }})", made("period"))
    } else {
        format!("{{ let period = {text}; {} }}", made("period"))
    })
}
