//! (a) A detached timer task per iteration.
//!
//! The bug: a task or thread spawned on every iteration sleeps and then
//! signals, and its JoinHandle is dropped on the spot. Nothing can cancel
//! it: each one outlives the loop, keeps its captures alive until its sleep
//! ends, and under load they pile up.
//!
//! Fine and alike: a spawn whose handle is kept (pushed, awaited, joined),
//! a task that sleeps inside a `select!` (its other branches can cancel
//! it), a task that sleeps and then does its own work without signalling
//! anyone (a delayed job, not a timer), and `smol::spawn` without
//! `.detach()` (its task is cancelled when the handle drops).

use super::*;
impl<'a> Walker<'a, '_> {
    pub(super) fn check_detached_spawn(&mut self, stmt: &'a Stmt, rest: &'a [Stmt]) {
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
        if self.paced_by_longer_tick(sleep) {
            return;
        }
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
            Finding::new(&INFO, spawn.call, message, help)
                .with_label(sleep, format!("sleeps {duration} first"))
                .with_label(signal, "then signals")
                .with_label(
                    keyword,
                    format!("a new {noun} on every iteration of this loop"),
                ),
        );
    }
}

impl<'a> Walker<'a, '_> {
    /// The loop waits for the tick of an interval made before it, on every
    /// iteration, and the spawned sleep lasts at most two periods: at most
    /// a couple of these tasks are alive at once, nothing piles up (a
    /// subscription renewed every period, each one cancelled after its own
    /// lifetime).
    fn paced_by_longer_tick(&self, sleep: &'a Expr) -> bool {
        let Some(slept) = sleep_duration(sleep).and_then(|d| self.nanos(d)) else {
            return false;
        };
        self.frame().body.stmts.iter().any(|stmt| {
            let Stmt::Expr(expr, Some(_)) = stmt else {
                return false;
            };
            let Some(ticker) = tick_receiver(strip_await(expr)) else {
                return false;
            };
            let made_before = variable(peel_future(ticker, None)).and_then(|name| {
                (self.frame().binding(&name).is_none()).then(|| self.local_init(&name))?
            });
            made_before
                .and_then(|init| self.period_of(init))
                .and_then(|period| period.nanos)
                .is_some_and(|period| period > 0 && slept <= 2 * period)
        })
    }
}

// ---- (a) spawns ----

pub(super) struct Spawn<'a> {
    pub(super) call: &'a Expr,
    pub(super) body: &'a Expr,
    pub(super) noun: &'static str,
    pub(super) thread: bool,
}

/// A spawn whose JoinHandle is thrown away by `expr` itself (`.detach()`,
/// `.unwrap()` on a thread builder's result and `drop(..)` included).
pub(super) fn detached_spawn(expr: &Expr) -> Option<Spawn<'_>> {
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

pub(super) fn peel_instrument(mut expr: &Expr) -> &Expr {
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

pub(super) fn is_thread_builder(receiver: &Expr) -> bool {
    any_expr(
        receiver,
        &MacroBodies::default(),
        |e| matches!(e, Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if path_ends_with(&p.path, &["Builder", "new"]))),
    )
}

/// `rt.spawn(..)`, `runtime.spawn(..)`, `handle.spawn(..)`, `Handle::current().spawn(..)`:
/// not a `JoinSet`, a `TaskTracker` or a scope, which keep their tasks.
pub(super) fn is_runtime_handle(receiver: &Expr) -> bool {
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
pub(super) fn sleep_then_signal<'a>(
    body: &'a Expr,
    bodies: &'a MacroBodies,
) -> Option<(&'a Expr, &'a Expr)> {
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

pub(super) fn sleep_then_signal_in<'a>(
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
pub(super) const SIGNAL_METHODS: &[&str] = &[
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

pub(super) fn find_signal<'a>(stmt: &'a Stmt, bodies: &'a MacroBodies) -> Option<&'a Expr> {
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
pub(super) fn signal_display(signal: &Expr) -> String {
    match signal {
        Expr::MethodCall(m) => format!("{}.{}(..)", snippet(&m.receiver), m.method),
        other => snippet(other),
    }
}
