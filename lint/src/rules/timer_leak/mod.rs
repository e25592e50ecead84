//! `timer_leak`: timers made per loop iteration that leak, pile up, fire at
//! once, or never fire.

mod common;
mod detached_task;
mod exits;
mod interval_recreated;
mod lost_state;
mod restarting_deadline;
mod undrained;

use std::collections::{HashMap, HashSet};
use std::mem;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Expr, ExprIf, ExprMatch, ExprMethodCall, Local, Macro, Pat, Stmt, UnOp};

use crate::engine::Context;
use crate::finding::{Extent, Finding};
use crate::macro_bodies::{BranchKind, MacroBodies, MacroBody, Select, SelectBranch, SelectFlavor};
use crate::prefilter::{Needs, Trigger::*};
use crate::syntax::{
    any_expr, last_segment, macro_name, path_ends_with, path_mentions, snake_case,
};

use common::*;
use exits::*;
use interval_recreated::*;
use restarting_deadline::*;
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
    ///   used again) — unless the loop waits, on every iteration, for the
    ///   tick of an interval made before it whose period is at least half
    ///   the sleep (then at most a couple are alive at once).
    /// - **(b) an interval created inside the loop**: `tokio::time::interval(d)`
    ///   (or `interval_at(Instant::now(), d)`) created in the loop body and
    ///   ticked in the same iteration before any `reset*()`; or re-assigned
    ///   (`ticker = interval(d)`, `self.timer = interval(d)`) by a statement
    ///   of the loop body, so on every iteration, and ticked first on the next
    ///   one (at the top of the body, in a `select!`, or in a
    ///   `while x.poll_tick(cx).is_ready()` condition); or an interval field
    ///   replaced in a `poll`/`poll_*` fn (taking a `Context`) that polls it,
    ///   with no `reset()` or `poll_tick` after the replacement; or a
    ///   `self.field` interval that one function ticks in its loop, replaced
    ///   by another method with an interval of the same period — made by a
    ///   parameterless function of the file that returns `interval(d)`, or
    ///   `interval(d)` whose period reads no local or parameter — and not
    ///   `reset()` there (a restart of the period that fires at once).
    /// - **(c) a relative timer restarted on every iteration**: `sleep(d)`,
    ///   `Delay::new(d)`, `Timer::after(d)`, crossbeam `after(d)`/`tick(d)`,
    ///   `sleep_until(Instant::now() + d)`, crossbeam `default(d)`, created per
    ///   iteration (as a `select!` branch, or by a `let` in the loop body that
    ///   the `select!` awaits), or a `timeout(d, rx.recv()).await` /
    ///   `fut.timeout(d).await` / `rx.recv_timeout(d)` matched in the loop
    ///   (directly or through a `let`), when something else keeps winning
    ///   and what is lost is the timer's branch. What the branch does decides:
    ///   - *periodic work* (some path does work and stays in the loop) is
    ///     flagged when steady traffic wins — a receiver, a stream, any async
    ///     method call on something that outlives the iteration
    ///     (`conn.read_frame()`, `socket.recv_from(..)`), whose branch does
    ///     work and stays — and the work **takes what the traffic builds
    ///     up**: the loop body adds to a collection outside the timer's
    ///     branch (`push`, `insert`, `extend`, `append`..., directly or in a
    ///     method of the file it calls), and the branch reads it other than
    ///     to add to it (`flush(&mut batch)`, `self.pending.clear()`), or
    ///     calls a method of the file whose body reads it (`self.flush()`).
    ///     That state (a batch, a pending list, entries to expire) then grows
    ///     and waits for as long as the traffic lasts. A branch that leaves
    ///     the loop only to flush a batch that the traffic fills
    ///     (`if !batch.is_empty() { break }`) is periodic work too.
    ///   - *a teardown* (every path that does anything leaves: `return`,
    ///     `break`, `Err(..)`, `Err(..)?`, `bail!`, `ensure!`, `panic!`,
    ///     `unreachable!`, `todo!`; a `continue` path without work does not
    ///     make it periodic) is the idle-timeout idiom and is flagged only
    ///     when a **periodic rival** can win first, or when a rival whose
    ///     result leaves the loop **comes back empty** and goes round (an
    ///     `Option` waiter that returns `None`), which restarts the deadline
    ///     without any activity.
    ///   - *a periodic rival* (`interval.tick()`, a ticker stream's `next()`,
    ///     crossbeam `recv(ticker)` of a `tick(d)`) starves any timer: when
    ///     both durations are spelled out (literals, `const`s, `let`s of the
    ///     function, simple arithmetic) a rival with a period at least as long
    ///     as the timer does not count; when either is unknown the rival is
    ///     taken to be able to win first (a timer restarted by a periodic
    ///     tick is a bug whenever the tick is the shorter, and the code does
    ///     not say it is not).
    ///   - *a trivial branch* (empty, `continue`, a log line) is flagged only
    ///     when a rival does work and `continue`s past code after the
    ///     `select!` that only the timer reaches.
    /// - **(d) timer futures piling up**: a timer (or an async block that
    ///   sleeps) pushed into a `Vec`, `VecDeque` or `FuturesUnordered`, or
    ///   spawned into a `JoinSet`, on every iteration, when the collection is
    ///   never polled, drained or cleared anywhere else.
    ///
    /// ### When a branch "completes without leaving the loop"
    ///
    /// Decided from the branch's handler, path by path. A path leaves the loop
    /// when it ends in `break` (of this loop or an outer one), `return`,
    /// `continue 'outer`, a diverging macro (`panic!`, `unreachable!`,
    /// `todo!`, `unimplemented!`, `bail!`; `ensure!` on one path),
    /// `process::exit`, an `Err(..)` value (of a `select!` handler) or
    /// `Err(..)?`, or sets the `while` condition's flag to a constant. A path
    /// that ends in `continue` (of this loop), falls off the end of the
    /// handler, or may leave only through `?`, stays; it is *busy* when it
    /// made a call, an assignment or a non-log macro first. A rival whose
    /// every staying path is idle (`_ = kick.notified() => {}`,
    /// `=> continue`) is an explicit restart, a reset signal: not counted.
    /// Branches that cannot bring steady traffic do not count:
    /// `else`/`default`, crossbeam `send`, absolute timers, one-shot futures
    /// made in the same iteration (from the `for` item or a `let` of this
    /// iteration), and cancellation (`cancelled()`, `shutdown`, `quit`,
    /// `stop`, `close`... receivers). A timer whose work (its first call) is
    /// also made elsewhere in the loop body loses nothing: not flagged (the
    /// condition of an `if` and the scrutinee of a `match` count, since they
    /// run on every pass, and so does an arm of a `match` on the traffic in
    /// the loop body — `Msg::Flush => self.flush()`: work the traffic can ask
    /// for, for which the timer is a backstop).
    ///
    /// For `timeout(..)`/`recv_timeout(..)` matched with `match` or `if let`,
    /// the `Ok` arms are the competing branch and the `Err` (`Err(Timeout)`)
    /// arms the timer's; the raced future must be a receive (`recv`, `next`,
    /// `read*`, `accept`...): a `timeout(d, client.call())` retried in a loop
    /// is a per-attempt timeout. A `while let Ok(..) = timeout(..)` loop ends
    /// when the timer fires, so it is an inactivity timeout.
    ///
    /// Work that takes nothing the traffic builds up is meant for quiet
    /// spells, and restarting it on traffic is its point: a stall report on
    /// the stream being waited on, an idle keepalive on the link the traffic
    /// already uses, a reset of flags, a check the traffic path also makes.
    /// Not flagged (a periodic rival still starves it: that is flagged).
    ///
    /// ### Not flagged
    ///
    /// A `sleep` in a retry loop whose other branches all leave the loop (the
    /// shape of the review: dropping the `Sleep` cancels it, nothing leaks), a
    /// loop that exits on cancellation, `sleep_until(deadline)` with a deadline
    /// kept across iterations, `sleep(deadline.saturating_duration_since(now))`
    /// (or any duration computed from `now()`/`elapsed()`, or by a call named
    /// for the time left, `duration_until_next(&heap)`), a periodic rival
    /// with a longer period than the timer, an idle timeout restarted by real
    /// traffic or by a reset/notify signal,
    /// periodic work that takes nothing the traffic builds up (a stall
    /// report, an idle keepalive) or that the traffic can request, a
    /// detached sleeper per tick of a loop paced by an interval about as
    /// long as the sleep,
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
    ///   per iteration never waits: the loop spins, or skips its delay; in a
    ///   `while poll_tick(cx).is_ready()` loop it never sees `Pending`; in a
    ///   `poll` fn the new interval has not registered the waker either. A
    ///   field re-made with its own period by another method (to push the
    ///   next run a period away) does the opposite of what it means: the
    ///   work it paces runs again at once.
    /// - (c) A timer created each iteration restarts its deadline whenever
    ///   another branch wins; under steady traffic it never fires, and the idle
    ///   flush or the expiry pass in its branch never runs, while what it was
    ///   to take away (the unflushed batch, the unpersisted list, the entries
    ///   to expire) grows and waits, and is lost on a crash. A
    ///   periodic rival with a shorter period always wins first, so even an
    ///   inactivity timeout never fires (the 5 s interval restarts the 60 s
    ///   deadline forever), and a waiter that keeps coming back empty turns a
    ///   bounded wait into an unbounded one.
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

/// The rewrites the shapes offer (see `--explain timer_leak`, *Fixes*).
pub const FIXES: &str = "\
- (b) an interval made in the loop and ticked once per iteration, outside a
  `select!` (`let mut iv = interval(d); iv.tick().await`,
  `interval(d).tick().await`): `interval(d)` becomes
  `tokio::time::interval_at(tokio::time::Instant::now() + d, d)`, the same
  interval with its first tick a period away, which is the wait the tick
  was written for. **Machine-applicable** (`--fix`) when `interval` is
  tokio's, by its path (`tokio::time::interval`, `time::interval` with
  `use tokio::time`) or by the file's `use tokio::time::interval`; a period
  that is not a plain value (`cfg.period()`) is evaluated once, in a block.
  Maybe-incorrect when the interval is ticked more than once per iteration
  (every tick now waits) or the path is not certainly tokio's.
  `interval_at(Instant::now(), d)` becomes `interval_at(Instant::now() + d,
  d)`, with the same rules. In a `select!` none is offered: the rewritten
  tick would restart with every iteration (shape (c)); create the interval
  before the loop by hand.
- (b) an interval re-made by an assignment on every iteration, replaced in
  a `poll` fn, or re-made by another method: the same rewrite,
  **maybe-incorrect** (`--fix --unsafe-fixes`): it changes when the loop
  runs, and `reset()` of the existing interval is often the better fix.
  None for an interval a maker function returns (its other callers would
  change too).
- (c) periodic work starved by a `tokio::time::sleep(d)` raced directly in
  a `tokio::select!` of an unlabelled loop: a `Sleep` pinned before the loop
  (`let mut timer = std::pin::pin!(tokio::time::sleep(d));`), raced as
  `&mut timer`, and reset (`timer.as_mut().reset(Instant::now() + d)`) when
  its branch runs. **Maybe-incorrect**: the work then runs every period
  whatever else wins, the first time a period after the loop starts. Only
  when `d` can be evaluated again and is the same on every iteration.
  None for an idle timeout (a teardown branch), a timer bound by a `let`,
  other `select!` macros, `timeout(..)` and crossbeam's timers.
- (a) detached tasks and (d) piled-up timers: none (keeping the handle or
  draining the collection needs a decision about the rest of the code).
";

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
    Regex(r"(?:^|[^[:alnum:]_])(?:after|at|timeout|timeout_at|recv_timeout)\s*\("),
    Regex(r"\bselect(?:_biased)?\s*!"),
]]);

pub fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let consts = file_consts(cx.file);
    let methods = file_methods(cx);
    for function in &cx.functions {
        let mut walker = Walker {
            cx,
            bodies: cx.bodies,
            function_body: function.body,
            out: &mut *out,
            loops: Vec::new(),
            next_tick_discarded: false,
            in_select_future: false,
            locals: Vec::new(),
            consts: &consts,
            methods: &methods,
            poll_intervals: is_poll_fn(function.sig).then(Vec::new),
        };
        walker.visit_block(function.body);
        if let Some(events) = walker.poll_intervals.take() {
            walker.report_poll_intervals(&events, function.sig.ident.span());
        }
    }
    check_replaced_fields(cx, out);
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
    /// Every `let name = init` of the function seen so far (closures and
    /// async blocks included: they capture them).
    locals: Vec<(String, &'a Expr)>,
    /// The file's `const NAME: T = value;` items, by name.
    consts: &'c HashMap<String, &'a Expr>,
    /// The bodies of the file's methods (functions taking `self`), by name.
    methods: &'c HashMap<String, Vec<&'a Block>>,
    /// In a `poll` fn (re-entered by the executor like a loop body): the
    /// interval events outside its loops.
    poll_intervals: Option<Vec<IntervalEvent>>,
}

/// `fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>)`, `fn poll_next(..)`,
/// `fn poll_ready(&mut self, cx: ..)`.
fn is_poll_fn(sig: &syn::Signature) -> bool {
    let name = sig.ident.to_string();
    (name == "poll" || name.starts_with("poll_"))
        && sig.inputs.iter().any(|input| {
            matches!(input, syn::FnArg::Typed(t) if t.ty.to_token_stream().to_string().contains("Context"))
        })
}

fn ticked_method(call: &ExprMethodCall) -> bool {
    (call.method == "tick" && call.args.is_empty())
        || (call.method == "poll_tick" && call.args.len() == 1)
}

/// The bodies of the file's functions that take `self`, by name: what a
/// `self.flush()` in a timer's branch does.
fn file_methods<'a>(cx: &Context<'a>) -> HashMap<String, Vec<&'a Block>> {
    let mut methods: HashMap<String, Vec<&'a Block>> = HashMap::new();
    for function in &cx.functions {
        if function.sig.receiver().is_some() {
            methods
                .entry(function.sig.ident.to_string())
                .or_default()
                .push(function.body);
        }
    }
    methods
}

/// `const` items of the file, its impls, traits and inline modules: the
/// durations a comparison of periods may need. Items only, no expressions.
fn file_consts(file: &syn::File) -> HashMap<String, &Expr> {
    fn collect<'a>(items: &'a [syn::Item], out: &mut HashMap<String, &'a Expr>) {
        for item in items {
            match item {
                syn::Item::Const(c) => {
                    out.insert(c.ident.to_string(), &c.expr);
                }
                syn::Item::Impl(i) => {
                    for item in &i.items {
                        if let syn::ImplItem::Const(c) = item {
                            out.insert(c.ident.to_string(), &c.expr);
                        }
                    }
                }
                syn::Item::Trait(t) => {
                    for item in &t.items {
                        if let syn::TraitItem::Const(syn::TraitItemConst {
                            ident,
                            default: Some((_, expr)),
                            ..
                        }) = item
                        {
                            out.insert(ident.to_string(), expr);
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        collect(inner, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    collect(&file.items, &mut out);
    out
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
        frame.intervals = Walker::condition_ticks(&node.cond, self.bodies);
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
        if let (Some(init), [name]) = (&local.init, pattern_names(&local.pat).as_slice()) {
            self.locals.push((name.clone(), &init.expr));
        }
        let file = self.cx.file;
        let Some(frame) = self.loops.last_mut() else {
            return;
        };
        let init = local.init.as_ref().map(|init| &*init.expr);
        let names = pattern_names(&local.pat);
        if let (Some(init), [name]) = (init, names.as_slice()) {
            if let Some(period) = immediate_interval(init) {
                let rewrite = interval_rewrite(file, init, false);
                frame.intervals.push(IntervalEvent::Created {
                    name: name.clone(),
                    span: Extent::of(init),
                    period,
                    how: Creation::Let,
                    rewrite,
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
        let method = call.method.to_string();
        if ticked_method(call) {
            self.on_tick(call);
        } else if method.starts_with("reset") {
            if let Some(name) = interval_key(&call.receiver) {
                if let Some(events) = self.interval_events() {
                    events.push(IntervalEvent::Reset { name });
                }
            }
        } else if !self.loops.is_empty() {
            match method.as_str() {
                "push" | "push_back" | "push_front" if call.args.len() == 1 => {
                    self.check_piled_timer(call, false)
                }
                "spawn" if call.args.len() == 1 => self.check_piled_timer(call, true),
                _ => {}
            }
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_assign(&mut self, assign: &'a syn::ExprAssign) {
        self.on_assign(assign);
        visit::visit_expr_assign(self, assign);
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
            vocabulary: self.cx.vocabulary,
            err_leaves: true,
        }
    }

    /// The initializer of the latest `let` of `name` in this function.
    fn local_init(&self, name: &str) -> Option<&'a Expr> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, init)| *init)
    }

    fn report(&mut self, finding: Finding) {
        self.out.push(finding);
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
        let vocabulary = crate::Vocabulary::default();
        let target = ExitTarget {
            label: None,
            flags: &["running".to_string()],
            vocabulary: &vocabulary,
            err_leaves: true,
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
                    _ = sleep(D) => flush(&mut batch).await,
                }} }} }} }}"
            )
        };
        assert!(lint(&select("{ batch.push(m); break }")).is_empty());
        assert!(lint(&select("return")).is_empty());
        assert!(lint(&select("continue 'outer")).is_empty());
        assert!(lint(&select("if m.last { break } else { return }")).is_empty());
        assert!(lint(&select("{ let m = m?; batch.push(m) }")).len() == 1);
        assert!(lint(&select("{ batch.push(m); continue }")).len() == 1);
        // A win that does nothing but go round is a deliberate restart (a kick, a reset).
        assert!(lint(&select("continue")).is_empty());
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
            Some(m) = rx.recv() => batch.push(m),
            _ = sleep(D) => flush(&mut batch).await,
        } } }); }";
        assert_eq!(lint(spawned_loop), [3]);
        let closure_in_loop = "fn f() { loop { let make = || sleep(D); run(make); } }";
        assert!(lint(closure_in_loop).is_empty());
    }

    #[test]
    fn timed_receives_are_read_by_their_arms() {
        let if_let = "async fn f(mut rx: R) { loop {
            if let Ok(Some(m)) = timeout(D, rx.recv()).await { seen.insert(m) } else { resync(&seen).await } } }";
        assert_eq!(lint(if_let), [2]);
        let if_let_exits = "async fn f(mut rx: R) { loop {
            if let Ok(Some(m)) = timeout(D, rx.recv()).await { handle(m) } else { break } } }";
        assert!(lint(if_let_exits).is_empty());
        let method_form = "async fn f(mut rx: R) { loop {
            match rx.recv().timeout(D).await { Ok(m) => out.push(m), Err(_) => send(out.drain(..)).await } } }";
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
    fn starved_work_must_take_what_the_traffic_builds_up() {
        let select = |traffic: &str, timer: &str| {
            format!(
                "async fn f(mut rx: R) {{ loop {{ tokio::select! {{
                    Some(m) = rx.recv() => {traffic},
                    _ = sleep(D) => {timer},
                }} }} }}"
            )
        };
        assert_eq!(
            lint(&select("pending.push(m)", "write(&pending).await")),
            [3]
        );
        assert_eq!(
            lint(&select("self.dirty.insert(m)", "self.dirty.clear()")),
            [3]
        );
        // A report on the stream itself, a keepalive: nothing waits for them.
        assert!(lint(&select("handle(m)", "report(rx.stats())")).is_empty());
        assert!(lint(&select("out.push(m)", "out.push(PING)")).is_empty());
        let by_method = "impl W { async fn run(&mut self) { loop { tokio::select! {
            Some(m) = self.rx.recv() => self.queue.push(m),
            _ = sleep(D) => self.flush().await,
        } } }
        async fn flush(&mut self) { self.queue.clear() } }";
        assert_eq!(lint(by_method), [3]);
        let requested = "impl W { async fn run(&mut self) { loop {
            let msg = match timeout(D, self.rx.recv()).await { Ok(Some(m)) => m, Ok(None) => return, Err(_) => { self.flush().await; continue } };
            match msg { Msg::Add(k) => self.queue.push(k), Msg::Flush => self.flush().await }
        } }
        async fn flush(&mut self) { self.queue.clear() } }";
        assert!(lint(requested).is_empty());
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
