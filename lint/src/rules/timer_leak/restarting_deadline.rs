//! (c) A relative timer restarted by traffic.
//!
//! The bug: a timer whose deadline is "now + d", made anew on every
//! iteration, restarts whenever another branch of the `select!` (or the
//! raced future of a `timeout`) wins and the loop goes round: under steady
//! traffic it never fires, and the work in its branch never runs.
//!
//! Fine and alike: a retry loop whose other branches all leave, cancellation
//! branches, absolute deadlines kept across iterations, a per-item timeout
//! racing a future made for that item, and an inactivity timeout whose
//! branch leaves the loop (restarting on activity is what it means).

use super::*;
impl<'a> Walker<'a, '_> {
    pub(super) fn check_select(&mut self, mac: &'a Macro, select: &'a Select) {
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

    pub(super) fn branch_role(&self, branch: &'a SelectBranch) -> Role<'a> {
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
    pub(super) fn relative_timer(&self, future: &'a Expr) -> Option<TimerUse<'a>> {
        let peeled = peel_future(future, Some(self.bodies));
        if let Some(call) = timer_call(peeled) {
            return self.relative(call, false);
        }
        let name = variable(peeled)?;
        let init = self.frame().binding(&name)?.init?;
        let call = timer_call(peel_future(init, Some(self.bodies)))?;
        self.relative(call, true)
    }

    pub(super) fn is_let_bound_timer(&self, peeled: &Expr) -> bool {
        variable(peeled)
            .and_then(|name| self.frame().binding(&name)?.init)
            .is_some_and(|init| timer_call(peel_future(init, Some(self.bodies))).is_some())
    }

    pub(super) fn relative(&self, call: TimerCall<'a>, by_let: bool) -> Option<TimerUse<'a>> {
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
    pub(super) fn now_plus(&self, instant: &'a Expr) -> Option<&'a Expr> {
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
    pub(super) fn is_remaining_time(&self, duration: &'a Expr) -> bool {
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
    pub(super) fn through_let(&self, expr: &'a Expr) -> &'a Expr {
        let expr = peel_parens(expr);
        variable(expr)
            .and_then(|name| self.frame().binding(&name)?.init)
            .map_or(expr, peel_parens)
    }

    /// Whether the future can complete again and again while the loop runs:
    /// a receiver, a stream, an async method on something that outlives the
    /// iteration — not a one-shot future made for this iteration's item, and
    /// not a cancellation signal.
    pub(super) fn is_steady_source(&self, future: &'a Expr) -> bool {
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

    pub(super) fn select_is_followed_by_code(&self, mac: &Macro) -> bool {
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

    pub(super) fn restarted_timer_finding(
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
    pub(super) fn check_timed_receive(
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
}

// ---- branch roles and outcomes ----

pub(super) enum Role<'a> {
    Timer(TimerUse<'a>),
    /// Something that can win again and again (its display text).
    Source(String),
    Other,
}

pub(super) struct TimerUse<'a> {
    pub(super) display: String,
    pub(super) created: Span,
    pub(super) duration: Option<&'a Expr>,
    pub(super) by_let: bool,
    pub(super) is_default: bool,
}

pub(super) struct Rival<'s> {
    pub(super) branch: &'s SelectBranch,
    pub(super) name: String,
    pub(super) outcome: Outcomes,
}

/// How the paths through a handler can end, relative to the innermost loop.
/// A handler with nothing to starve: empty, `continue`, or only logging.
pub(super) fn is_trivial(expr: &Expr, cx: &Context<'_>) -> bool {
    match expr {
        Expr::Tuple(t) => t.elems.is_empty(),
        Expr::Continue(c) => c.label.is_none(),
        Expr::Macro(m) => cx.vocabulary.is_log(&macro_name(&m.mac)),
        Expr::Block(b) if b.label.is_none() => block_is_trivial(&b.block, cx),
        _ => false,
    }
}

pub(super) fn block_is_trivial(block: &Block, cx: &Context<'_>) -> bool {
    block.stmts.iter().all(|stmt| match stmt {
        Stmt::Expr(e, _) => is_trivial(e, cx),
        Stmt::Macro(m) => cx.vocabulary.is_log(&macro_name(&m.mac)),
        _ => false,
    })
}

/// The body of a `match` arm or of an `if let` branch.
pub(super) enum ArmBody<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
    /// An `if let` without `else`.
    Empty,
}

impl ArmBody<'_> {
    pub(super) fn outcomes(&self, target: &ExitTarget<'_>) -> Outcomes {
        match self {
            ArmBody::Expr(e) => outcomes(e, target),
            ArmBody::Block(b) => block_outcomes(b, target, &mut Vec::new()),
            ArmBody::Empty => Outcomes::FALLS_THROUGH,
        }
    }

    pub(super) fn is_trivial(&self, cx: &Context<'_>) -> bool {
        match self {
            ArmBody::Expr(e) => is_trivial(e, cx),
            ArmBody::Block(b) => block_is_trivial(b, cx),
            ArmBody::Empty => true,
        }
    }

    pub(super) fn span(&self) -> Span {
        match self {
            ArmBody::Expr(e) => e.span(),
            ArmBody::Block(b) => b.span(),
            ArmBody::Empty => Span::call_site(),
        }
    }
}

pub(super) const REMAINING_TIME_METHODS: &[&str] = &[
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
pub(super) const STREAM_METHODS: &[&str] = &[
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
pub(super) const CANCELLATION_WORDS: &[&str] = &[
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

pub(super) const CANCELLATION_METHODS: &[&str] =
    &["cancelled", "closed", "done", "shutdown", "ctrl_c"];

/// `token.cancelled()`, `shutdown_rx.recv()`, `self.quit.changed()`, `ctrl_c()`.
pub(super) fn is_cancellation(expr: &Expr) -> bool {
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
// ---- (c) timed receives ----

#[derive(Clone, Copy)]
pub(super) enum TimedKind {
    /// `timeout(d, fut).await`, `fut.timeout(d).await`: `Err` is the timeout.
    Timeout,
    /// `rx.recv_timeout(d)`: `Err(Timeout)` is the timeout.
    RecvTimeout,
}

pub(super) struct TimedReceive<'a> {
    pub(super) kind: TimedKind,
    pub(super) call: &'a Expr,
    pub(super) duration: &'a Expr,
    /// What the deadline races: the future, or the receiver.
    pub(super) raced: &'a Expr,
}

pub(super) fn timed_receive(expr: &Expr) -> Option<TimedReceive<'_>> {
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
pub(super) struct Side {
    pub(super) raced: bool,
    pub(super) timer: bool,
}

impl Side {
    pub(super) const BOTH: Side = Side {
        raced: true,
        timer: true,
    };
    pub(super) const NEITHER: Side = Side {
        raced: false,
        timer: false,
    };
}

pub(super) fn pattern_side(pat: &Pat, kind: TimedKind) -> Side {
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

pub(super) fn first_call<'a>(handler: &'a Expr, bodies: &'a MacroBodies) -> Option<&'a Expr> {
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

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
pub(super) fn name_list<'n>(names: impl Iterator<Item = &'n str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

pub(super) fn select_help(flavor: SelectFlavor) -> &'static str {
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
