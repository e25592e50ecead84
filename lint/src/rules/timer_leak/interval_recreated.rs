//! (b) An interval created inside the loop.
//!
//! The bug: an interval's first tick completes at once, so an interval made
//! anew on every iteration and ticked before any `reset*()` never waits:
//! the loop spins, or skips the delay it was written for.
//!
//! Fine and alike: an interval created before the loop, `interval_at(later,
//! ..)`, a fresh interval `reset()` before its first tick, and the
//! deliberate skip idiom (the first tick awaited and dropped as a
//! statement, then ticked again).

use super::*;
pub(super) enum IntervalEvent {
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

impl<'a> Walker<'a, '_> {
    pub(super) fn on_tick(&mut self, call: &'a ExprMethodCall) {
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
    pub(super) fn report_fresh_intervals(&mut self, frame: &LoopFrame<'a>) {
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

    pub(super) fn fresh_interval_finding(
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
}

/// interval whose first tick is immediate. Returns its period, described.
pub(super) fn immediate_interval(expr: &Expr) -> Option<String> {
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
