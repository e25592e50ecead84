//! `timer_leak`: timers made per loop iteration that leak, pile up, fire at
//! once, or never fire.

use std::collections::HashSet;
use std::mem;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprIf, ExprMatch, ExprMethodCall, Local, Macro, Pat, Stmt, UnOp};

use crate::engine::Context;
use crate::finding::Finding;
use crate::macro_bodies::{BranchKind, MacroBodies, MacroBody, Select, SelectBranch, SelectFlavor};
use crate::prefilter::{Needs, Trigger::*};
use crate::syntax::{
    any_expr, last_segment, macro_name, path_ends_with, path_mentions, snake_case,
};

declare_rule! {
    /// ## What it flags
    ///
    /// Timers created on every iteration of a loop in one of four shapes that
    /// really leak or misbehave in Rust:
    ///
    /// - **(a) a detached timer task per iteration**: `tokio::spawn`,
    ///   `thread::spawn` (or `spawn_blocking`, a runtime handle's `spawn`, a
    ///   `thread::Builder`) of a body that sleeps and then signals (`send`,
    ///   `notify_*`, `cancel`, `unpark`, an atomic `store`), whose JoinHandle
    ///   is dropped on the spot (a statement, `let _ =`, or a binding never
    ///   used again).
    /// - **(b) an interval created inside the loop**: `tokio::time::interval(d)`
    ///   (or `interval_at(Instant::now(), d)`) created in the loop body and
    ///   ticked in the same iteration before any `reset*()`.
    /// - **(c) a relative timer restarted by traffic**: `sleep(d)`,
    ///   `Delay::new(d)`, `Timer::after(d)`, crossbeam `after(d)`/`tick(d)`,
    ///   `sleep_until(Instant::now() + d)`, crossbeam `default(d)`, created per
    ///   iteration (as a `select!` branch, or by a `let` in the loop body that
    ///   the `select!` awaits), or a `timeout(d, fut).await` /
    ///   `fut.timeout(d).await` / `rx.recv_timeout(d)` matched in the loop,
    ///   when another branch can complete without leaving the loop and the
    ///   timer's branch has work to do.
    /// - **(d) timer futures piling up**: a timer (or an async block that
    ///   sleeps) pushed into a `Vec`, `VecDeque` or `FuturesUnordered`, or
    ///   spawned into a `JoinSet`, on every iteration, when the collection is
    ///   never polled, drained or cleared anywhere else.
    ///
    /// ### When a branch "completes without leaving the loop"
    ///
    /// Decided from the branch's handler, path by path. A path leaves the loop
    /// when it ends in `break` (of this loop or an outer one), `return`,
    /// `continue 'outer`, `panic!`/`unreachable!`/`todo!`/`unimplemented!`,
    /// `process::exit`, or sets the `while` condition's flag to a constant. A
    /// path that ends in `continue` (of this loop), falls off the end of the
    /// handler, or may leave only through `?`, stays. A competing branch
    /// counts only if some path stays. Branches that cannot bring steady
    /// traffic do not count: `else`/`default`, crossbeam `send`, absolute
    /// timers, one-shot futures made in the same iteration (from the `for`
    /// item or a `let` of this iteration), and cancellation (`cancelled()`,
    /// `shutdown`, `quit`, `stop`, `close`... receivers).
    ///
    /// The timer's own branch must have work that the restarts starve: it is
    /// not flagged when every path of it leaves the loop (an inactivity
    /// timeout: restarting on activity is what it means) or when it is empty,
    /// `continue` or only logs — unless a competing branch always `continue`s
    /// past code after the `select!` that only the timer reaches.
    ///
    /// For `timeout(..)`/`recv_timeout(..)` matched with `match` or `if let`,
    /// the `Ok` arms are the competing branch and the `Err` (`Err(Timeout)`)
    /// arms the timer's; a `while let Ok(..) = timeout(..)` loop ends when the
    /// timer fires, so it is an inactivity timeout.
    ///
    /// A keepalive ping that must only run after a quiet period is a
    /// deliberate restart with work in its branch: it is reported, and is the
    /// place for a suppression comment.
    ///
    /// ### Not flagged
    ///
    /// A `sleep` in a retry loop whose other branches all leave the loop (the
    /// shape of the review: dropping the `Sleep` cancels it, nothing leaks), a
    /// loop that exits on cancellation, `sleep_until(deadline)` with a deadline
    /// kept across iterations, `sleep(deadline.saturating_duration_since(now))`,
    /// a per-item timeout racing a future made for that item, a timer pinned
    /// before the loop and `reset()`, an interval created before the loop or
    /// `interval_at(later, ..)`, a plain `sleep(d).await` backoff, a spawned
    /// task whose JoinHandle is kept, a `JoinSet`/`FuturesUnordered` that is
    /// drained, a spawned task that sleeps inside a `select!` (something can
    /// cancel it) or does not signal (a delayed job, not a timer), and
    /// `smol::spawn` without `.detach()` (its task is cancelled on drop). Unlike
    /// semgrep-go's `leaky-time-after`, a loop that ends on `ctx.Done()`-style
    /// cancellation is the retry shape, not a finding.
    ///
    /// ## Why it is a bug
    ///
    /// Go's `time.After` leaks a timer per iteration; in Rust a dropped `Sleep`
    /// is cancelled, so the Go rule does not carry over as is. These forms do
    /// misbehave:
    ///
    /// - (a) A detached task cannot be cancelled: each one outlives the loop
    ///   and keeps its captures (the sender, the consumer...) alive until its
    ///   sleep ends; under load they pile up (about 450 bytes per task).
    /// - (b) An interval's first tick completes immediately, so a fresh one
    ///   per iteration never waits: the loop spins, or skips its delay.
    /// - (c) A timer created each iteration restarts its deadline whenever
    ///   another branch wins; under steady traffic it never fires, and the idle
    ///   flush, the resync or the watchdog check in its branch never runs.
    /// - (d) Timers nobody polls are never freed until the collection is
    ///   dropped; a `JoinSet` keeps every finished task's output until joined.
    ///
    /// Crossbeam's `tick(d)` delivers its first message after `d`, not at once,
    /// so a `tick` created per iteration is the restarting timer of (c), not
    /// the immediate tick of (b).
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// loop {
    ///     tokio::select! {
    ///         Some(ack) = acks.recv() => pending.push(ack),
    ///         // restarts whenever an ack arrives: never fires under load
    ///         _ = sleep(Duration::from_secs(30)) => flush_acks(&mut pending).await,
    ///     }
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// Create the timer once, before the loop, and move it only when it fires;
    /// or use an `interval` created once; or `sleep_until` an absolute deadline
    /// kept across iterations. Keep the JoinHandle of a task (or use a
    /// `JoinSet` drained or aborted on exit).
    ///
    /// ```rust,ignore
    /// let flush = sleep(Duration::from_secs(30));
    /// tokio::pin!(flush);
    /// loop {
    ///     tokio::select! {
    ///         Some(ack) = acks.recv() => pending.push(ack),
    ///         _ = &mut flush => {
    ///             flush_acks(&mut pending).await;
    ///             flush.as_mut().reset(Instant::now() + Duration::from_secs(30));
    ///         }
    ///     }
    /// }
    /// ```
    INFO = "timer_leak", Warn, "timers made per loop iteration that leak, pile up, fire at once, or never fire"
}

/// Every form makes a timer by one of these names — `sleep`/`sleep_until`,
/// `Delay::new`/`delay_for`, `after(..)` and `at(..)` (crossbeam,
/// `Timer::*`), `tick`, `timeout(..)`/`recv_timeout(..)`/`timeout_at(..)`,
/// `interval` — or races crossbeam's `default(d)` inside `select!`.
pub const NEEDS: Needs = Needs(&[&[
    Word("sleep"),
    Word("delay"),
    Word("Delay"),
    Word("tick"),
    Word("interval"),
    Regex(r"(?:^|[^[:alnum:]])(?:after|at|timeout|timeout_at)\s*\("),
    Regex(r"\bselect(?:_biased)?\s*!"),
]]);

pub fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for function in &cx.functions {
        let mut walker = Walker {
            cx,
            bodies: cx.bodies,
            function_body: function.body,
            out: &mut *out,
            loops: Vec::new(),
            next_tick_discarded: false,
            in_select_future: false,
        };
        walker.visit_block(function.body);
    }
}

/// Walks one function body, keeping the loops that enclose the current node.
/// A closure or async block starts afresh: its code does not run per
/// iteration of the loops around it.
struct Walker<'a, 'c> {
    cx: &'c Context<'a>,
    bodies: &'a MacroBodies,
    function_body: &'a Block,
    out: &'c mut Vec<Finding>,
    loops: Vec<LoopFrame<'a>>,
    /// The statement being visited is `x.tick().await;`, its value dropped.
    next_tick_discarded: bool,
    /// We are inside the future expression of a `select!` branch.
    in_select_future: bool,
}

struct LoopFrame<'a> {
    label: Option<String>,
    keyword: Span,
    body: &'a Block,
    /// Names bound anew on each iteration (the loop pattern, `let`s seen so far).
    bindings: Vec<Binding<'a>>,
    /// Plain variables of a `while` condition: assigning one a constant ends the loop.
    condition_flags: Vec<String>,
    intervals: Vec<IntervalEvent>,
}

struct Binding<'a> {
    name: String,
    init: Option<&'a Expr>,
}

enum IntervalEvent {
    Created {
        name: String,
        span: Span,
        period: String,
    },
    Reset {
        name: String,
    },
    Tick {
        name: String,
        span: Span,
        discarded: bool,
        in_select: bool,
    },
}

impl<'a> LoopFrame<'a> {
    fn new(label: Option<&syn::Label>, keyword: Span, body: &'a Block) -> LoopFrame<'a> {
        LoopFrame {
            label: label.map(|l| l.name.ident.to_string()),
            keyword,
            body,
            bindings: Vec::new(),
            condition_flags: Vec::new(),
            intervals: Vec::new(),
        }
    }

    fn bind_pattern(&mut self, pat: &Pat) {
        for name in pattern_names(pat) {
            self.bindings.push(Binding { name, init: None });
        }
    }

    fn binding(&self, name: &str) -> Option<&Binding<'a>> {
        self.bindings.iter().rev().find(|b| b.name == name)
    }

    fn per_iteration_names(&self) -> HashSet<&str> {
        self.bindings.iter().map(|b| b.name.as_str()).collect()
    }
}

impl<'a> Visit<'a> for Walker<'a, '_> {
    fn visit_item(&mut self, _: &'a syn::Item) {}

    fn visit_expr_closure(&mut self, node: &'a syn::ExprClosure) {
        self.fresh_scope(|w| visit::visit_expr_closure(w, node));
    }

    fn visit_expr_async(&mut self, node: &'a syn::ExprAsync) {
        self.fresh_scope(|w| visit::visit_expr_async(w, node));
    }

    fn visit_expr_loop(&mut self, node: &'a syn::ExprLoop) {
        let frame = LoopFrame::new(node.label.as_ref(), node.loop_token.span, &node.body);
        self.in_loop(frame, |w| w.visit_block(&node.body));
    }

    fn visit_expr_while(&mut self, node: &'a syn::ExprWhile) {
        self.visit_expr(&node.cond);
        let mut frame = LoopFrame::new(node.label.as_ref(), node.while_token.span, &node.body);
        if let Expr::Let(binding) = &*node.cond {
            frame.bind_pattern(&binding.pat);
        }
        frame.condition_flags = plain_variables(&node.cond);
        self.in_loop(frame, |w| w.visit_block(&node.body));
    }

    fn visit_expr_for_loop(&mut self, node: &'a syn::ExprForLoop) {
        self.visit_expr(&node.expr);
        let mut frame = LoopFrame::new(node.label.as_ref(), node.for_token.span, &node.body);
        frame.bind_pattern(&node.pat);
        self.in_loop(frame, |w| w.visit_block(&node.body));
    }

    fn visit_block(&mut self, block: &'a Block) {
        if !self.loops.is_empty() {
            for (i, stmt) in block.stmts.iter().enumerate() {
                self.check_detached_spawn(stmt, &block.stmts[i + 1..]);
            }
        }
        visit::visit_block(self, block);
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Expr(expr, Some(_)) = stmt {
            self.next_tick_discarded = tick_receiver(strip_await(expr)).is_some();
        }
        visit::visit_stmt(self, stmt);
        self.next_tick_discarded = false;
    }

    fn visit_local(&mut self, local: &'a Local) {
        visit::visit_local(self, local);
        let Some(frame) = self.loops.last_mut() else {
            return;
        };
        let init = local.init.as_ref().map(|init| &*init.expr);
        let names = pattern_names(&local.pat);
        if let (Some(init), [name]) = (init, names.as_slice()) {
            if let Some(period) = immediate_interval(init) {
                frame.intervals.push(IntervalEvent::Created {
                    name: name.clone(),
                    span: init.span(),
                    period,
                });
            }
        }
        for name in names {
            frame.bindings.push(Binding { name, init });
        }
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        let bodies = self.bodies;
        let Some(select) = bodies.select(mac) else {
            crate::macro_bodies::walk_macro(self, bodies, mac);
            return;
        };
        if !self.loops.is_empty() {
            self.check_select(mac, select);
        }
        for branch in &select.branches {
            let outer = self.in_select_future;
            if let Some(future) = &branch.future {
                self.in_select_future = true;
                self.visit_expr(future);
            }
            self.in_select_future = false;
            if let Some(guard) = &branch.guard {
                self.visit_expr(guard);
            }
            self.visit_expr(&branch.handler);
            self.in_select_future = outer;
        }
    }

    fn visit_expr_method_call(&mut self, call: &'a ExprMethodCall) {
        if !self.loops.is_empty() {
            let method = call.method.to_string();
            match method.as_str() {
                "tick" if call.args.is_empty() => self.on_tick(call),
                "push" | "push_back" | "push_front" if call.args.len() == 1 => {
                    self.check_piled_timer(call, false)
                }
                "spawn" if call.args.len() == 1 => self.check_piled_timer(call, true),
                _ if method.starts_with("reset") => {
                    if let (Some(frame), Some(name)) = (
                        self.loops.last_mut(),
                        variable(peel_future(&call.receiver, None)),
                    ) {
                        frame.intervals.push(IntervalEvent::Reset { name });
                    }
                }
                _ => {}
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_match(&mut self, node: &'a ExprMatch) {
        if !self.loops.is_empty() {
            let arms = node
                .arms
                .iter()
                .map(|arm| (Some(&arm.pat), ArmBody::Expr(&arm.body)))
                .collect();
            self.check_timed_receive(&node.expr, arms);
        }
        visit::visit_expr_match(self, node);
    }

    fn visit_expr_if(&mut self, node: &'a ExprIf) {
        if let (false, Expr::Let(binding)) = (self.loops.is_empty(), &*node.cond) {
            let otherwise = match &node.else_branch {
                Some((_, expr)) => ArmBody::Expr(expr),
                None => ArmBody::Empty,
            };
            let arms = vec![
                (Some(&*binding.pat), ArmBody::Block(&node.then_branch)),
                (None, otherwise),
            ];
            self.check_timed_receive(&binding.expr, arms);
        }
        visit::visit_expr_if(self, node);
    }
}

impl<'a> Walker<'a, '_> {
    /// Code that runs on its own schedule (a closure, an async block): no
    /// enclosing loop or `select!` branch applies inside it.
    fn fresh_scope(&mut self, walk: impl FnOnce(&mut Self)) {
        let loops = mem::take(&mut self.loops);
        let in_select_future = mem::replace(&mut self.in_select_future, false);
        walk(self);
        self.loops = loops;
        self.in_select_future = in_select_future;
    }

    fn in_loop(&mut self, frame: LoopFrame<'a>, walk: impl FnOnce(&mut Self)) {
        self.loops.push(frame);
        walk(self);
        let frame = self.loops.pop().expect("pushed above");
        self.report_fresh_intervals(&frame);
    }

    fn frame(&self) -> &LoopFrame<'a> {
        self.loops.last().expect("only called inside a loop")
    }

    /// Where the innermost loop's iterations end, for deciding whether a
    /// handler leaves it.
    fn exit_target(&self) -> ExitTarget<'_> {
        let frame = self.frame();
        ExitTarget {
            label: frame.label.as_deref(),
            flags: &frame.condition_flags,
        }
    }

    fn report(&mut self, finding: Finding) {
        self.out.push(finding);
    }

    // ---- (a) a detached timer task per iteration ----

    fn check_detached_spawn(&mut self, stmt: &'a Stmt, rest: &'a [Stmt]) {
        let (expr, bound_to) = match stmt {
            Stmt::Expr(expr, Some(_)) => (expr, None),
            Stmt::Local(local) => match (&local.init, &local.pat) {
                (Some(init), Pat::Wild(_)) => (&*init.expr, None),
                (Some(init), Pat::Ident(ident)) => (&*init.expr, Some(ident.ident.to_string())),
                _ => return,
            },
            _ => return,
        };
        let Some(spawn) = detached_spawn(expr) else {
            return;
        };
        if bound_to.is_some_and(|name| mentions_name(rest, self.bodies, &name)) {
            return; // the handle is kept and used
        }
        let Some((sleep, signal)) = sleep_then_signal(spawn.body, self.bodies) else {
            return;
        };
        let noun = spawn.noun;
        let signal_text = signal_display(signal);
        let captured = match signal {
            Expr::MethodCall(call) => receiver_root(&call.receiver)
                .map(|root| format!("`{root}` and its other captures"))
                .unwrap_or_else(|| "its captures".to_string()),
            _ => "its captures".to_string(),
        };
        let duration = sleep_duration(sleep).map_or("a while".to_string(), describe_duration);
        let message = format!(
            "detached timer {noun} per iteration: the {noun} spawned here on every iteration of \
             this loop sleeps {duration} and then signals with `{signal_text}`, and its JoinHandle \
             is dropped, so nothing can cancel it: each one outlives the loop and keeps \
             {captured} alive until its sleep ends (Go's `time.After` leak, one {noun} per \
             iteration)"
        );
        let help = if spawn.thread {
            "wait in the loop itself instead of in a thread per iteration (`recv_timeout`, or \
             `select!` on a `crossbeam_channel::after`/`tick` receiver created once); a detached \
             thread cannot be cancelled, so if one is really needed keep its JoinHandle and join \
             it when the loop ends"
        } else {
            "race one timer in the loop instead of spawning one per iteration (a `Sleep` pinned \
             before the loop and `reset()` when it fires, or an `interval` created once); if a \
             task is really needed, keep its JoinHandle (or spawn it into a `JoinSet` that is \
             drained or aborted when the loop ends) so it is cancelled with the loop"
        };
        let keyword = self.frame().keyword;
        self.report(
            Finding::new(&INFO, spawn.call.span(), message, help)
                .with_label(sleep.span(), format!("sleeps {duration} first"))
                .with_label(signal.span(), "then signals")
                .with_label(
                    keyword,
                    format!("a new {noun} on every iteration of this loop"),
                ),
        );
    }

    // ---- (b) an interval created inside the loop ----

    fn on_tick(&mut self, call: &'a ExprMethodCall) {
        let discarded = mem::take(&mut self.next_tick_discarded);
        let in_select = self.in_select_future;
        let receiver = peel_future(&call.receiver, None);
        if let Some(period) = immediate_interval(receiver) {
            let finding =
                self.fresh_interval_finding(receiver.span(), call.span(), &period, in_select);
            self.report(finding);
            return;
        }
        if let (Some(frame), Some(name)) = (self.loops.last_mut(), variable(receiver)) {
            frame.intervals.push(IntervalEvent::Tick {
                name,
                span: call.span(),
                discarded,
                in_select,
            });
        }
    }

    /// After a loop body: each interval created in it and ticked before any
    /// `reset*()` ticks at once on every iteration. A first tick dropped as a
    /// statement and followed by another is the deliberate skip idiom.
    fn report_fresh_intervals(&mut self, frame: &LoopFrame<'a>) {
        for (i, event) in frame.intervals.iter().enumerate() {
            let IntervalEvent::Created { name, span, period } = event else {
                continue;
            };
            let mut ticks = Vec::new();
            for later in &frame.intervals[i + 1..] {
                match later {
                    IntervalEvent::Created { name: n, .. } if n == name => break,
                    IntervalEvent::Reset { name: n } if n == name => break,
                    IntervalEvent::Tick {
                        name: n,
                        span,
                        discarded,
                        in_select,
                    } if n == name => ticks.push((*span, *discarded, *in_select)),
                    _ => {}
                }
            }
            let Some(&(tick, discarded, in_select)) = ticks.first() else {
                continue;
            };
            if discarded && ticks.len() > 1 {
                continue;
            }
            let finding = self
                .fresh_interval_finding(*span, tick, period, in_select)
                .with_label(
                    frame.keyword,
                    "a fresh interval on every iteration of this loop",
                );
            self.report(finding);
        }
    }

    fn fresh_interval_finding(
        &self,
        created: Span,
        tick: Span,
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

    // ---- (c) a relative timer restarted by traffic ----

    fn check_select(&mut self, mac: &'a Macro, select: &'a Select) {
        let target = self.exit_target();
        let mut timers = Vec::new();
        let mut rivals = Vec::new();
        for branch in &select.branches {
            match self.branch_role(branch) {
                Role::Timer(timer) => timers.push((branch, timer)),
                Role::Source(name) => {
                    let outcome = outcomes(&branch.handler, &target);
                    if outcome.stays() {
                        rivals.push(Rival {
                            branch,
                            name,
                            outcome,
                        });
                    }
                }
                Role::Other => {}
            }
        }
        if rivals.is_empty() {
            return;
        }
        let work_after_select = self.select_is_followed_by_code(mac);
        let mut findings = Vec::new();
        for (branch, timer) in timers {
            let outcome = outcomes(&branch.handler, &target);
            if outcome.always_leaves() {
                continue; // an inactivity timeout: restarting on activity is its meaning
            }
            let (starved, competing): (String, Vec<&Rival>) =
                if !is_trivial(&branch.handler, self.cx) {
                    let starved = match first_call(&branch.handler, self.bodies) {
                        Some(call) => format!("its branch, which calls `{}`,", snippet(call)),
                        None => "its branch".to_string(),
                    };
                    (starved, rivals.iter().collect())
                } else if outcome.falls_through && work_after_select {
                    let skipping = rivals
                        .iter()
                        .filter(|r| r.outcome.only_continues())
                        .collect();
                    (
                        "the code after the `select!`, which only the timer reaches,".to_string(),
                        skipping,
                    )
                } else {
                    continue;
                };
            if competing.is_empty() {
                continue;
            }
            findings.push(self.restarted_timer_finding(
                select.flavor,
                branch,
                &timer,
                &competing,
                &starved,
            ));
        }
        for finding in findings {
            self.report(finding);
        }
    }

    fn branch_role(&self, branch: &'a SelectBranch) -> Role<'a> {
        let Some(future) = &branch.future else {
            return Role::Other;
        };
        match branch.kind {
            BranchKind::Fallback | BranchKind::Send => Role::Other,
            BranchKind::FallbackAfter => {
                if self.is_remaining_time(future) {
                    Role::Other
                } else {
                    Role::Timer(TimerUse {
                        display: "default(..)".to_string(),
                        created: branch.span,
                        duration: Some(future),
                        by_let: false,
                        is_default: true,
                    })
                }
            }
            BranchKind::Future | BranchKind::Recv => {
                if let Some(timer) = self.relative_timer(future) {
                    return Role::Timer(timer);
                }
                let peeled = peel_future(future, Some(self.bodies));
                if timer_call(peeled).is_some() || self.is_let_bound_timer(peeled) {
                    return Role::Other; // an absolute deadline: not traffic
                }
                if !self.is_steady_source(future) {
                    return Role::Other;
                }
                let text = snippet(future);
                Role::Source(match branch.kind {
                    BranchKind::Recv => format!("recv({text})"),
                    _ => text,
                })
            }
        }
    }

    /// A timer whose deadline is "now + d", made anew on this iteration:
    /// directly, or through a `let` of this iteration.
    fn relative_timer(&self, future: &'a Expr) -> Option<TimerUse<'a>> {
        let peeled = peel_future(future, Some(self.bodies));
        if let Some(call) = timer_call(peeled) {
            return self.relative(call, false);
        }
        let name = variable(peeled)?;
        let init = self.frame().binding(&name)?.init?;
        let call = timer_call(peel_future(init, Some(self.bodies)))?;
        self.relative(call, true)
    }

    fn is_let_bound_timer(&self, peeled: &Expr) -> bool {
        variable(peeled)
            .and_then(|name| self.frame().binding(&name)?.init)
            .is_some_and(|init| timer_call(peel_future(init, Some(self.bodies))).is_some())
    }

    fn relative(&self, call: TimerCall<'a>, by_let: bool) -> Option<TimerUse<'a>> {
        let duration = match call.deadline {
            Deadline::After(duration) => (!self.is_remaining_time(duration)).then_some(duration)?,
            Deadline::At(instant) => self.now_plus(instant)?,
        };
        Some(TimerUse {
            display: call.display,
            created: call.expr.span(),
            duration: Some(duration),
            by_let,
            is_default: false,
        })
    }

    /// `Instant::now() + d` (possibly through a `let` of this iteration): the
    /// `d` of a deadline that is relative after all.
    fn now_plus(&self, instant: &'a Expr) -> Option<&'a Expr> {
        let instant = self.through_let(instant);
        match instant {
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) && calls_now(&b.left) => {
                Some(&b.right)
            }
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "checked_add" | "saturating_add"
                ) && calls_now(&m.receiver)
                    && m.args.len() == 1 =>
            {
                Some(&m.args[0])
            }
            _ => None,
        }
    }

    /// A duration computed from an absolute deadline ("time left until X"):
    /// the timer does not restart, whatever wins.
    fn is_remaining_time(&self, duration: &'a Expr) -> bool {
        let duration = self.through_let(duration);
        any_expr(duration, self.bodies, |e| match e {
            Expr::MethodCall(m) => REMAINING_TIME_METHODS.contains(&m.method.to_string().as_str()),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Sub(_)) => {
                any_expr(&*b.right, self.bodies, |r| {
                    callee_is(r, "now") || callee_is(r, "elapsed")
                })
            }
            _ => false,
        })
    }

    /// The initializer of a variable bound on this iteration, or the expression itself.
    fn through_let(&self, expr: &'a Expr) -> &'a Expr {
        let expr = peel_parens(expr);
        variable(expr)
            .and_then(|name| self.frame().binding(&name)?.init)
            .map_or(expr, peel_parens)
    }

    /// Whether the future can complete again and again while the loop runs:
    /// a receiver, a stream, an async method on something that outlives the
    /// iteration — not a one-shot future made for this iteration's item, and
    /// not a cancellation signal.
    fn is_steady_source(&self, future: &'a Expr) -> bool {
        let expr = peel_future(future, Some(self.bodies));
        if is_cancellation(expr) {
            return false;
        }
        let fresh = self.frame().per_iteration_names();
        let takes_fresh = |arg: &Expr| {
            !matches!(arg, Expr::Reference(r) if r.mutability.is_some())
                && mentions_any(arg, self.bodies, &fresh)
        };
        match expr {
            Expr::Path(_) => !variable(expr).is_some_and(|name| fresh.contains(name.as_str())),
            Expr::MethodCall(call) => {
                if receiver_root(&call.receiver).is_some_and(|root| fresh.contains(root.as_str())) {
                    return false;
                }
                STREAM_METHODS.contains(&call.method.to_string().as_str())
                    || !call.args.iter().any(takes_fresh)
            }
            Expr::Call(call) => !call.args.iter().any(takes_fresh),
            _ => !mentions_any(expr, self.bodies, &fresh),
        }
    }

    fn select_is_followed_by_code(&self, mac: &Macro) -> bool {
        let stmts = &self.frame().body.stmts;
        stmts.iter().enumerate().any(|(i, stmt)| {
            let this = match stmt {
                Stmt::Macro(m) => std::ptr::eq(&m.mac, mac),
                Stmt::Expr(Expr::Macro(m), _) => std::ptr::eq(&m.mac, mac),
                _ => false,
            };
            this && stmts[i + 1..].iter().any(|s| !matches!(s, Stmt::Item(_)))
        })
    }

    fn restarted_timer_finding(
        &self,
        flavor: SelectFlavor,
        branch: &SelectBranch,
        timer: &TimerUse<'_>,
        competing: &[&Rival<'_>],
        starved: &str,
    ) -> Finding {
        let duration = timer.duration.map_or("its".to_string(), describe_duration);
        let winners = name_list(competing.iter().map(|r| r.name.as_str()));
        let message = if timer.is_default {
            format!(
                "per-iteration timeout in `select!`: `default(..)` starts a new {duration} \
                 timeout on every iteration of this loop, so it restarts every time {winners} is \
                 ready first; under steady traffic it never fires, so {starved} never runs"
            )
        } else {
            let origin = if timer.by_let {
                ", bound by a `let` in the loop body,"
            } else {
                ""
            };
            format!(
                "per-iteration timer in `select!`: `{}`{origin} is created anew on every \
                 iteration of this loop, so its {duration} deadline restarts every time {winners} \
                 wins; under steady traffic it never fires, so {starved} never runs",
                timer.display
            )
        };
        let mut finding = Finding::new(&INFO, timer.created, message, select_help(flavor));
        if !is_trivial(&branch.handler, self.cx) {
            finding = finding.with_label(
                branch.handler.span(),
                "runs only after a whole quiet period: never under steady traffic",
            );
        }
        if timer.by_let {
            if let Some(future) = &branch.future {
                finding =
                    finding.with_label(future.span(), "the per-iteration timer is raced here");
            }
        }
        for rival in competing {
            let how = if rival.outcome.only_continues() {
                "and `continue`s"
            } else {
                "and stays in the loop"
            };
            let at = rival
                .branch
                .future
                .as_ref()
                .map_or(rival.branch.span, |f| f.span());
            finding = finding.with_label(
                at,
                format!("`{}` wins {how}: the deadline restarts", rival.name),
            );
        }
        finding.with_label(
            self.frame().keyword,
            "every iteration of this loop starts a new deadline",
        )
    }

    /// `match timeout(d, rx.recv()).await { .. }`, `if let Ok(..) = ..`,
    /// `match rx.recv_timeout(d) { .. }` in a loop.
    fn check_timed_receive(
        &mut self,
        scrutinee: &'a Expr,
        arms: Vec<(Option<&'a Pat>, ArmBody<'a>)>,
    ) {
        let Some(timed) = timed_receive(peel_parens(scrutinee)) else {
            return;
        };
        if self.is_remaining_time(timed.duration) || !self.is_steady_source(timed.raced) {
            return;
        }
        let target = self.exit_target();
        // An arm without a pattern is the `else` of an `if let`: it takes what the pattern does not.
        let sides: Vec<Side> = arms
            .iter()
            .map(|(pat, _)| match pat {
                Some(pat) => pattern_side(pat, timed.kind),
                None => {
                    let then = arms[0]
                        .0
                        .map_or(Side::BOTH, |p| pattern_side(p, timed.kind));
                    Side {
                        raced: !then.raced || then.timer,
                        timer: !then.timer || then.raced,
                    }
                }
            })
            .collect();
        let raced_stays = arms
            .iter()
            .zip(&sides)
            .any(|((_, body), side)| side.raced && body.outcomes(&target).stays());
        let starved_arm = arms.iter().zip(&sides).find(|((_, body), side)| {
            side.timer && !body.outcomes(&target).always_leaves() && !body.is_trivial(self.cx)
        });
        let (true, Some(((pattern, body), _))) = (raced_stays, starved_arm) else {
            return;
        };
        let duration = describe_duration(timed.duration);
        let raced = snippet(timed.raced);
        let (message, help) = match timed.kind {
            TimedKind::Timeout => (
                format!(
                    "per-iteration timeout: `timeout(..)` starts a new {duration} deadline on every \
                     iteration of this loop, so it restarts every time `{raced}` completes first; \
                     under steady traffic it never elapses, so the timeout arm never runs"
                ),
                "keep the deadline across iterations: `let mut deadline = Instant::now() + d;` \
                 before the loop, race `timeout_at(deadline, ..)`, and move the deadline only \
                 when it elapses (or `select!` against a `Sleep` pinned before the loop); if \
                 restarting on every message is intended (an inactivity timeout), leave the loop \
                 when it elapses",
            ),
            TimedKind::RecvTimeout => (
                format!(
                    "per-iteration timeout: `recv_timeout(..)` starts a new {duration} timeout on \
                     every iteration of this loop, so it restarts every time a message arrives on \
                     `{raced}`; under steady traffic it never times out, so the timeout arm never \
                     runs"
                ),
                "keep the deadline across iterations: `let mut deadline = Instant::now() + d;` \
                 before the loop, `recv_deadline(deadline)` (or `select!` on a `tick(d)` receiver \
                 created once), and move the deadline only when it passes; if restarting on every \
                 message is intended (an inactivity timeout), leave the loop when it times out",
            ),
        };
        let timer_arm_span = pattern.map_or_else(|| body.span(), |p| p.span());
        let raced_label = match timed.kind {
            TimedKind::Timeout => {
                format!("`{raced}` completes first and the loop goes on: the deadline restarts")
            }
            TimedKind::RecvTimeout => format!(
                "a message on `{raced}` arrives first and the loop goes on: the deadline restarts"
            ),
        };
        let finding = Finding::new(&INFO, timed.call.span(), message, help)
            .with_label(timed.raced.span(), raced_label)
            .with_label(
                timer_arm_span,
                "runs only after a whole quiet period: never under steady traffic",
            )
            .with_label(
                self.frame().keyword,
                "every iteration of this loop starts a new deadline",
            );
        self.report(finding);
    }

    // ---- (d) timer futures piling up ----

    /// `timers.push(sleep(d))`, `set.spawn(async { sleep(d).await; .. })` in a
    /// loop, into a collection nothing drains.
    fn check_piled_timer(&mut self, call: &'a ExprMethodCall, spawned: bool) {
        let value = &call.args[0];
        let peeled = peel_future(value, Some(self.bodies));
        let direct_timer = (!spawned).then(|| timer_call(peeled)).flatten();
        let timer = match (&direct_timer, peeled) {
            (Some(_), _) => peeled,
            (None, Expr::Async(block)) => match first_sleep(&block.block.stmts) {
                Some(sleep) => sleep,
                None => return,
            },
            (None, _) => return,
        };
        let Some(collection) = Collection::of(&call.receiver) else {
            return;
        };
        if self.frame().binding(collection.name()).is_some()
            && matches!(collection, Collection::Local(_))
        {
            return; // made on this iteration: dropped at its end
        }
        if !self.declared_here(&collection, spawned) || self.is_drained(&collection) {
            return;
        }
        let name = collection.display();
        let duration = sleep_duration(timer).map_or("a while".to_string(), describe_duration);
        let what = match &direct_timer {
            Some(call) => format!("a `{}` timer of {duration}", call.display),
            None => format!("a future that sleeps {duration}"),
        };
        let message = if spawned {
            format!(
                "timers pile up: a task that sleeps {duration} is spawned into `{name}` on every \
                 iteration of this loop and `{name}` is never joined, drained or aborted: every \
                 finished task's output stays in the set, so it grows for as long as the loop runs"
            )
        } else {
            format!(
                "timers pile up: {what} is pushed into `{name}` on every \
                 iteration of this loop and `{name}` is never polled, drained or cleared: each \
                 iteration adds a live timer that is freed only when `{name}` is dropped, so \
                 memory grows for as long as the loop runs"
            )
        };
        let help = "drain the collection in the same loop (race `FuturesUnordered::next()` / \
                    `select_next_some()`, or `JoinSet::join_next()`, in the `select!`), or keep \
                    one timer instead of one per iteration (`tokio_util::time::DelayQueue` for \
                    many deadlines)";
        let keyword = self.frame().keyword;
        self.report(
            Finding::new(&INFO, call.span(), message, help)
                .with_label(timer.span(), "a new timer on every iteration")
                .with_label(keyword, "this loop adds one per iteration"),
        );
    }

    /// A local declared in this function (a `JoinSet` for `spawn`), or a field of `self`.
    fn declared_here(&self, collection: &Collection, join_set: bool) -> bool {
        let Collection::Local(name) = collection else {
            return !join_set;
        };
        let mut found = false;
        let mut is_join_set = false;
        find_locals(self.function_body, self.bodies, &mut |local: &Local| {
            if pattern_names(&local.pat).iter().any(|n| n == name) {
                found = true;
                is_join_set |= local.to_token_stream().to_string().contains("JoinSet");
            }
        });
        found && (!join_set || is_join_set)
    }

    /// Whether the collection is used for anything but adding to it and
    /// asking its size — in this function for a local, in the file for a field.
    fn is_drained(&self, collection: &Collection) -> bool {
        let mut uses = OtherUses {
            collection,
            bodies: self.bodies,
            found: false,
        };
        match collection {
            Collection::Local(_) => uses.visit_block(self.function_body),
            Collection::Field(_) => uses.visit_file(self.cx.file),
        }
        uses.found
    }
}

// ---- branch roles and outcomes ----

enum Role<'a> {
    Timer(TimerUse<'a>),
    /// Something that can win again and again (its display text).
    Source(String),
    Other,
}

struct TimerUse<'a> {
    display: String,
    created: Span,
    duration: Option<&'a Expr>,
    by_let: bool,
    is_default: bool,
}

struct Rival<'s> {
    branch: &'s SelectBranch,
    name: String,
    outcome: Outcomes,
}

/// How the paths through a handler can end, relative to the innermost loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Outcomes {
    leaves: bool,
    next_iteration: bool,
    falls_through: bool,
}

impl Outcomes {
    const FALLS_THROUGH: Outcomes = Outcomes {
        leaves: false,
        next_iteration: false,
        falls_through: true,
    };
    const LEAVES: Outcomes = Outcomes {
        leaves: true,
        next_iteration: false,
        falls_through: false,
    };
    const NEXT_ITERATION: Outcomes = Outcomes {
        leaves: false,
        next_iteration: true,
        falls_through: false,
    };

    fn stays(self) -> bool {
        self.next_iteration || self.falls_through
    }

    fn always_leaves(self) -> bool {
        self.leaves && !self.stays()
    }

    fn only_continues(self) -> bool {
        self.next_iteration && !self.leaves && !self.falls_through
    }

    fn or(self, other: Outcomes) -> Outcomes {
        Outcomes {
            leaves: self.leaves || other.leaves,
            next_iteration: self.next_iteration || other.next_iteration,
            falls_through: self.falls_through || other.falls_through,
        }
    }
}

/// The loop whose iterations a handler may end.
struct ExitTarget<'f> {
    label: Option<&'f str>,
    /// `while` condition variables: `running = false;` ends the loop.
    flags: &'f [String],
}

fn outcomes(expr: &Expr, target: &ExitTarget<'_>) -> Outcomes {
    expr_outcomes(expr, target, &mut Vec::new())
}

/// `inner` holds the labels of blocks entered inside the handler (and whether
/// something breaks out of them): a `break 'blk` ends that block, not the loop. Nested loops,
/// closures and async blocks are not entered: their `break`/`return` are theirs.
fn expr_outcomes(
    expr: &Expr,
    target: &ExitTarget<'_>,
    inner: &mut Vec<(String, bool)>,
) -> Outcomes {
    match expr {
        Expr::Break(b) => {
            let label = b.label.as_ref().map(|l| l.ident.to_string());
            match inner
                .iter_mut()
                .find(|(name, _)| Some(name) == label.as_ref())
            {
                // Ends a block inside the handler: accounted for at that block.
                Some((_, broken_out)) => {
                    *broken_out = true;
                    Outcomes::default()
                }
                None => Outcomes::LEAVES,
            }
        }
        Expr::Continue(c) => match &c.label {
            Some(label) if target.label != Some(label.ident.to_string().as_str()) => {
                Outcomes::LEAVES // `continue 'outer`
            }
            _ => Outcomes::NEXT_ITERATION,
        },
        Expr::Return(_) => Outcomes::LEAVES,
        Expr::Macro(m) if is_diverging_macro(&m.mac) => Outcomes::LEAVES,
        Expr::Call(call) if is_process_exit(call) => Outcomes::LEAVES,
        Expr::Block(b) => {
            let label = b.label.as_ref().map(|l| l.name.ident.to_string());
            labelled_block_outcomes(&b.block, label, target, inner)
        }
        Expr::Unsafe(b) => block_outcomes(&b.block, target, inner),
        Expr::Paren(p) => expr_outcomes(&p.expr, target, inner),
        Expr::Group(g) => expr_outcomes(&g.expr, target, inner),
        Expr::If(i) => {
            let then = block_outcomes(&i.then_branch, target, inner);
            let otherwise = match &i.else_branch {
                Some((_, e)) => expr_outcomes(e, target, inner),
                None => Outcomes::FALLS_THROUGH,
            };
            then.or(otherwise)
        }
        Expr::Match(m) if m.arms.is_empty() => Outcomes::LEAVES,
        Expr::Match(m) => m
            .arms
            .iter()
            .map(|arm| expr_outcomes(&arm.body, target, inner))
            .fold(Outcomes::default(), Outcomes::or),
        Expr::Assign(a) if ends_while_condition(a, target.flags) => Outcomes::LEAVES,
        _ => Outcomes::FALLS_THROUGH,
    }
}

fn labelled_block_outcomes(
    block: &Block,
    label: Option<String>,
    target: &ExitTarget<'_>,
    inner: &mut Vec<(String, bool)>,
) -> Outcomes {
    let Some(label) = label else {
        return block_outcomes(block, target, inner);
    };
    inner.push((label, false));
    let mut result = block_outcomes(block, target, inner);
    let (_, broken_out) = inner.pop().expect("pushed above");
    result.falls_through |= broken_out;
    result
}

/// Statements run in order: the first one that always diverges ends the
/// block; earlier conditional exits add their outcomes.
fn block_outcomes(
    block: &Block,
    target: &ExitTarget<'_>,
    inner: &mut Vec<(String, bool)>,
) -> Outcomes {
    let mut seen = Outcomes::default();
    for stmt in &block.stmts {
        let here = match stmt {
            Stmt::Expr(e, _) => expr_outcomes(e, target, inner),
            Stmt::Macro(m) if is_diverging_macro(&m.mac) => Outcomes::LEAVES,
            Stmt::Local(local) => match &local.init {
                Some(init) => {
                    let value = expr_outcomes(&init.expr, target, inner);
                    match &init.diverge {
                        Some((_, otherwise)) => {
                            let otherwise = expr_outcomes(otherwise, target, inner);
                            Outcomes {
                                falls_through: value.falls_through,
                                ..value.or(otherwise)
                            }
                        }
                        None => value,
                    }
                }
                None => Outcomes::FALLS_THROUGH,
            },
            _ => Outcomes::FALLS_THROUGH,
        };
        seen = Outcomes {
            falls_through: false,
            ..seen.or(here)
        };
        if !here.falls_through {
            return seen;
        }
    }
    Outcomes {
        falls_through: true,
        ..seen
    }
}

fn is_diverging_macro(mac: &Macro) -> bool {
    matches!(
        macro_name(mac).as_str(),
        "panic" | "unreachable" | "todo" | "unimplemented"
    )
}

fn is_process_exit(call: &syn::ExprCall) -> bool {
    matches!(&*call.func, Expr::Path(p)
        if path_ends_with(&p.path, &["process", "exit"]) || path_ends_with(&p.path, &["process", "abort"]))
}

/// `running = false;` in a `while running` loop.
fn ends_while_condition(assign: &syn::ExprAssign, flags: &[String]) -> bool {
    let is_flag = variable(&assign.left).is_some_and(|name| flags.contains(&name));
    let is_constant = matches!(&*assign.right, Expr::Lit(l) if matches!(l.lit, syn::Lit::Bool(_)));
    is_flag && is_constant
}

/// A handler with nothing to starve: empty, `continue`, or only logging.
fn is_trivial(expr: &Expr, cx: &Context<'_>) -> bool {
    match expr {
        Expr::Tuple(t) => t.elems.is_empty(),
        Expr::Continue(c) => c.label.is_none(),
        Expr::Macro(m) => cx.vocabulary.is_log(&macro_name(&m.mac)),
        Expr::Block(b) if b.label.is_none() => block_is_trivial(&b.block, cx),
        _ => false,
    }
}

fn block_is_trivial(block: &Block, cx: &Context<'_>) -> bool {
    block.stmts.iter().all(|stmt| match stmt {
        Stmt::Expr(e, _) => is_trivial(e, cx),
        Stmt::Macro(m) => cx.vocabulary.is_log(&macro_name(&m.mac)),
        _ => false,
    })
}

/// The body of a `match` arm or of an `if let` branch.
enum ArmBody<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
    /// An `if let` without `else`.
    Empty,
}

impl ArmBody<'_> {
    fn outcomes(&self, target: &ExitTarget<'_>) -> Outcomes {
        match self {
            ArmBody::Expr(e) => outcomes(e, target),
            ArmBody::Block(b) => block_outcomes(b, target, &mut Vec::new()),
            ArmBody::Empty => Outcomes::FALLS_THROUGH,
        }
    }

    fn is_trivial(&self, cx: &Context<'_>) -> bool {
        match self {
            ArmBody::Expr(e) => is_trivial(e, cx),
            ArmBody::Block(b) => block_is_trivial(b, cx),
            ArmBody::Empty => true,
        }
    }

    fn span(&self) -> Span {
        match self {
            ArmBody::Expr(e) => e.span(),
            ArmBody::Block(b) => b.span(),
            ArmBody::Empty => Span::call_site(),
        }
    }
}

// ---- timers ----

struct TimerCall<'a> {
    expr: &'a Expr,
    display: String,
    deadline: Deadline<'a>,
}

enum Deadline<'a> {
    /// Fires a duration after it is made: `sleep(d)`.
    After(&'a Expr),
    /// Fires at an instant: `sleep_until(t)`.
    At(&'a Expr),
}

/// A call that makes a timer: tokio, futures-timer, async-io, crossbeam.
fn timer_call(expr: &Expr) -> Option<TimerCall<'_>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let path = &func.path;
    let name = last_segment(path)?;
    let args: Vec<&Expr> = call.args.iter().collect();
    let deadline = match (name.as_str(), args.as_slice()) {
        ("sleep" | "delay_for", [d]) => Deadline::After(d),
        ("new", [d]) if path_ends_with(path, &["Delay", "new"]) => Deadline::After(d),
        ("after", [d]) if path_ends_with(path, &["Timer", "after"]) => Deadline::After(d),
        ("after" | "tick", [d]) if is_crossbeam_timer(path) => Deadline::After(d),
        ("timeout", [d, _]) => Deadline::After(d),
        ("sleep_until" | "delay_until", [t]) | ("timeout_at", [t, _]) => Deadline::At(t),
        ("at", [t]) if path_ends_with(path, &["Timer", "at"]) || is_crossbeam_timer(path) => {
            Deadline::At(t)
        }
        _ => return None,
    };
    let display = if name == "new" || path_ends_with(path, &["Timer", name.as_str()]) {
        let owner = &path.segments[path.segments.len().saturating_sub(2)].ident;
        format!("{owner}::{name}(..)")
    } else {
        format!("{name}(..)")
    };
    Some(TimerCall {
        expr,
        display,
        deadline,
    })
}

/// crossbeam's `after`/`tick`/`at`, called bare or through the crate.
fn is_crossbeam_timer(path: &syn::Path) -> bool {
    path.segments.len() == 1
        || path_mentions(path, "crossbeam_channel")
        || path_mentions(path, "crossbeam")
        || path_mentions(path, "channel")
}

/// `tokio::time::interval(d)` or `interval_at(Instant::now(), d)`: an
/// interval whose first tick is immediate. Returns its period, described.
fn immediate_interval(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = peel_parens(expr) else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    match (last_segment(&func.path)?.as_str(), call.args.len()) {
        ("interval", 1) => Some(describe_duration(&call.args[0])),
        ("interval_at", 2) if is_bare_now(&call.args[0]) => Some(describe_duration(&call.args[1])),
        _ => None,
    }
}

fn is_bare_now(expr: &Expr) -> bool {
    callee_is(peel_parens(expr), "now")
}

fn calls_now(expr: &Expr) -> bool {
    let expr = peel_parens(expr);
    callee_is(expr, "now") || matches!(expr, Expr::MethodCall(m) if calls_now(&m.receiver))
}

fn callee_is(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some(name))
        }
        Expr::MethodCall(m) => m.method == name,
        _ => false,
    }
}

const REMAINING_TIME_METHODS: &[&str] = &[
    "saturating_duration_since",
    "duration_since",
    "checked_duration_since",
    "duration_until",
    "time_until",
    "remaining",
    "time_left",
    "time_remaining",
];

/// Methods that yield the next item of something long-lived.
const STREAM_METHODS: &[&str] = &[
    "recv",
    "recv_async",
    "recv_many",
    "recv_from",
    "next",
    "try_next",
    "select_next_some",
    "next_message",
    "changed",
    "accept",
    "read",
    "read_buf",
    "read_exact",
    "read_line",
    "readable",
    "writable",
    "tick",
    "notified",
    "acquire",
];

/// Words that name a one-time stop signal rather than traffic.
const CANCELLATION_WORDS: &[&str] = &[
    "shutdown",
    "quit",
    "stop",
    "stopped",
    "cancel",
    "cancelled",
    "canceled",
    "cancellation",
    "close",
    "closed",
    "exit",
    "terminate",
    "term",
    "kill",
    "abort",
    "halt",
];

const CANCELLATION_METHODS: &[&str] = &["cancelled", "closed", "done", "shutdown", "ctrl_c"];

/// `token.cancelled()`, `shutdown_rx.recv()`, `self.quit.changed()`, `ctrl_c()`.
fn is_cancellation(expr: &Expr) -> bool {
    let mut names = Vec::new();
    let mut at = expr;
    loop {
        at = match at {
            Expr::MethodCall(m) => {
                if CANCELLATION_METHODS.contains(&m.method.to_string().as_str()) {
                    return true;
                }
                names.push(m.method.to_string());
                &m.receiver
            }
            Expr::Field(f) => {
                if let syn::Member::Named(name) = &f.member {
                    names.push(name.to_string());
                }
                &f.base
            }
            Expr::Call(call) => match &*call.func {
                Expr::Path(p) => {
                    names.extend(last_segment(&p.path));
                    break;
                }
                _ => break,
            },
            Expr::Path(p) => {
                names.extend(last_segment(&p.path));
                break;
            }
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            _ => break,
        };
    }
    names.iter().any(|name| {
        snake_case(name)
            .split('_')
            .any(|word| CANCELLATION_WORDS.contains(&word))
            || CANCELLATION_METHODS.contains(&name.as_str())
    })
}

/// Strips what turns a timer or future into something `select!` accepts:
/// `&mut`, `.as_mut()`, `.fuse()`, `Box::pin(..)`, `pin!(..)`, `.boxed()`.
fn peel_future<'e>(mut expr: &'e Expr, bodies: Option<&'e MacroBodies>) -> &'e Expr {
    loop {
        expr = match expr {
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "as_mut" | "fuse" | "boxed" | "boxed_local" | "into_future"
                    ) =>
            {
                &m.receiver
            }
            Expr::Call(call)
                if call.args.len() == 1
                    && matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some("pin")) =>
            {
                &call.args[0]
            }
            Expr::Macro(m) if macro_name(&m.mac) == "pin" => {
                match bodies.and_then(|b| b.get(&m.mac)) {
                    Some(MacroBody::Exprs(exprs)) if exprs.len() == 1 => &exprs[0],
                    _ => return expr,
                }
            }
            _ => return expr,
        };
    }
}

fn peel_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

fn strip_await(expr: &Expr) -> &Expr {
    match expr {
        Expr::Await(a) => &a.base,
        _ => expr,
    }
}

/// `x.tick()` → `x`.
fn tick_receiver(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::MethodCall(m) if m.method == "tick" && m.args.is_empty() => Some(&m.receiver),
        _ => None,
    }
}

// ---- (c) timed receives ----

#[derive(Clone, Copy)]
enum TimedKind {
    /// `timeout(d, fut).await`, `fut.timeout(d).await`: `Err` is the timeout.
    Timeout,
    /// `rx.recv_timeout(d)`: `Err(Timeout)` is the timeout.
    RecvTimeout,
}

struct TimedReceive<'a> {
    kind: TimedKind,
    call: &'a Expr,
    duration: &'a Expr,
    /// What the deadline races: the future, or the receiver.
    raced: &'a Expr,
}

fn timed_receive(expr: &Expr) -> Option<TimedReceive<'_>> {
    match expr {
        Expr::Await(a) => match peel_parens(&a.base) {
            Expr::Call(call) if call.args.len() == 2 => match &*call.func {
                Expr::Path(p) if last_segment(&p.path).as_deref() == Some("timeout") => {
                    Some(TimedReceive {
                        kind: TimedKind::Timeout,
                        call: &a.base,
                        duration: &call.args[0],
                        raced: &call.args[1],
                    })
                }
                _ => None,
            },
            Expr::MethodCall(m) if m.method == "timeout" && m.args.len() == 1 => {
                Some(TimedReceive {
                    kind: TimedKind::Timeout,
                    call: &a.base,
                    duration: &m.args[0],
                    raced: &m.receiver,
                })
            }
            _ => None,
        },
        Expr::MethodCall(m) if m.method == "recv_timeout" && m.args.len() == 1 => {
            Some(TimedReceive {
                kind: TimedKind::RecvTimeout,
                call: expr,
                duration: &m.args[0],
                raced: &m.receiver,
            })
        }
        _ => None,
    }
}

/// Which outcome of a timed receive a pattern takes.
#[derive(Clone, Copy)]
struct Side {
    raced: bool,
    timer: bool,
}

impl Side {
    const BOTH: Side = Side {
        raced: true,
        timer: true,
    };
    const NEITHER: Side = Side {
        raced: false,
        timer: false,
    };
}

fn pattern_side(pat: &Pat, kind: TimedKind) -> Side {
    match pat {
        Pat::Wild(_) | Pat::Ident(_) => Side::BOTH,
        Pat::Or(or) => or.cases.iter().fold(Side::NEITHER, |acc, case| {
            let side = pattern_side(case, kind);
            Side {
                raced: acc.raced || side.raced,
                timer: acc.timer || side.timer,
            }
        }),
        Pat::TupleStruct(ts) => match last_segment(&ts.path).as_deref() {
            Some("Ok") => Side {
                raced: true,
                timer: false,
            },
            Some("Err") => {
                let text = ts.elems.to_token_stream().to_string();
                let timer = match kind {
                    TimedKind::Timeout => true,
                    TimedKind::RecvTimeout => !text.contains("Disconnected"),
                };
                Side {
                    raced: false,
                    timer,
                }
            }
            _ => Side::NEITHER,
        },
        _ => Side::NEITHER,
    }
}

// ---- (a) spawns ----

struct Spawn<'a> {
    call: &'a Expr,
    body: &'a Expr,
    noun: &'static str,
    thread: bool,
}

/// A spawn whose JoinHandle is thrown away by `expr` itself (`.detach()`,
/// `.unwrap()` on a thread builder's result and `drop(..)` included).
fn detached_spawn(expr: &Expr) -> Option<Spawn<'_>> {
    let mut expr = peel_parens(expr);
    let mut detached = false;
    loop {
        expr = match expr {
            Expr::Try(t) => &t.expr,
            Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "unwrap" | "expect") => {
                &m.receiver
            }
            Expr::MethodCall(m) if m.method == "detach" && m.args.is_empty() => {
                detached = true;
                &m.receiver
            }
            Expr::Call(call) if call.args.len() == 1 && callee_is(expr, "drop") => &call.args[0],
            _ => break,
        };
    }
    let (body, noun, thread) = match expr {
        Expr::Call(call) if call.args.len() == 1 => {
            let Expr::Path(func) = &*call.func else {
                return None;
            };
            let path = &func.path;
            let name = last_segment(path)?;
            let spawner_ok = path.segments.len() == 1
                || ["tokio", "task", "thread", "async_std", "runtime"]
                    .iter()
                    .any(|w| path_mentions(path, w))
                || (detached && path_mentions(path, "smol"));
            match name.as_str() {
                "spawn" | "spawn_local" if spawner_ok => {
                    let thread = path_mentions(path, "thread");
                    (
                        &call.args[0],
                        if thread { "thread" } else { "task" },
                        thread,
                    )
                }
                "spawn_blocking" if spawner_ok => (&call.args[0], "blocking task", true),
                _ => return None,
            }
        }
        Expr::MethodCall(m) if m.method == "spawn" && m.args.len() == 1 => {
            if is_thread_builder(&m.receiver) {
                (&m.args[0], "thread", true)
            } else if is_runtime_handle(&m.receiver) {
                (&m.args[0], "task", false)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(Spawn {
        call: expr,
        body: peel_instrument(body),
        noun,
        thread,
    })
}

fn peel_instrument(mut expr: &Expr) -> &Expr {
    while let Expr::MethodCall(m) = expr {
        if !matches!(
            m.method.to_string().as_str(),
            "instrument" | "in_current_span" | "boxed"
        ) {
            break;
        }
        expr = &m.receiver;
    }
    expr
}

fn is_thread_builder(receiver: &Expr) -> bool {
    any_expr(
        receiver,
        &MacroBodies::default(),
        |e| matches!(e, Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if path_ends_with(&p.path, &["Builder", "new"]))),
    )
}

/// `rt.spawn(..)`, `runtime.spawn(..)`, `handle.spawn(..)`, `Handle::current().spawn(..)`:
/// not a `JoinSet`, a `TaskTracker` or a scope, which keep their tasks.
fn is_runtime_handle(receiver: &Expr) -> bool {
    match peel_parens(receiver) {
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if path_ends_with(&p.path, &["Handle", "current"]))
        }
        other => receiver_root_or_field(other).is_some_and(|name| {
            let name = snake_case(&name).into_owned();
            name == "rt"
                || name.ends_with("runtime")
                || name == "handle"
                || name.ends_with("_handle")
        }),
    }
}

/// The first statement of a task's body that sleeps, then the first later
/// statement that signals. A sleep inside a `select!` does not count: that
/// task can be cancelled by its other branches.
fn sleep_then_signal<'a>(body: &'a Expr, bodies: &'a MacroBodies) -> Option<(&'a Expr, &'a Expr)> {
    let stmts: &'a [Stmt] = match body {
        Expr::Async(block) => &block.block.stmts,
        Expr::Closure(closure) => match &*closure.body {
            Expr::Block(block) => &block.block.stmts,
            Expr::Async(block) => &block.block.stmts,
            _ => return None,
        },
        _ => return None,
    };
    sleep_then_signal_in(stmts, bodies)
}

fn sleep_then_signal_in<'a>(
    stmts: &'a [Stmt],
    bodies: &'a MacroBodies,
) -> Option<(&'a Expr, &'a Expr)> {
    for (i, stmt) in stmts.iter().enumerate() {
        if let Some(sleep) = stmt_sleep(stmt) {
            if let Some(signal) = stmts[i + 1..].iter().find_map(|s| find_signal(s, bodies)) {
                return Some((sleep, signal));
            }
        }
        if let Stmt::Expr(Expr::Loop(l), _) = stmt {
            if let Some(found) = sleep_then_signal_in(&l.body.stmts, bodies) {
                return Some(found);
            }
        }
        if let Stmt::Expr(Expr::While(l), _) = stmt {
            if let Some(found) = sleep_then_signal_in(&l.body.stmts, bodies) {
                return Some(found);
            }
        }
    }
    None
}

/// `sleep(d).await;`, `let _ = Delay::new(d).await;`, `thread::sleep(d);`.
fn stmt_sleep(stmt: &Stmt) -> Option<&Expr> {
    let expr = match stmt {
        Stmt::Expr(e, _) => e,
        Stmt::Local(local) => &*local.init.as_ref()?.expr,
        _ => return None,
    };
    let expr = peel_parens(expr);
    match expr {
        Expr::Await(a) => timer_call(peel_future(&a.base, None)).map(|t| t.expr),
        Expr::Call(call) => match &*call.func {
            Expr::Path(p)
                if path_ends_with(&p.path, &["thread", "sleep"]) || p.path.is_ident("sleep") =>
            {
                Some(expr)
            }
            _ => None,
        },
        _ => None,
    }
}

fn first_sleep(stmts: &[Stmt]) -> Option<&Expr> {
    stmts.iter().find_map(stmt_sleep)
}

fn sleep_duration(sleep: &Expr) -> Option<&Expr> {
    if let Some(call) = timer_call(sleep) {
        return match call.deadline {
            Deadline::After(d) => Some(d),
            Deadline::At(_) => None,
        };
    }
    match sleep {
        Expr::Call(call) if call.args.len() == 1 => Some(&call.args[0]),
        _ => None,
    }
}

const SIGNAL_METHODS: &[&str] = &[
    "send",
    "try_send",
    "blocking_send",
    "send_async",
    "unbounded_send",
    "send_timeout",
    "send_replace",
    "send_modify",
    "notify_one",
    "notify_waiters",
    "notify_all",
    "notify",
    "cancel",
    "unpark",
    "wake",
    "wake_by_ref",
];

fn find_signal<'a>(stmt: &'a Stmt, bodies: &'a MacroBodies) -> Option<&'a Expr> {
    let mut found = None;
    any_expr(std::slice::from_ref(stmt), bodies, |e| {
        let Expr::MethodCall(m) = e else { return false };
        let name = m.method.to_string();
        let is_signal = SIGNAL_METHODS.contains(&name.as_str())
            || (name == "store"
                && m.args.len() == 2
                && m.args[1].to_token_stream().to_string().contains("Ordering"));
        if is_signal {
            found = Some(e);
        }
        is_signal
    });
    found
}

/// The first call a handler makes, to name the work it does.
fn first_call<'a>(handler: &'a Expr, bodies: &'a MacroBodies) -> Option<&'a Expr> {
    let mut found = None;
    any_expr(handler, bodies, |e| {
        let is_call = matches!(e, Expr::Call(_) | Expr::MethodCall(_));
        if is_call {
            found = Some(e);
        }
        is_call
    });
    found
}

fn signal_display(signal: &Expr) -> String {
    match signal {
        Expr::MethodCall(m) => format!("{}.{}(..)", snippet(&m.receiver), m.method),
        other => snippet(other),
    }
}

// ---- (d) collections ----

enum Collection {
    /// A local variable.
    Local(String),
    /// A field of `self`.
    Field(String),
}

impl Collection {
    fn of(receiver: &Expr) -> Option<Collection> {
        match peel_future(receiver, None) {
            Expr::Field(f) if matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) => {
                match &f.member {
                    syn::Member::Named(name) => Some(Collection::Field(name.to_string())),
                    syn::Member::Unnamed(_) => None,
                }
            }
            other => variable(other).map(Collection::Local),
        }
    }

    fn name(&self) -> &str {
        match self {
            Collection::Local(name) | Collection::Field(name) => name,
        }
    }

    fn display(&self) -> String {
        match self {
            Collection::Local(name) => name.clone(),
            Collection::Field(name) => format!("self.{name}"),
        }
    }

    fn is(&self, expr: &Expr) -> bool {
        match (self, peel_future(expr, None)) {
            (Collection::Local(name), e) => variable(e).as_deref() == Some(name),
            (Collection::Field(name), Expr::Field(f)) => {
                matches!(&f.member, syn::Member::Named(m) if m == name)
            }
            _ => false,
        }
    }
}

/// Finds a use of a collection other than adding to it or asking its size.
struct OtherUses<'c, 'a> {
    collection: &'c Collection,
    bodies: &'a MacroBodies,
    found: bool,
}

const ADDING_OR_SIZING: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "spawn",
    "len",
    "is_empty",
    "capacity",
    "reserve",
];

impl<'a> Visit<'a> for OtherUses<'_, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found {
            return;
        }
        if let Expr::MethodCall(m) = expr {
            if self.collection.is(&m.receiver)
                && ADDING_OR_SIZING.contains(&m.method.to_string().as_str())
            {
                m.args.iter().for_each(|a| self.visit_expr(a));
                return;
            }
        }
        if self.collection.is(expr) {
            self.found = true;
            return;
        }
        visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        crate::macro_bodies::walk_macro(self, self.bodies, mac);
    }
}

fn find_locals<'a>(block: &'a Block, bodies: &'a MacroBodies, on_local: &mut dyn FnMut(&Local)) {
    struct Locals<'f, 'a> {
        bodies: &'a MacroBodies,
        on_local: &'f mut dyn FnMut(&Local),
    }
    impl<'a> Visit<'a> for Locals<'_, 'a> {
        fn visit_local(&mut self, local: &'a Local) {
            (self.on_local)(local);
            visit::visit_local(self, local);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
        fn visit_macro(&mut self, mac: &'a Macro) {
            crate::macro_bodies::walk_macro(self, self.bodies, mac);
        }
    }
    Locals { bodies, on_local }.visit_block(block);
}

// ---- small syntax helpers ----

/// `x` → `"x"`: a plain local variable.
fn variable(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let name = p.path.segments[0].ident.to_string();
            (name != "self").then_some(name)
        }
        _ => None,
    }
}

/// The variable a method chain starts from: `self.conns[i].rx.recv()` → `self`.
fn receiver_root(expr: &Expr) -> Option<String> {
    let mut at = expr;
    loop {
        at = match at {
            Expr::MethodCall(m) => &m.receiver,
            Expr::Field(f) => &f.base,
            Expr::Index(i) => &i.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Await(a) => &a.base,
            Expr::Try(t) => &t.expr,
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => &u.expr,
            Expr::Path(p) if p.path.segments.len() == 1 => {
                return Some(p.path.segments[0].ident.to_string())
            }
            _ => return None,
        };
    }
}

/// Like [`receiver_root`], but a field access names the field: `self.rt` → `rt`.
fn receiver_root_or_field(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Field(f) => match &f.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        other => receiver_root(other),
    }
}

fn pattern_names(pat: &Pat) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.to_string());
            visit::visit_pat_ident(self, p);
        }
    }
    let mut names = Names(Vec::new());
    names.visit_pat(pat);
    names.0
}

/// Single-identifier variables read by a `while` condition.
fn plain_variables(cond: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    any_expr(cond, &MacroBodies::default(), |e| {
        names.extend(variable(e));
        false
    });
    names
}

fn mentions_name(stmts: &[Stmt], bodies: &MacroBodies, name: &str) -> bool {
    any_expr(stmts, bodies, |e| variable(e).as_deref() == Some(name))
}

fn mentions_any(expr: &Expr, bodies: &MacroBodies, names: &HashSet<&str>) -> bool {
    any_expr(expr, bodies, |e| {
        variable(e).is_some_and(|n| names.contains(n.as_str()))
    })
}

/// `Duration::from_secs(30)` → `30 s`; anything else → the code, quoted.
fn describe_duration(duration: &Expr) -> String {
    if let Expr::Call(call) = peel_parens(duration) {
        if let (Expr::Path(func), [Expr::Lit(lit)]) =
            (&*call.func, call.args.iter().collect::<Vec<_>>().as_slice())
        {
            let unit = match last_segment(&func.path).as_deref() {
                Some("from_secs" | "from_secs_f64" | "from_secs_f32") => Some("s"),
                Some("from_millis") => Some("ms"),
                Some("from_micros") => Some("µs"),
                Some("from_nanos") => Some("ns"),
                Some("from_mins") => Some("min"),
                Some("from_hours") => Some("h"),
                _ => None,
            };
            if let Some(unit) = unit {
                let value = lit.to_token_stream().to_string().replace('_', "");
                return format!("{value} {unit}");
            }
        }
    }
    format!("`{}`", snippet(duration))
}

/// A short, readable rendering of some code for a message.
fn snippet(node: &impl ToTokens) -> String {
    crate::syntax::snippet(node, 48)
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
fn name_list<'n>(names: impl Iterator<Item = &'n str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn select_help(flavor: SelectFlavor) -> &'static str {
    match flavor {
        SelectFlavor::Crossbeam => {
            "keep an absolute deadline across iterations: `let mut deadline = Instant::now() + d;` \
             before the loop, `recv(at(deadline))` (or \
             `default(deadline.saturating_duration_since(Instant::now()))`), and move the \
             deadline only when it fires — or use a `tick(d)` receiver created once before the \
             loop; if restarting on every message is intended (an inactivity timeout), leave the \
             loop when it fires"
        }
        SelectFlavor::Tokio | SelectFlavor::Futures => {
            "create the timer once, before the loop — `let timer = sleep(d); tokio::pin!(timer);` \
             (or one `Delay`) — race `&mut timer`, and `timer.as_mut().reset(Instant::now() + d)` \
             in its branch after it fires; or use an `interval` created once, or `sleep_until` a deadline kept \
             across iterations; if restarting on every event is intended (an inactivity timeout), \
             leave the loop in the timer's branch"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(src: &str) -> Expr {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn durations_read_as_quantities() {
        assert_eq!(describe_duration(&expr("Duration::from_secs(30)")), "30 s");
        assert_eq!(
            describe_duration(&expr("Duration::from_millis(1_500)")),
            "1500 ms"
        );
        assert_eq!(
            describe_duration(&expr("self.idle_timeout")),
            "`self.idle_timeout`"
        );
    }

    #[test]
    fn outcomes_follow_every_path() {
        let target = ExitTarget {
            label: None,
            flags: &["running".to_string()],
        };
        let of = |src: &str| outcomes(&expr(src), &target);
        assert!(of("{ log(); break }").always_leaves());
        assert!(of("if x { break } else { return }").always_leaves());
        assert!(of("match m { Some(_) => return, None => panic!() }").always_leaves());
        assert!(of("{ running = false; }").always_leaves());
        assert!(of("{ let m = m?; handle(m) }").stays());
        assert!(of("if x { break }").stays());
        assert!(of("continue").only_continues());
        assert!(of("{ loop { break } }").stays());
        assert!(of("'b: { if x { break 'b } return }").stays());
        assert!(of("{ let Some(x) = y else { break }; use_it(x) }").stays());
    }

    #[test]
    fn cancellation_is_told_by_name() {
        assert!(is_cancellation(&expr("token.cancelled()")));
        assert!(is_cancellation(&expr("self.shutdown_rx.recv()")));
        assert!(is_cancellation(&expr("quit")));
        assert!(!is_cancellation(&expr("self.acks.recv()")));
        assert!(!is_cancellation(&expr("jobs_done.recv()")));
    }

    /// Lines reported by this rule alone.
    fn lint(src: &str) -> Vec<usize> {
        let file: syn::File = syn::parse_str(src).unwrap();
        let vocabulary = crate::Vocabulary::default();
        let facts = crate::CrateFacts::default();
        let rules = [*crate::rules::rule("timer_leak").unwrap()];
        let mut options = crate::Options::new(&vocabulary, &facts);
        options.rules = &rules;
        crate::check_file(&file, &options)
            .iter()
            .map(|f| f.span.start().line)
            .collect()
    }

    #[test]
    fn spawns_whose_handle_survives_are_not_detached() {
        let kept = "async fn f(mut rx: R, tx: S) { while let Some(x) = rx.recv().await {
            let tx = tx.clone();
            let h = tokio::spawn(async move { sleep(D).await; tx.send(x).await; });
            handles.push(h);
        } }";
        assert!(lint(kept).is_empty());
        let awaited = "async fn f() { loop { tokio::spawn(async move { sleep(D).await; tx.send(1); }).await; } }";
        assert!(lint(awaited).is_empty());
        let runtime = "fn f(rt: &Runtime) { for id in ids { rt.spawn(async move { sleep(D).await; tx.send(id); }); } }";
        assert_eq!(lint(runtime), [1]);
        let no_signal = "async fn f() { loop { tokio::spawn(async move { sleep(D).await; expire(id).await; }); } }";
        assert!(lint(no_signal).is_empty());
        let cancellable = "async fn f() { loop { tokio::spawn(async move {
            tokio::select! { _ = sleep(D) => { tx.send(()); } _ = token.cancelled() => {} } }); } }";
        assert!(lint(cancellable).is_empty());
    }

    #[test]
    fn a_deliberately_skipped_first_tick_is_fine() {
        let skip = "async fn f() { loop { let mut iv = interval(D); iv.tick().await; iv.tick().await; work(); } }";
        assert!(lint(skip).is_empty());
        let at_now = "async fn f() { loop { let mut iv = interval_at(Instant::now(), D); iv.tick().await; } }";
        assert_eq!(lint(at_now), [1]);
        let inline = "async fn f() { loop {\n interval(D).tick().await; } }";
        assert_eq!(lint(inline), [2]);
        let nested = "async fn f() { loop { let mut iv = interval(D); loop { iv.tick().await; if done() { break } } } }";
        assert!(lint(nested).is_empty());
    }

    #[test]
    fn leaving_the_loop_is_decided_per_path() {
        let select = |handler: &str| {
            format!(
                "async fn f(mut rx: R) {{ 'outer: loop {{ loop {{ tokio::select! {{
                    Some(m) = rx.recv() => {handler},
                    _ = sleep(D) => flush().await,
                }} }} }} }}"
            )
        };
        assert!(lint(&select("{ handle(m); break }")).is_empty());
        assert!(lint(&select("return")).is_empty());
        assert!(lint(&select("continue 'outer")).is_empty());
        assert!(lint(&select("if m.last { break } else { return }")).is_empty());
        assert!(lint(&select("{ let m = m?; handle(m) }")).len() == 1);
        assert!(lint(&select("continue")).len() == 1);
        assert!(lint(&select("if m.last { break }")).len() == 1);
    }

    #[test]
    fn per_item_futures_and_remaining_time_are_not_traffic() {
        let per_item = "async fn f(items: Vec<I>) { for item in items { tokio::select! {
            r = client.send(item) => record(r),
            _ = sleep(D) => warn_slow().await,
        } } }";
        assert!(lint(per_item).is_empty());
        let fresh_let = "async fn f() { loop { let req = next_request().await; let call = client.call(req); tokio::pin!(call);
            tokio::select! { r = &mut call => record(r), _ = sleep(D) => abort_call().await } } }";
        assert!(lint(fresh_let).is_empty());
        let remaining = "async fn f(mut rx: R) { loop { tokio::select! {
            Some(m) = rx.recv() => handle(m),
            _ = sleep(deadline.saturating_duration_since(Instant::now())) => flush().await,
        } } }";
        assert!(lint(remaining).is_empty());
        let remaining_let = "async fn f(mut rx: R) { loop { let left = next_flush - Instant::now(); tokio::select! {
            Some(m) = rx.recv() => handle(m),
            _ = sleep(left) => flush().await,
        } } }";
        assert!(lint(remaining_let).is_empty());
    }

    #[test]
    fn loops_in_closures_are_their_own() {
        let spawned_loop = "fn f() { tokio::spawn(async move { loop { tokio::select! {
            Some(m) = rx.recv() => handle(m),
            _ = sleep(D) => flush().await,
        } } }); }";
        assert_eq!(lint(spawned_loop), [3]);
        let closure_in_loop = "fn f() { loop { let make = || sleep(D); run(make); } }";
        assert!(lint(closure_in_loop).is_empty());
    }

    #[test]
    fn timed_receives_are_read_by_their_arms() {
        let if_let = "async fn f(mut rx: R) { loop {
            if let Ok(Some(m)) = timeout(D, rx.recv()).await { handle(m) } else { resync().await } } }";
        assert_eq!(lint(if_let), [2]);
        let if_let_exits = "async fn f(mut rx: R) { loop {
            if let Ok(Some(m)) = timeout(D, rx.recv()).await { handle(m) } else { break } } }";
        assert!(lint(if_let_exits).is_empty());
        let method_form = "async fn f(mut rx: R) { loop {
            match rx.recv().timeout(D).await { Ok(m) => handle(m), Err(_) => ping().await } } }";
        assert_eq!(lint(method_form), [2]);
        let question_mark = "async fn f(mut rx: R) -> Result<(), E> { loop {
            let m = timeout(D, rx.recv()).await?; handle(m); } }";
        assert!(lint(question_mark).is_empty());
        let flag = "async fn f(mut rx: R) { let mut running = true; while running {
            match timeout(D, rx.recv()).await { Ok(Some(m)) => handle(m), _ => running = false } } }";
        assert!(lint(flag).is_empty());
        let disconnected_only = "fn f(rx: R) { loop { match rx.recv_timeout(D) {
            Ok(m) => handle(m), Err(RecvTimeoutError::Disconnected) => break, Err(_) => {} } } }";
        assert!(lint(disconnected_only).is_empty());
    }

    #[test]
    fn drained_collections_do_not_pile_up() {
        let joined = "async fn f(mut rx: R) { let mut set = JoinSet::new(); while let Some(x) = rx.recv().await {
            set.spawn(async move { sleep(D).await; x });
            while let Some(done) = set.try_join_next() { log(done); } } }";
        assert!(lint(joined).is_empty());
        let per_iteration = "async fn f(mut rx: R) { loop { let mut timers = Vec::new(); timers.push(sleep(D)); } }";
        assert!(lint(per_iteration).is_empty());
        let parameter = "async fn f(timers: &mut Vec<Sleep>) { loop { timers.push(sleep(D)); } }";
        assert!(lint(parameter).is_empty());
    }

    #[test]
    fn snippets_are_compact() {
        assert_eq!(snippet(&expr("self.rx.recv()")), "self.rx.recv()");
        assert_eq!(snippet(&expr("&mut conn.frames")), "&mut conn.frames");
    }
}
