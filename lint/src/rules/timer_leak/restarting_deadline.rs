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
use crate::finding::{Applicability, Edit, Fix};
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
                        let period = branch
                            .future
                            .as_ref()
                            .and_then(|future| self.periodic_source(future, branch.kind));
                        rivals.push(Rival {
                            branch,
                            name,
                            outcome,
                            period,
                        });
                    }
                }
                Role::Other => {}
            }
        }
        if rivals.is_empty() {
            return;
        }
        let after = self.select_is_followed_by_code(mac);
        let mut findings = Vec::new();
        for (branch, timer) in timers {
            let outcome = outcomes(&branch.handler, &target);
            let mut kind = TimerBranch::of(outcome);
            if kind == TimerBranch::Trivial && !(outcome.falls_through() && after) {
                continue; // nothing of its own, and nothing after the `select!` waits on it
            }
            // Leaving to flush a batch the traffic fills is periodic work, not a teardown.
            let batch = (kind == TimerBranch::Teardown)
                .then(|| self.flushed_batch(&branch.handler, &rivals))
                .flatten();
            let mut drained = None;
            if batch.is_some() {
                kind = TimerBranch::Work;
            } else if kind == TimerBranch::Work {
                let others: Vec<&Expr> = rivals.iter().map(|r| &r.branch.handler).collect();
                if self.work_done_elsewhere(
                    first_call(&branch.handler, self.bodies),
                    &branch.handler,
                    &others,
                ) {
                    continue;
                }
                let arm = ArmBody::Expr(&branch.handler);
                drained = self.drained_state(&arm, &self.traffic_built(&arm));
            }
            let drains = batch.is_some() || drained.is_some();
            let timer_nanos = timer.duration.and_then(|d| self.nanos(d));
            let competing: Vec<(&Rival, Restart)> = rivals
                .iter()
                .filter_map(|rival| {
                    let restart = rival.restart(kind, timer_nanos, after, drains)?;
                    Some((rival, restart))
                })
                .collect();
            if competing.is_empty() {
                continue;
            }
            let fix = self.pinned_timer_fix(select.flavor, branch, &timer, kind);
            findings.push(
                self.restarted_timer_finding(
                    select.flavor,
                    branch,
                    &timer,
                    kind,
                    Taken {
                        batch: batch.as_deref(),
                        drained: drained.as_deref(),
                    },
                    &competing,
                )
                .with_fix(fix),
            );
        }
        for finding in findings {
            self.report(finding);
        }
    }

    /// A collection that a staying rival adds to and the timer's branch
    /// reads (`if !batch.is_empty() { break }`): leaving then is the flush of
    /// a batch, periodic work that steady traffic starves.
    fn flushed_batch(&self, handler: &'a Expr, rivals: &[Rival<'a>]) -> Option<String> {
        rivals
            .iter()
            .filter(|rival| rival.period.is_none() && rival.outcome.stays_busy())
            .flat_map(|rival| filled_collections(&rival.branch.handler, self.bodies))
            .find(|name| {
                any_expr(handler, self.bodies, |e| {
                    interval_key(e).is_some_and(|key| &key == name)
                })
            })
    }

    /// A periodic source: `interval.tick()`, a ticker stream's `next()`,
    /// crossbeam's `recv(ticker)` of a `tick(d)` receiver. `None` when the
    /// branch is not periodic; `Some(period)` (the period when known).
    pub(super) fn periodic_source(&self, future: &'a Expr, kind: BranchKind) -> Option<Period<'a>> {
        let peeled = peel_future(future, Some(self.bodies));
        let (source, by_name) = match (kind, peeled) {
            (BranchKind::Recv, source) => (source, true),
            (_, Expr::MethodCall(call)) if call.args.is_empty() => {
                match call.method.to_string().as_str() {
                    "tick" => (&*call.receiver, false),
                    "next" | "select_next_some" | "recv" => (&*call.receiver, true),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let source = peel_future(source, Some(self.bodies));
        let made_by = variable(source).and_then(|name| self.local_init(&name));
        if let Some(period) = made_by.and_then(|init| self.period_of(init)) {
            return Some(period);
        }
        if !by_name {
            // `x.tick()`: an interval, whatever its name (no other common type has `tick()`).
            return Some(Period::unknown());
        }
        let name = receiver_root_or_field(source)?;
        let name = snake_case(&name).into_owned();
        let periodic_name = name
            .split('_')
            .any(|word| matches!(word, "interval" | "ticker" | "tick" | "heartbeat" | "ticks"));
        periodic_name.then(Period::unknown)
    }

    /// `interval(d)`, `interval_at(t, d)`, crossbeam `tick(d)`,
    /// `IntervalStream::new(..)` of one of them: the period `d`.
    pub(super) fn period_of(&self, init: &'a Expr) -> Option<Period<'a>> {
        let init = peel_future(strip_try(init), Some(self.bodies));
        let Expr::Call(call) = init else {
            return None;
        };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let period = match (last_segment(&func.path)?.as_str(), call.args.len()) {
            ("interval" | "tick", 1) => &call.args[0],
            ("interval_at", 2) => &call.args[1],
            ("new", 1) if path_mentions(&func.path, "IntervalStream") => {
                return self.period_of(&call.args[0])
            }
            _ => return None,
        };
        Some(Period {
            expr: Some(period),
            nanos: self.nanos(period),
        })
    }

    /// The value of a duration when the code says it: `Duration::from_secs(5)`,
    /// a `const`, a `let` of this function, simple arithmetic.
    pub(super) fn nanos(&self, duration: &Expr) -> Option<u128> {
        duration_nanos(duration, &|name| {
            self.local_init(name)
                .or_else(|| self.consts.get(name).copied())
        })
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
                        created: branch.span.into(),
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
            created: Extent::of(&call.expr),
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
        if self.computes_remaining(duration) {
            return true;
        }
        // `left.unwrap()` where `let left = FLUSH.checked_sub(last.elapsed());`
        let mut through_binding = false;
        any_expr(duration, self.bodies, |e| {
            if let Some(init) = variable(e).and_then(|name| self.frame().binding(&name)?.init) {
                through_binding |= self.computes_remaining(init);
            }
            through_binding
        });
        through_binding
    }

    fn computes_remaining(&self, duration: &Expr) -> bool {
        let reads_clock = |e: &Expr| {
            any_expr(e, self.bodies, |r| {
                ["now", "now_utc", "elapsed"]
                    .iter()
                    .any(|name| callee_is(r, name))
                    || variable(r).is_some_and(|v| v == "elapsed")
            })
        };
        any_expr(duration, self.bodies, |e| match e {
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "saturating_sub" | "checked_sub"
                ) =>
            {
                m.args.iter().any(reads_clock) || reads_clock(&m.receiver)
            }
            Expr::MethodCall(m) => names_remaining_time(&m.method.to_string()),
            // `Self::duration_until_next_deadline(&self.deadlines)`: the time
            // left until a deadline kept across iterations (a heap of them).
            Expr::Call(call) => match &*call.func {
                Expr::Path(p) => {
                    last_segment(&p.path).is_some_and(|name| names_remaining_time(&name))
                }
                _ => false,
            },
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Sub(_)) => {
                reads_clock(&b.right) || reads_clock(&b.left)
            }
            _ => false,
        })
    }

    /// Whether the work a timer's branch starts with is also done, on every
    /// pass, elsewhere: as a statement of the loop body outside `own` (the
    /// `select!` or `match` itself), or unconditionally in a traffic arm
    /// (`others`). Then nothing is lost when traffic wins. A call made only
    /// under a condition (`if batch.len() >= max { flush() }`) does not count.
    pub(super) fn work_done_elsewhere(
        &self,
        call: Option<&Expr>,
        own: &Expr,
        others: &[&Expr],
    ) -> bool {
        let Some(call) = call else { return false };
        let needle = call.to_token_stream().to_string();
        let in_body = self.frame().body.stmts.iter().any(|stmt| {
            // The statement holding the timer (or its branch's work) is its own.
            let is_own = any_expr(std::slice::from_ref(stmt), self.bodies, |e| {
                std::ptr::eq(e, own) || std::ptr::eq(e, call)
            });
            if is_own {
                return false;
            }
            // A `match` on what the traffic brought, with an arm that does the
            // work (`Msg::Flush(op) => self.flush()`): the traffic can ask for
            // it, and the timer is a backstop.
            let by_request = match stmt {
                Stmt::Expr(m @ Expr::Match(_), _) => unconditional_parts(m)
                    .iter()
                    .any(|part| part.contains(needle.as_str())),
                _ => false,
            };
            by_request || unconditional_text(stmt).contains(needle.as_str())
        });
        in_body
            || others.iter().any(|arm| {
                unconditional_parts(arm)
                    .iter()
                    .any(|part| part.contains(needle.as_str()))
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
                // `let value = select! { .. };`
                Stmt::Local(local) => local.init.as_ref().is_some_and(
                    |init| matches!(&*init.expr, Expr::Macro(m) if std::ptr::eq(&m.mac, mac)),
                ),
                _ => false,
            };
            this && stmts[i + 1..].iter().any(|s| !matches!(s, Stmt::Item(_)))
        })
    }

    /// The fix for periodic work starved by a restarted `tokio::time::sleep(d)`
    /// raced directly in a `tokio::select!`: one `Sleep` pinned before the
    /// loop, raced as `&mut timer`, and reset a period ahead when its branch
    /// runs, so it fires every period whatever else wins. Only when that is
    /// mechanical: tokio's `sleep` (by its path or the file's import), a
    /// period that can be evaluated again (`is_pure`) and is the same on
    /// every iteration, an unlabelled loop that is a statement (a `let`
    /// goes before it), and a name for the timer the function does not use.
    /// It changes when the work runs (every period instead of after a quiet
    /// one, and the first a period after the loop starts), so it is for a
    /// person to confirm: `MaybeIncorrect`.
    fn pinned_timer_fix(
        &self,
        flavor: SelectFlavor,
        branch: &SelectBranch,
        timer: &TimerUse<'_>,
        kind: TimerBranch,
    ) -> Option<Fix> {
        if flavor != SelectFlavor::Tokio
            || kind != TimerBranch::Work
            || timer.by_let
            || timer.is_default
        {
            return None;
        }
        let future = branch.future.as_ref()?;
        let Expr::Call(call) = future else {
            return None;
        };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let resolved = crate::syntax::resolved_path(self.cx.file, &func.path)?;
        if resolved != ["tokio", "time", "sleep"] || call.args.len() != 1 {
            return None;
        }
        let period = &call.args[0];
        let frame = self.frame();
        if !crate::syntax::is_pure(period)
            || mentions_any(period, self.bodies, &frame.per_iteration_names())
            || frame.label.is_some()
            || !loop_is_statement(self.function_body, frame.body, self.bodies)
        {
            return None;
        }
        let prefix = time_module_prefix(&func.path);
        let name = unused_name(self.function_body, "timer");
        let d = crate::syntax::source_text(period)?;
        let reset = format!("{name}.as_mut().reset({prefix}::Instant::now() + {d});");
        let reset_edit = match &branch.handler {
            Expr::Block(block) if block.attrs.is_empty() && block.label.is_none() => {
                Edit::line_before(block.block.stmts.first()?.span(), reset)
            }
            handler => {
                let text = crate::syntax::source_text(handler)?;
                Edit::replace(handler.span(), format!("{{ {reset} {text} }}"))
            }
        };
        Some(
            Fix::new(
                format!(
                    "make one timer before the loop (`{name}`), race `&mut {name}` and reset it when its branch runs, so it fires every period whatever else wins"
                ),
                Applicability::MaybeIncorrect,
            )
            .with_edit(Edit::line_before(
                frame.keyword,
                format!("let mut {name} = std::pin::pin!({prefix}::sleep({d}));"),
            ))
            .with_edit(Edit::replace(future.span(), format!("&mut {name}")))
            .with_edit(reset_edit),
        )
    }

    pub(super) fn restarted_timer_finding(
        &self,
        flavor: SelectFlavor,
        branch: &SelectBranch,
        timer: &TimerUse<'_>,
        kind: TimerBranch,
        taken: Taken<'_>,
        competing: &[(&Rival<'_>, Restart)],
    ) -> Finding {
        let Taken { batch, drained } = taken;
        let duration = timer.duration.map_or("its".to_string(), describe_duration);
        let what = if timer.is_default {
            format!("`default(..)` starts a new {duration} timeout on every iteration of this loop")
        } else {
            let origin = if timer.by_let {
                ", bound by a `let` in the loop body,"
            } else {
                ""
            };
            format!(
                "`{}`{origin} is created anew on every iteration of this loop, so its {duration} \
                 deadline restarts whenever the loop goes round",
                timer.display
            )
        };
        let lost = match kind {
            TimerBranch::Work if batch.is_some() => format!(
                "the flush of `{}` its branch leaves for",
                batch.unwrap_or_default()
            ),
            TimerBranch::Work => {
                let work = match first_call(&branch.handler, self.bodies) {
                    Some(call) => format!("the work in its branch (`{}`)", snippet(call)),
                    None => "the work in its branch".to_string(),
                };
                match drained {
                    Some(state) => {
                        format!("{work}, which takes what the loop adds to `{state}`,")
                    }
                    None => work,
                }
            }
            TimerBranch::Teardown => {
                "its branch, which ends the loop when the time is up,".to_string()
            }
            TimerBranch::Trivial => {
                "the code after the `select!`, which only the timer reaches,".to_string()
            }
        };
        // The most telling reason first: a periodic rival always wins.
        let (lead, restart) = competing
            .iter()
            .min_by_key(|(_, restart)| restart.rank())
            .copied()
            .expect("competing is not empty");
        let why = match restart {
            Restart::Periodic => {
                let period = lead.period.as_ref().and_then(|p| p.expr);
                let every = period.map_or(String::new(), |p| {
                    format!(" (every {})", describe_duration(p))
                });
                let certainty = match (
                    lead.period.as_ref().and_then(|p| p.nanos),
                    timer.duration.and_then(|d| self.nanos(d)),
                ) {
                    (Some(_), Some(_)) => "always wins first",
                    _ => "wins first whenever its period is the shorter",
                };
                format!(
                    "`{}` is periodic{every} and {certainty}: this {duration} deadline never \
                     fires, even when nothing else happens, so {lost} never runs",
                    lead.name
                )
            }
            Restart::Traffic => format!("{lost} never runs while `{}` keeps delivering", lead.name),
            Restart::EmptyRound => format!(
                "every time `{}` completes without a result the loop goes round and the deadline \
                 starts over: while it keeps coming back empty the deadline never fires, so {lost} \
                 never runs and the wait has no bound",
                lead.name
            ),
        };
        let prefix = if timer.is_default {
            "per-iteration timeout in `select!`"
        } else {
            "per-iteration timer in `select!`"
        };
        let message = format!("{prefix}: {what}; {why}");
        let mut finding = Finding::new(&INFO, timer.created, message, select_help(flavor, kind));
        if !is_trivial(&branch.handler, self.cx) {
            let label = match kind {
                TimerBranch::Teardown => "runs only after a whole period without a restart",
                _ => "runs only after a whole quiet period: never under steady traffic",
            };
            finding = finding.with_label(&branch.handler, label);
        }
        if timer.by_let {
            if let Some(future) = &branch.future {
                finding = finding.with_label(future, "the per-iteration timer is raced here");
            }
        }
        for (rival, restart) in competing {
            let how = match restart {
                Restart::Periodic => "ticks and stays in the loop",
                Restart::EmptyRound => "comes back empty and the loop goes round",
                Restart::Traffic if rival.outcome.only_continues() => "wins and `continue`s",
                Restart::Traffic => "wins and stays in the loop",
            };
            let at = rival
                .branch
                .future
                .as_ref()
                .map_or(rival.branch.span, |f| f.span());
            finding =
                finding.with_label(at, format!("`{}` {how}: the deadline restarts", rival.name));
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
        let Some(timed) = timed_receive(self.through_let(scrutinee)) else {
            return;
        };
        if self.is_remaining_time(timed.duration)
            || !self.is_steady_source(timed.raced)
            || !is_receive_like(timed.raced)
        {
            return;
        }
        // A match on a timed receive is often a value (`let r = match ..`):
        // an `Err(..)` arm is the value then, not an exit.
        let target = ExitTarget {
            err_leaves: false,
            ..self.exit_target()
        };
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
        let raced = arms
            .iter()
            .zip(&sides)
            .filter(|(_, side)| side.raced)
            .map(|((_, body), _)| body.outcomes(&target))
            .fold(Outcomes::default(), Outcomes::or);
        // Work that stays (a value the loop goes on with counts), or a result
        // that ends the loop while an empty one goes round.
        let traffic = raced.stays_busy() || raced.falls_through();
        // No empty rounds here: a `timeout(d, call())` retried in a loop is
        // the per-attempt timeout idiom.
        let empty_round = false;
        let starved_arm = arms.iter().zip(&sides).find_map(|((pattern, body), side)| {
            if !side.timer {
                return None;
            }
            let restart = match TimerBranch::of(body.outcomes(&target)) {
                TimerBranch::Work
                    if traffic
                        && self
                            .drained_state(body, &self.traffic_built(body))
                            .is_some() =>
                {
                    Restart::Traffic
                }
                TimerBranch::Work | TimerBranch::Teardown if empty_round => Restart::EmptyRound,
                _ => return None,
            };
            Some((pattern, body, restart))
        });
        let Some((pattern, body, restart)) = starved_arm else {
            return;
        };
        let others: Vec<&Expr> = arms
            .iter()
            .zip(&sides)
            .filter(|(_, side)| side.raced && !side.timer)
            .filter_map(|((_, body), _)| match body {
                ArmBody::Expr(e) => Some(*e),
                _ => None,
            })
            .collect();
        if self.work_done_elsewhere(body.first_call(self.bodies), timed.call, &others) {
            return;
        }
        let duration = describe_duration(timed.duration);
        let raced = snippet(timed.raced);
        let lost = match restart {
            Restart::EmptyRound => format!(
                "every time `{raced}` completes without a result the loop goes round and the \
                 deadline starts over: while it keeps coming back empty the timeout never \
                 elapses and the wait has no bound"
            ),
            _ => match body.first_call(self.bodies) {
                Some(call) => format!(
                    "the work in the timeout arm (`{}`) never runs while `{raced}` keeps delivering",
                    snippet(call)
                ),
                None => format!("the timeout arm never runs while `{raced}` keeps delivering"),
            },
        };
        let (message, help) = match timed.kind {
            TimedKind::Timeout => (
                format!(
                    "per-iteration timeout: `timeout(..)` starts a new {duration} deadline on every \
                     iteration of this loop, so it restarts every time `{raced}` completes first; \
                     {lost}"
                ),
                "keep the deadline across iterations: `let mut deadline = Instant::now() + d;` \
                 before the loop, race `timeout_at(deadline, ..)`, and move the deadline only \
                 when it elapses (or `select!` against a `Sleep` pinned before the loop, or an \
                 `interval` created once); if restarting on every message is intended (an \
                 inactivity timeout), leave the loop when it elapses",
            ),
            TimedKind::RecvTimeout => (
                format!(
                    "per-iteration timeout: `recv_timeout(..)` starts a new {duration} timeout on \
                     every iteration of this loop, so it restarts every time a message arrives on \
                     `{raced}`; {lost}"
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
        let finding = Finding::new(&INFO, timed.call, message, help)
            .with_label(timed.raced, raced_label)
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

/// What the starved work of a timer's branch takes from the traffic: the
/// batch it leaves the loop to flush, or the state it drains.
pub(super) struct Taken<'s> {
    pub(super) batch: Option<&'s str>,
    pub(super) drained: Option<&'s str>,
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
    pub(super) created: Extent,
    pub(super) duration: Option<&'a Expr>,
    pub(super) by_let: bool,
    pub(super) is_default: bool,
}

pub(super) struct Rival<'s> {
    pub(super) branch: &'s SelectBranch,
    pub(super) name: String,
    pub(super) outcome: Outcomes,
    /// Set when the branch is periodic (an interval, a ticker).
    pub(super) period: Option<Period<'s>>,
}

pub(super) struct Period<'a> {
    pub(super) expr: Option<&'a Expr>,
    pub(super) nanos: Option<u128>,
}

impl Period<'_> {
    fn unknown() -> Self {
        Period {
            expr: None,
            nanos: None,
        }
    }
}

/// What the timer's own branch does when it fires.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TimerBranch {
    /// Work that stays in the loop: a flush, a resync, a ping, a GC pass.
    Work,
    /// Leaves the loop on every path that does anything: an inactivity
    /// timeout or a deadline (`return`, `break`, `Err(..)`, `bail!`...). A
    /// `continue` path does not make it periodic work.
    Teardown,
    /// Nothing of its own (empty, `continue`, a log line).
    Trivial,
}

impl TimerBranch {
    fn of(outcome: Outcomes) -> TimerBranch {
        if outcome.stays_busy() {
            TimerBranch::Work
        } else if outcome.leaves {
            TimerBranch::Teardown
        } else {
            TimerBranch::Trivial
        }
    }
}

/// Why a rival's win restarts the timer in a way that loses something.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Restart {
    /// It ticks on its own schedule, at least as often as the timer's.
    Periodic,
    /// It comes back without a result (its result leaves the loop) and the
    /// loop goes round: a retry that restarts the caller's deadline.
    EmptyRound,
    /// Steady traffic handled in the loop.
    Traffic,
}

impl Restart {
    fn rank(self) -> u8 {
        match self {
            Restart::Periodic => 0,
            Restart::EmptyRound => 1,
            Restart::Traffic => 2,
        }
    }
}

impl Rival<'_> {
    /// Whether this rival's wins restart a timer whose branch is `kind` (of
    /// `timer_nanos` when known) in a way that loses its work; `after`: the
    /// `select!` is followed by code in the loop body.
    fn restart(
        &self,
        kind: TimerBranch,
        timer_nanos: Option<u128>,
        after: bool,
        drains: bool,
    ) -> Option<Restart> {
        let outcome = self.outcome;
        if let Some(period) = &self.period {
            // A rival that ticks less often than the timer does not starve it.
            let longer = matches!((period.nanos, timer_nanos), (Some(p), Some(t)) if p >= t);
            if !longer && kind != TimerBranch::Trivial {
                return Some(Restart::Periodic);
            }
            if longer {
                return None;
            }
        }
        let busy = outcome.stays_busy() || (outcome.fall_idle && after);
        let empty_round = outcome.leaves && (outcome.next_idle || (outcome.fall_idle && !after));
        match kind {
            // Traffic starves work that takes what the traffic builds up; other
            // work (a stall report, an idle keepalive) is meant for quiet spells.
            TimerBranch::Work if busy && drains => Some(Restart::Traffic),
            TimerBranch::Work | TimerBranch::Teardown if empty_round => Some(Restart::EmptyRound),
            // Only the code after the `select!` is starved: by rivals that skip it.
            TimerBranch::Trivial if after && outcome.only_continues() && outcome.next_busy => {
                Some(Restart::Traffic)
            }
            _ => None,
        }
    }
}

/// The body of a `match` arm or of an `if let` branch.
pub(super) enum ArmBody<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
    /// An `if let` without `else`.
    Empty,
}

impl<'a> ArmBody<'a> {
    pub(super) fn outcomes(&self, target: &ExitTarget<'_>) -> Outcomes {
        match self {
            ArmBody::Expr(e) => outcomes(e, target),
            ArmBody::Block(b) => block_outcomes(b, target, &mut Vec::new()),
            ArmBody::Empty => Outcomes::FALLS_THROUGH,
        }
    }

    pub(super) fn first_call<'b>(&self, bodies: &'b MacroBodies) -> Option<&'b Expr>
    where
        'a: 'b,
    {
        match self {
            ArmBody::Expr(e) => first_call(e, bodies),
            ArmBody::Block(b) => b.stmts.iter().find_map(|stmt| match stmt {
                Stmt::Expr(e, _) => first_call(e, bodies),
                Stmt::Local(l) => l.init.as_ref().and_then(|i| first_call(&i.expr, bodies)),
                Stmt::Macro(_) | Stmt::Item(_) => None,
            }),
            ArmBody::Empty => None,
        }
    }

    /// Whether `pred` holds for an expression of the body.
    pub(super) fn any(&self, bodies: &'a MacroBodies, pred: impl FnMut(&'a Expr) -> bool) -> bool {
        match self {
            ArmBody::Expr(e) => any_expr(*e, bodies, pred),
            ArmBody::Block(b) => any_expr(*b, bodies, pred),
            ArmBody::Empty => false,
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

/// A method or function that says it computes the time left until a
/// deadline: one of [`REMAINING_TIME_METHODS`], or a snake-case name with
/// the word `until` or `remaining` (`duration_until_next_deadline`,
/// `remaining_budget`).
fn names_remaining_time(name: &str) -> bool {
    REMAINING_TIME_METHODS.contains(&name)
        || name
            .split('_')
            .any(|word| matches!(word, "until" | "remaining"))
}

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

pub(super) fn select_help(flavor: SelectFlavor, kind: TimerBranch) -> String {
    let keep = match flavor {
        SelectFlavor::Crossbeam => {
            "keep an absolute deadline across iterations: `let mut deadline = Instant::now() + d;` \
             before the loop, `recv(at(deadline))` (or \
             `default(deadline.saturating_duration_since(Instant::now()))`), and move the \
             deadline only when it fires — or use a `tick(d)` receiver created once before the \
             loop"
        }
        SelectFlavor::Tokio | SelectFlavor::Futures => {
            "create the timer once, before the loop — `let timer = sleep(d); tokio::pin!(timer);` \
             (or one `Delay`) — race `&mut timer`, and `timer.as_mut().reset(Instant::now() + d)` \
             in its branch after it fires; or use an `interval` created once, or `sleep_until` a \
             deadline kept across iterations"
        }
    };
    let intent = match kind {
        TimerBranch::Teardown => {
            "; for an inactivity timeout, move the deadline only on real activity (the branches \
             that carry traffic), not on periodic ticks or empty rounds"
        }
        TimerBranch::Work | TimerBranch::Trivial => {
            "; if restarting on every event is intended (an inactivity timeout), leave the loop \
             in the timer's branch"
        }
    };
    format!("{keep}{intent}")
}

/// The variables and `self` fields a handler adds to: `batch.push(x)`,
/// `self.pending.insert(k, v)`.
fn filled_collections(handler: &Expr, bodies: &MacroBodies) -> Vec<String> {
    let mut names = Vec::new();
    any_expr(handler, bodies, |e| {
        if let Expr::MethodCall(m) = e {
            let adds = matches!(
                m.method.to_string().as_str(),
                "push" | "push_back" | "push_front" | "insert" | "extend" | "append"
            );
            if adds {
                names.extend(interval_key(&m.receiver));
            }
        }
        false
    });
    names
}

/// What a timed receive must race to be traffic: the next item of
/// something long-lived (`rx.recv()`, `stream.next()`, `conn.read_frame()`),
/// not a request made for this attempt (`client.health()`, `save()`).
fn is_receive_like(raced: &Expr) -> bool {
    let mut at = raced;
    loop {
        match at {
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if STREAM_METHODS.contains(&name.as_str())
                    || ["recv", "read", "next", "accept", "poll_"]
                        .iter()
                        .any(|prefix| name.starts_with(prefix))
                {
                    return true;
                }
                if !matches!(
                    name.as_str(),
                    "in_current_span" | "instrument" | "fuse" | "boxed"
                ) {
                    return false;
                }
                at = &m.receiver;
            }
            // `recv_timeout`'s receiver: the channel itself.
            Expr::Path(_) | Expr::Field(_) => return true,
            Expr::Reference(r) => at = &r.expr,
            Expr::Paren(p) => at = &p.expr,
            _ => return false,
        }
    }
}

/// The text of a statement, minus its conditional parts: an `if`, `match`
/// or loop statement contributes nothing.
fn unconditional_text(stmt: &Stmt) -> String {
    match stmt {
        // The condition and the scrutinee run whenever the statement does.
        Stmt::Expr(Expr::If(i), _) => i.cond.to_token_stream().to_string(),
        Stmt::Expr(Expr::Match(m), _) => m.expr.to_token_stream().to_string(),
        Stmt::Expr(Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_), _) => String::new(),
        other => other.to_token_stream().to_string(),
    }
}

/// The statements of a handler that run whenever it runs: its block's
/// statements, or those of each arm of the `match` it is.
fn unconditional_parts(handler: &Expr) -> Vec<String> {
    match handler {
        Expr::Block(b) => b.block.stmts.iter().map(unconditional_text).collect(),
        Expr::Match(m) => m
            .arms
            .iter()
            .flat_map(|arm| match &*arm.body {
                Expr::Block(b) => b.block.stmts.iter().map(unconditional_text).collect(),
                other => vec![other.to_token_stream().to_string()],
            })
            .collect(),
        other => vec![other.to_token_stream().to_string()],
    }
}

/// Whether the loop whose body is `body` is a statement of a block of
/// `function` (so a `let` can go on the line before it).
fn loop_is_statement(function: &Block, body: &Block, bodies: &MacroBodies) -> bool {
    struct Find<'b> {
        body: &'b Block,
        bodies: &'b MacroBodies,
        found: bool,
    }
    impl<'a> Visit<'a> for Find<'_> {
        fn visit_block(&mut self, block: &'a Block) {
            self.found |= block.stmts.iter().any(|stmt| {
                let inner = match stmt {
                    Stmt::Expr(Expr::Loop(l), _) if l.attrs.is_empty() => &l.body,
                    Stmt::Expr(Expr::While(l), _) if l.attrs.is_empty() => &l.body,
                    Stmt::Expr(Expr::ForLoop(l), _) if l.attrs.is_empty() => &l.body,
                    _ => return false,
                };
                std::ptr::eq(inner, self.body)
            });
            visit::visit_block(self, block);
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            crate::macro_bodies::walk_macro(self, self.bodies, mac);
        }
    }
    let mut find = Find {
        body,
        bodies,
        found: false,
    };
    find.visit_block(function);
    find.found
}

/// `base`, or `base_2`, `base_3`...: the first that no token of `function`
/// spells (macro bodies included), so a new `let` shadows nothing.
fn unused_name(function: &Block, base: &str) -> String {
    fn idents(stream: proc_macro2::TokenStream, out: &mut HashSet<String>) {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    out.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Group(group) => idents(group.stream(), out),
                _ => {}
            }
        }
    }
    let mut used = HashSet::new();
    idents(function.to_token_stream(), &mut used);
    (1..)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|name| !used.contains(name))
        .expect("some name is free")
}
