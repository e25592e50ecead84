//! Shape 3, consumed one-shot trigger: a function a one-shot timer, an
//! expiry or an inactivity check calls returns while the thing it exists to
//! remove stays alive, with no log and no re-arm.
//!
//! Two forms:
//!
//! - **Missing handle** (the review's `delete_not_active`): a lifecycle
//!   function gives up because the handle its delete goes through — the
//!   cluster, the metalayer, the raft group, the leader, or whatever value
//!   it later calls the delete or the proposal on — is absent right now.
//!   Absences that mean "nothing to do" (already taken, looked up by key,
//!   feature off, chosen by the caller, the very thing it tears down) are
//!   left alone, and so are functions an interval runs (the next tick
//!   retries) unless the return leaves the loop that ticks.
//! - **Tick not re-armed**: a tick handler that re-arms its own one-shot tick
//!   at its end (`self.schedule_tick(..)`) returns early on a condition,
//!   without re-arming: the tick is spent and nothing schedules it again.

use std::collections::{HashMap, HashSet};

use quote::ToTokens;
use syn::visit::Visit;
use syn::{Arm, Block, Expr, ExprIf, ExprMatch, ExprReturn, Local, Macro, Pat, Stmt};

use super::common::{calls, Frame, Guard, SilentExit};
use super::INFO;
use crate::engine::Context;
use crate::finding::Finding;
use crate::macro_bodies::{walk_macro, MacroBody};
use crate::syntax::{
    callee_name, has_quorum_gated_delete, last_segment, macro_name, snake_case, FnUnit,
};

/// Names of the handles a replicated delete goes through.
const HANDLE_WORDS: &[&str] = &[
    "cluster",
    "cc",
    "meta",
    "metalayer",
    "raft",
    "leader",
    "consensus",
    "quorum",
    "coordinator",
];

/// The missing-handle form, over every function of the file.
pub fn check_missing_handles(
    cx: &Context<'_>,
    findings: &mut Vec<Finding>,
    reported: &mut HashSet<usize>,
) {
    let mut owners = None;
    let mut periodic = None;
    for function in &cx.functions {
        let guards = silent_guards(cx, function);
        if guards.is_empty() || !is_lifecycle_action(cx, function) {
            continue;
        }
        let periodic = periodic.get_or_insert_with(|| interval_driven(cx));
        let by_interval = periodic.contains(&function.name().to_string())
            || is_periodic_name(&function.name().to_string());
        let owners = owners.get_or_insert_with(|| impl_owners(cx.file));
        let subject = Subject::of(cx, function, owners);
        for mut guard in guards {
            // A function an interval runs is run again by the next tick,
            // unless the return leaves the loop that ticks.
            if by_interval && !guard.leaves_loop {
                continue;
            }
            guard
                .needed
                .retain(|needed| is_handle(cx, function, &needed.name));
            if guard.needed.is_empty() {
                continue;
            }
            reported.insert(guard.ret as *const ExprReturn as usize);
            findings.push(report(cx, function.body, &subject, &guard));
        }
    }
}

/// Whether a missing value is a handle the function deletes through: named
/// like one (`cluster`, `meta_leader`, `raft`), or the receiver of a delete
/// or a proposal later in the function (`store.remove_consumer(k)`).
fn is_handle(cx: &Context<'_>, function: &FnUnit<'_>, name: &str) -> bool {
    let snake = snake_case(name);
    if snake.split('_').any(|w| HANDLE_WORDS.contains(&w)) {
        return true;
    }
    crate::syntax::any_expr(function.body, cx.bodies, |expr| match expr {
        Expr::MethodCall(call) => {
            let method = call.method.to_string();
            (cx.vocabulary.is_delete(&method) || cx.vocabulary.is_propose(&method))
                && root_name(&call.receiver).as_deref() == Some(name)
        }
        _ => false,
    })
}

/// `store` in `store.as_ref().unwrap()`, `self.store` in `self.store.x()`.
fn root_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path) => path.path.get_ident().map(|i| i.to_string()),
        Expr::MethodCall(call) if is_passthrough(&call.method.to_string()) => {
            root_name(&call.receiver)
        }
        Expr::Field(field) => match &field.member {
            syn::Member::Named(name) if matches!(&*field.base, Expr::Path(p) if p.path.is_ident("self")) => {
                Some(name.to_string())
            }
            _ => None,
        },
        Expr::Reference(r) => root_name(&r.expr),
        Expr::Paren(p) => root_name(&p.expr),
        _ => None,
    }
}

/// `on_tick`, `run_periodic_gc`, `heartbeat`: run again and again by name.
fn is_periodic_name(name: &str) -> bool {
    snake_case(name).split('_').any(|w| {
        matches!(
            w,
            "tick" | "ticker" | "periodic" | "interval" | "heartbeat" | "sweep" | "scan"
        )
    })
}

/// The functions this file calls from a loop that waits on an interval or
/// a ticker: each tick runs them again.
fn interval_driven(cx: &Context<'_>) -> HashSet<String> {
    struct Loops<'c, 'a> {
        cx: &'c Context<'a>,
        out: HashSet<String>,
    }
    impl<'a> Visit<'a> for Loops<'_, 'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if matches!(expr, Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_)) {
                let ids = super::common::idents(self.cx, expr);
                if ids.iter().any(|i| {
                    let s = snake_case(i);
                    s.split('_')
                        .any(|w| matches!(w, "tick" | "ticker" | "interval"))
                }) {
                    crate::syntax::any_expr(expr, self.cx.bodies, |e| {
                        if let Some(name) = callee_name(e) {
                            self.out.insert(name);
                        }
                        false
                    });
                }
            }
            syn::visit::visit_expr(self, expr);
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.cx.bodies, mac);
        }
    }
    let mut loops = Loops {
        cx,
        out: HashSet::new(),
    };
    loops.visit_file(cx.file);
    loops.out
}

/// `schedule_tick`, `register(Tick::X)`, `rearm`: in a tick handler, a call
/// that arms the next tick.
fn is_rearm_call(cx: &Context<'_>, name: &str) -> bool {
    let snake = snake_case(name);
    cx.vocabulary.is_rearm(name)
        || ["register", "schedule", "arm", "rearm", "reschedule"]
            .iter()
            .any(|verb| snake == *verb || snake.starts_with(&format!("{verb}_")))
}

/// The tick-not-re-armed form: `function` ends by re-arming its own tick,
/// and `exit`, a top-level guard before that, does not.
pub fn check_tick_not_rearmed<'a>(
    cx: &Context<'a>,
    function: &FnUnit<'a>,
    exit: &SilentExit<'a>,
    siblings: &[SilentExit<'a>],
) -> Option<Finding> {
    let name = function.name().to_string();
    let snake = snake_case(&name);
    if !snake
        .split('_')
        .any(|w| matches!(w, "tick" | "timer" | "timeout"))
    {
        return None;
    }
    // The guard is a statement of the function's own block.
    let [Frame::Block { stmts, .. }] = exit.frames.as_slice() else {
        return None;
    };
    if !matches!(exit.guard, Guard::If(_)) {
        return None;
    }
    let rearm = match stmts.last()? {
        Stmt::Expr(expr, _) => Some(expr),
        _ => None,
    }?;
    let rearm_name = callee_name(crate::syntax::peel(rearm))?;
    if !is_rearm_call(cx, &rearm_name) {
        return None;
    }
    let (branch_calls, logs) = calls(cx, exit.branch);
    if logs || branch_calls.iter().any(|c| is_rearm_call(cx, &c.name)) {
        return None;
    }
    // Another early return re-arms: the handler already chooses which of
    // its paths keep the tick, and this one ends it on purpose.
    if siblings.iter().any(|other| {
        !std::ptr::eq(other.ret, exit.ret)
            && calls(cx, other.branch)
                .0
                .iter()
                .any(|c| is_rearm_call(cx, &c.name))
    }) {
        return None;
    }
    // The tick it re-arms, named: `schedule_tick(PeerTick::Resync)`. A
    // helper with no argument (`self.register_x_tick()`) hides which tick
    // it is, and whether something else arms it.
    let args: Vec<&Expr> = match crate::syntax::peel(rearm) {
        Expr::MethodCall(call) => call.args.iter().collect(),
        Expr::Call(call) => call.args.iter().collect(),
        _ => Vec::new(),
    };
    let tick = args.iter().find_map(|arg| match arg {
        Expr::Path(path) if path.path.segments.len() > 1 => {
            Some(path.to_token_stream().to_string())
        }
        _ => None,
    })?;
    // Armed anywhere else in the file (on a role change, at start-up):
    // somebody else brings it back. Dispatch arms (`PeerTick::X => ..`)
    // are patterns, not uses.
    let elsewhere = cx.functions.iter().any(|other| {
        !std::ptr::eq(other.sig, function.sig)
            && crate::syntax::any_expr(
                other.body,
                cx.bodies,
                |e| matches!(e, Expr::Path(p) if p.to_token_stream().to_string() == tick),
            )
    });
    if elsewhere {
        return None;
    }
    let message = format!(
        "`{name}` re-arms its one-shot tick at its end (`{}`), but returns here without re-arming or logging: the tick that called it is spent, and nothing schedules it again, so the work it keeps retrying stops for good",
        super::common::text(rearm)
    );
    let help = "re-arm the tick on this path too when the condition is temporary (a role, a pending operation); return without re-arming only when the work is finished"
        .to_string();
    Some(
        Finding::new(&INFO, exit.ret, message, help)
            .with_label(rearm, "the normal path re-arms the tick here"),
    )
}

/// A lifecycle function that performs the action rather than setting it up.
/// `spawn_idle_reaper`, `reset_idle_timeout` or `schedule_delete` are about a
/// lifecycle only as the object of their verb: they arm the check, and
/// returning when its setting is absent just leaves the feature off. So a
/// function that is lifecycle by its name alone does not count when that
/// name starts with a setup verb.
fn is_lifecycle_action(cx: &Context<'_>, function: &FnUnit<'_>) -> bool {
    if !cx.is_lifecycle(function) {
        return false;
    }
    let name = function.name().to_string();
    let by_name_alone = cx.vocabulary.is_lifecycle(&name)
        && !cx.all_functions_are_lifecycle()
        && !has_quorum_gated_delete(function.attrs)
        && !crate::syntax::any_expr(function.body, cx.bodies, |expr| {
            callee_name(expr).is_some_and(|callee| cx.vocabulary.is_delete(&callee))
        });
    // Otherwise it deletes, or the user said it is lifecycle (annotated, or
    // checked by the proc-macro).
    !by_name_alone || !is_setup_name(cx, &name)
}

fn is_setup_name(cx: &Context<'_>, name: &str) -> bool {
    let snake = snake_case(name);
    cx.vocabulary.is_rearm(name)
        || SETUP_VERBS
            .iter()
            .any(|verb| snake == *verb || snake.starts_with(&format!("{verb}_")))
}

const SETUP_VERBS: &[&str] = &[
    "spawn",
    "start",
    "schedule",
    "reset",
    "set",
    "arm",
    "init",
    "setup",
    "new",
    "with",
    "configure",
    "enable",
    "register",
    "build",
    "install",
];

/// Why the guard gives up: the value is `None`, or it is an `Err`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Absence {
    Missing,
    Failed,
}

/// A value whose absence makes the function give up.
struct Needed<'a> {
    /// What to call it in the message: the binding, or the source's name.
    name: String,
    source: &'a Expr,
}

/// A silent early return and the guard that takes it.
struct SilentGuard<'a> {
    ret: &'a ExprReturn,
    /// The return leaves a loop (a watcher, a reaper): nothing checks again.
    leaves_loop: bool,
    absence: Absence,
    needed: Vec<Needed<'a>>,
}

/// The silent early returns of `function`'s own body.
fn silent_guards<'a>(cx: &Context<'a>, function: &FnUnit<'a>) -> Vec<SilentGuard<'a>> {
    let mut walker = Walker {
        cx,
        parameters: parameter_names(function),
        torn_down: torn_down_names(cx, function),
        before: Vec::new(),
        loops: 0,
        tail: true,
        found: Vec::new(),
    };
    walker.visit_block(function.body);
    walker.found
}

/// Walks one function body, remembering what runs before the current point
/// and whether anything runs after it.
struct Walker<'c, 'a> {
    cx: &'c Context<'a>,
    parameters: Vec<String>,
    /// Every name the function tears down itself (see [`torn_down_names`]).
    torn_down: HashSet<String>,
    /// For each enclosing block, the statements that ran before the current one.
    before: Vec<Before<'a>>,
    /// How many loops enclose the current point.
    loops: usize,
    /// Whether the function ends once the current node completes: a `return`
    /// there skips nothing, so it is not early.
    tail: bool,
    found: Vec<SilentGuard<'a>>,
}

impl<'a> Walker<'_, 'a> {
    fn with_tail(&mut self, tail: bool, f: impl FnOnce(&mut Self)) {
        let saved = self.tail;
        self.tail = tail;
        f(self);
        self.tail = saved;
    }

    /// Records the guard if its exit branch is a silent early return.
    fn consider(
        &mut self,
        absence: Absence,
        needed: Vec<Needed<'a>>,
        guard: &'a Expr,
        exit: Exit<'a>,
    ) {
        if self.tail {
            return;
        }
        let needed: Vec<Needed<'a>> = needed
            .into_iter()
            .filter(|n| !self.nothing_to_do(n, absence))
            .collect();
        if needed.is_empty() {
            return;
        }
        let Some((ret, branch_before)) = silent_exit(exit) else {
            return;
        };
        let effects = Effects::new(self.cx);
        if effects.tells_or_retries(branch_before)
            || effects.expr_tells_or_retries(guard)
            || self.before.iter_mut().any(|before| before.acted(&effects))
        {
            return;
        }
        self.found.push(SilentGuard {
            ret,
            leaves_loop: self.loops > 0,
            absence,
            needed,
        });
    }

    /// Whether the value being absent means there is nothing left to do, so
    /// returning quietly is right.
    fn nothing_to_do(&self, needed: &Needed<'a>, absence: Absence) -> bool {
        means_already_done(needed.source, absence)
            || is_optional_setting(&needed.name)
            || mentions_setting(needed.source)
            || self.chosen_by_caller(needed.source)
            || self.is_torn_down(&needed.name)
            || source_name(needed.source).is_some_and(|name| self.is_torn_down(&name))
    }

    /// An `Option` parameter, or an entry looked up by a parameter (the key
    /// the caller asked about): the caller knows what it passed.
    fn chosen_by_caller(&self, source: &Expr) -> bool {
        if let Some(root) = plain_variable(source) {
            if self.parameters.contains(&root) {
                return true;
            }
        }
        let mut keyed = false;
        let mut visitor = CallArgs(|arg: &Expr| {
            keyed |= mentions_any(arg, &self.parameters);
        });
        visitor.visit_expr(source);
        keyed
    }

    /// Whether the function tears `name` down itself (see [`torn_down_names`]):
    /// then its absence means there is nothing to tear down.
    fn is_torn_down(&self, name: &str) -> bool {
        name != "self" && self.torn_down.contains(name)
    }

    fn check_let_else(&mut self, local: &'a Local) {
        let Some(init) = &local.init else { return };
        let Some((_, exit)) = &init.diverge else {
            return;
        };
        if let Some((absence, binding)) = present_pattern(&local.pat) {
            let needed = needed_values(binding, &init.expr);
            self.consider(absence, needed, &init.expr, Exit::Expr(exit));
        }
    }

    fn check_if(&mut self, expr_if: &'a ExprIf) {
        let then_branch = Exit::Block(&expr_if.then_branch);
        match &*expr_if.cond {
            Expr::Let(let_expr) => {
                if let Some((absence, binding)) = present_pattern(&let_expr.pat) {
                    if let Some((_, else_branch)) = &expr_if.else_branch {
                        let needed = needed_values(binding, &let_expr.expr);
                        self.consider(absence, needed, &let_expr.expr, Exit::Expr(else_branch));
                    }
                } else if let Some(absence) = absent_pattern(&let_expr.pat) {
                    let needed = needed_values(None, &let_expr.expr);
                    self.consider(absence, needed, &let_expr.expr, then_branch);
                }
            }
            cond => {
                if let Some((absence, sources)) = absence_condition(cond) {
                    let needed = sources
                        .into_iter()
                        .flat_map(|s| needed_values(None, s))
                        .collect();
                    self.consider(absence, needed, cond, then_branch);
                }
            }
        }
    }

    fn check_match(&mut self, expr_match: &'a ExprMatch) {
        let has_present_arm = expr_match
            .arms
            .iter()
            .any(|arm| present_pattern(&arm.pat).is_some());
        let present_absence = expr_match
            .arms
            .iter()
            .find_map(|arm| present_pattern(&arm.pat).map(|(a, _)| a));
        for arm in &expr_match.arms {
            if arm.guard.is_some() {
                continue;
            }
            let absence = match absent_pattern(&arm.pat) {
                Some(absence) => absence,
                None if has_present_arm && is_catch_all(&arm.pat) => {
                    present_absence.unwrap_or(Absence::Missing)
                }
                None => continue,
            };
            let needed = needed_values(None, &expr_match.expr);
            self.consider(absence, needed, &expr_match.expr, Exit::Expr(&arm.body));
        }
    }

    fn visit_arm_body(&mut self, arm: &'a Arm, tail: bool) {
        for attr in &arm.attrs {
            self.visit_attribute(attr);
        }
        self.visit_pat(&arm.pat);
        if let Some((_, guard)) = &arm.guard {
            self.with_tail(false, |w| w.visit_expr(guard));
        }
        self.with_tail(tail, |w| w.visit_expr(&arm.body));
    }
}

/// Every name the function tears down itself (`name.abort()`,
/// `self.name.take().close()`, `drop(name)`, `name.delete()`): each name in
/// the receiver of such a call, or in the argument of `drop`. A call with
/// arguments or a proposal (`meta.propose_delete(key)`,
/// `store.remove_consumer(k)`) uses its receiver to end something else, so
/// that is a dependency, not a teardown. Collected in one pass, so a function
/// with thousands of guards is not walked once per guard.
fn torn_down_names(cx: &Context<'_>, function: &FnUnit<'_>) -> HashSet<String> {
    struct Names<'n>(&'n mut HashSet<String>);
    impl<'a> Visit<'a> for Names<'_> {
        fn visit_ident(&mut self, ident: &'a syn::Ident) {
            self.0.insert(ident.to_string());
        }
    }
    let vocabulary = cx.vocabulary;
    let mut names = HashSet::new();
    crate::syntax::any_expr(function.body, cx.bodies, |expr| {
        match expr {
            Expr::MethodCall(call) => {
                let method = call.method.to_string();
                if call.args.is_empty()
                    && (is_teardown(&method) || vocabulary.is_delete(&method))
                    && !vocabulary.is_propose(&method)
                {
                    Names(&mut names).visit_expr(&call.receiver);
                }
            }
            Expr::Call(call) if callee_name(expr).as_deref() == Some("drop") => {
                for arg in &call.args {
                    Names(&mut names).visit_expr(arg);
                }
            }
            _ => {}
        }
        false
    });
    names
}

/// The statements of one block that ran before the current one, and whether
/// one of them surely deleted or re-armed. Scanned lazily and only once, so
/// a block of thousands of guards costs one pass, not one per guard.
struct Before<'a> {
    stmts: &'a [Stmt],
    /// The current statement's index: `stmts[..end]` ran before it.
    end: usize,
    scanned: usize,
    acted: bool,
}

impl<'a> Before<'a> {
    fn acted(&mut self, effects: &Effects<'_, 'a>) -> bool {
        while !self.acted && self.scanned < self.end {
            self.acted = effects.acts(&self.stmts[self.scanned..=self.scanned]);
            self.scanned += 1;
        }
        self.acted
    }
}

impl<'a> Visit<'a> for Walker<'_, 'a> {
    fn visit_block(&mut self, block: &'a Block) {
        let tail = self.tail;
        let last = block.stmts.len().saturating_sub(1);
        self.before.push(Before {
            stmts: &block.stmts,
            end: 0,
            scanned: 0,
            acted: false,
        });
        for (i, stmt) in block.stmts.iter().enumerate() {
            if let Some(before) = self.before.last_mut() {
                before.end = i;
            }
            self.tail = tail && i == last;
            self.visit_stmt(stmt);
        }
        self.before.pop();
        self.tail = tail;
    }

    fn visit_local(&mut self, local: &'a Local) {
        self.check_let_else(local);
        syn::visit::visit_local(self, local);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        let tail = self.tail;
        match expr {
            // A `return` in there leaves the closure or the future, not the function.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::If(expr_if) => {
                self.check_if(expr_if);
                self.with_tail(false, |w| w.visit_expr(&expr_if.cond));
                self.visit_block(&expr_if.then_branch);
                if let Some((_, else_branch)) = &expr_if.else_branch {
                    self.visit_expr(else_branch);
                }
            }
            Expr::Match(expr_match) => {
                self.check_match(expr_match);
                self.with_tail(false, |w| w.visit_expr(&expr_match.expr));
                for arm in &expr_match.arms {
                    self.visit_arm_body(arm, tail);
                }
            }
            Expr::Block(block) => self.visit_block(&block.block),
            Expr::Unsafe(block) => self.visit_block(&block.block),
            Expr::Paren(inner) => self.visit_expr(&inner.expr),
            Expr::Group(inner) => self.visit_expr(&inner.expr),
            Expr::Macro(mac) => self.visit_macro(&mac.mac),
            // Loop bodies run again: a return there skips the next iterations.
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.loops += 1;
                self.with_tail(false, |w| syn::visit::visit_expr(w, expr));
                self.loops -= 1;
            }
            _ => self.with_tail(false, |w| syn::visit::visit_expr(w, expr)),
        }
    }

    fn visit_item(&mut self, _: &'a syn::Item) {
        // Nested items are functions of their own.
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        let bodies = self.cx.bodies;
        match bodies.get(mac) {
            // `select!` handlers are the function's own code, not closures.
            Some(MacroBody::Select(select)) => {
                let tail = self.tail;
                for branch in &select.branches {
                    self.with_tail(false, |w| {
                        branch.future.iter().for_each(|e| w.visit_expr(e));
                        branch.guard.iter().for_each(|e| w.visit_expr(e));
                    });
                    self.with_tail(tail, |w| w.visit_expr(&branch.handler));
                }
            }
            _ => self.with_tail(false, |w| walk_macro(w, bodies, mac)),
        }
    }
}

/// `Some(x)`/`Ok(x)` (also inside a tuple or reference): the pattern that
/// holds when the value is there, and the name it binds.
fn present_pattern(pat: &Pat) -> Option<(Absence, Option<&syn::Ident>)> {
    match pat {
        Pat::TupleStruct(tuple) => {
            let absence = match last_segment(&tuple.path)?.as_str() {
                "Some" => Absence::Missing,
                "Ok" => Absence::Failed,
                _ => return None,
            };
            let binding = match tuple.elems.first() {
                Some(Pat::Ident(ident)) if tuple.elems.len() == 1 => Some(&ident.ident),
                _ => None,
            };
            Some((absence, binding))
        }
        Pat::Tuple(tuple) => tuple.elems.iter().find_map(present_pattern),
        Pat::Reference(reference) => present_pattern(&reference.pat),
        Pat::Paren(paren) => present_pattern(&paren.pat),
        _ => None,
    }
}

/// `None` or `Err(..)`: the pattern that holds when the value is absent.
fn absent_pattern(pat: &Pat) -> Option<Absence> {
    match pat {
        Pat::Ident(ident) if ident.ident == "None" && ident.subpat.is_none() => {
            Some(Absence::Missing)
        }
        Pat::Path(path) if last_segment(&path.path).as_deref() == Some("None") => {
            Some(Absence::Missing)
        }
        Pat::TupleStruct(tuple) if last_segment(&tuple.path).as_deref() == Some("Err") => {
            Some(Absence::Failed)
        }
        _ => None,
    }
}

/// `_` or a lowercase binding: an arm that takes whatever the others did not.
fn is_catch_all(pat: &Pat) -> bool {
    match pat {
        Pat::Wild(_) => true,
        Pat::Ident(ident) => {
            ident.subpat.is_none()
                && ident
                    .ident
                    .to_string()
                    .starts_with(|c: char| c.is_lowercase() || c == '_')
        }
        _ => false,
    }
}

/// A condition that holds when values are absent (`x.is_none()`,
/// `a.is_none() || b.is_none()`, `!x.is_some()`, `x == None`), with the
/// values it tests. `||` needs one absence test among its operands (the
/// return is taken whenever it holds); `&&` needs all of them to be.
fn absence_condition(cond: &Expr) -> Option<(Absence, Vec<&Expr>)> {
    match cond {
        Expr::Paren(paren) => absence_condition(&paren.expr),
        Expr::MethodCall(call) if call.args.is_empty() => match call.method.to_string().as_str() {
            "is_none" => Some((Absence::Missing, vec![&*call.receiver])),
            "is_err" => Some((Absence::Failed, vec![&*call.receiver])),
            _ => None,
        },
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Not(_)) => match &*unary.expr {
            Expr::MethodCall(call) if call.args.is_empty() => {
                match call.method.to_string().as_str() {
                    "is_some" => Some((Absence::Missing, vec![&*call.receiver])),
                    "is_ok" => Some((Absence::Failed, vec![&*call.receiver])),
                    _ => None,
                }
            }
            _ => None,
        },
        Expr::Binary(binary) => match binary.op {
            syn::BinOp::Eq(_) if is_none_path(&binary.right) => {
                Some((Absence::Missing, vec![&*binary.left]))
            }
            syn::BinOp::Eq(_) if is_none_path(&binary.left) => {
                Some((Absence::Missing, vec![&*binary.right]))
            }
            syn::BinOp::Or(_) => {
                let sides = [&*binary.left, &*binary.right].map(absence_condition);
                combine(sides.into_iter().flatten())
            }
            syn::BinOp::And(_) => {
                let [left, right] = [&*binary.left, &*binary.right].map(absence_condition);
                combine([left?, right?])
            }
            _ => None,
        },
        _ => None,
    }
}

fn combine<'a>(
    parts: impl IntoIterator<Item = (Absence, Vec<&'a Expr>)>,
) -> Option<(Absence, Vec<&'a Expr>)> {
    let mut combined: Option<(Absence, Vec<&Expr>)> = None;
    for (absence, sources) in parts {
        match &mut combined {
            None => combined = Some((absence, sources)),
            Some((kind, all)) => {
                if absence == Absence::Missing {
                    *kind = Absence::Missing;
                }
                all.extend(sources);
            }
        }
    }
    combined
}

fn is_none_path(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if last_segment(&p.path).as_deref() == Some("None"))
}

/// The values a guard tests: each element of a tuple, or the one value.
fn needed_values<'a>(binding: Option<&syn::Ident>, source: &'a Expr) -> Vec<Needed<'a>> {
    match source {
        Expr::Tuple(tuple) => tuple.elems.iter().map(|e| needed_value(None, e)).collect(),
        Expr::Paren(paren) => needed_values(binding, &paren.expr),
        _ => vec![needed_value(binding, source)],
    }
}

fn needed_value<'a>(binding: Option<&syn::Ident>, source: &'a Expr) -> Needed<'a> {
    let name = binding
        .map(|b| b.to_string())
        .filter(|b| !b.starts_with('_'))
        .or_else(|| source_name(source))
        .unwrap_or_else(|| expr_text(source));
    Needed { name, source }
}

/// The name a value is known by: `self.cluster()` → `cluster`,
/// `js.meta.read().clone()` → `meta`, `cc` → `cc`.
fn source_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path) => last_segment(&path.path),
        Expr::Field(field) => match &field.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => source_name(&field.base),
        },
        Expr::MethodCall(call) if is_passthrough(&call.method.to_string()) => {
            source_name(&call.receiver)
        }
        Expr::MethodCall(call) => Some(call.method.to_string()),
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => last_segment(&path.path),
            _ => None,
        },
        Expr::Await(e) => source_name(&e.base),
        Expr::Try(e) => source_name(&e.expr),
        Expr::Paren(e) => source_name(&e.expr),
        Expr::Reference(e) => source_name(&e.expr),
        _ => None,
    }
}

/// Adapters that hand the same value on (`as_ref`, `clone`, a lock guard).
fn is_passthrough(method: &str) -> bool {
    matches!(
        method,
        "as_ref"
            | "as_mut"
            | "as_deref"
            | "as_deref_mut"
            | "clone"
            | "cloned"
            | "copied"
            | "ok"
            | "lock"
            | "read"
            | "write"
            | "borrow"
            | "borrow_mut"
            | "load"
            | "load_full"
            | "unwrap"
            | "expect"
    )
}

/// Whether the value being absent means the work is already done (or never
/// was ours), so giving up quietly is right: it was taken, popped, removed,
/// received, or upgraded from a `Weak` that died; an entry looked up by key
/// is not there; a lock is poisoned.
fn means_already_done(source: &Expr, absence: Absence) -> bool {
    let mut done = false;
    let mut visitor = CallNames(|name: &str, args: usize| {
        done |= is_consuming(name) || (args > 0 && is_keyed_lookup(name));
    });
    visitor.visit_expr(source);
    done || (absence == Absence::Failed && outermost_call_is_lock(source))
}

/// Names of settings (`idle_timeout`, `ttl`, `config`): unset, they turn a
/// feature off, and a function that then does nothing is right.
fn is_optional_setting(name: &str) -> bool {
    snake_case(name).split('_').any(|word| {
        matches!(
            word,
            "timeout"
                | "timeouts"
                | "interval"
                | "dur"
                | "duration"
                | "ttl"
                | "period"
                | "delay"
                | "threshold"
                | "deadline"
                | "config"
                | "cfg"
                | "conf"
                | "settings"
                | "options"
                | "opts"
                | "limit"
        )
    })
}

/// Whether a field or method named like a setting is read on the way to the
/// value (`self.config.meta_url`, `opts.idle_ttl()`).
fn mentions_setting(source: &Expr) -> bool {
    struct Settings(bool);
    impl<'a> Visit<'a> for Settings {
        fn visit_ident(&mut self, ident: &'a syn::Ident) {
            self.0 |= is_optional_setting(&ident.to_string());
        }
    }
    let mut settings = Settings(false);
    settings.visit_expr(source);
    settings.0
}

/// The function's parameters bound to plain names.
fn parameter_names(function: &FnUnit<'_>) -> Vec<String> {
    function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => Some(ident.ident.to_string()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// `x`, `x.as_ref()`, `&x`, `x.clone()`: a local variable or parameter.
fn plain_variable(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path) if path.path.segments.len() == 1 => {
            path.path.get_ident().map(|i| i.to_string())
        }
        Expr::MethodCall(call) if is_passthrough(&call.method.to_string()) => {
            plain_variable(&call.receiver)
        }
        Expr::Reference(reference) => plain_variable(&reference.expr),
        Expr::Paren(paren) => plain_variable(&paren.expr),
        _ => None,
    }
}

/// Whether `expr` names one of `names` as a variable or a field.
fn mentions_any(expr: &Expr, names: &[String]) -> bool {
    struct Mentions<'n> {
        names: &'n [String],
        found: bool,
    }
    impl<'a> Visit<'a> for Mentions<'_> {
        fn visit_ident(&mut self, ident: &'a syn::Ident) {
            self.found |= self.names.iter().any(|n| ident == n);
        }
    }
    let mut mentions = Mentions {
        names,
        found: false,
    };
    mentions.visit_expr(expr);
    mentions.found
}

/// Calls that end a resource's life without being a delete of a lifecycle object.
fn is_teardown(method: &str) -> bool {
    let method = snake_case(method);
    [
        "abort",
        "cancel",
        "close",
        "shutdown",
        "kill",
        "terminate",
        "join",
        "stop",
        "disconnect",
        "unregister",
        "deregister",
    ]
    .into_iter()
    .any(|verb| method == verb || method.starts_with(&format!("{verb}_")))
}

/// Calls `f` with every argument of every call in an expression.
struct CallArgs<F>(F);

impl<'a, F: FnMut(&Expr)> Visit<'a> for CallArgs<F> {
    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        call.args.iter().for_each(|arg| (self.0)(arg));
        syn::visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        call.args.iter().for_each(|arg| (self.0)(arg));
        syn::visit::visit_expr_call(self, call);
    }
}

/// Calls that empty the place they read from: absent afterwards means done.
fn is_consuming(name: &str) -> bool {
    let name = snake_case(name);
    let word = |w: &str| name == w || name.starts_with(&format!("{w}_"));
    ["take", "remove", "pop", "drain"].into_iter().any(word)
        || matches!(
            &*name,
            "upgrade"
                | "recv"
                | "try_recv"
                | "swap_remove"
                | "shift_remove"
                | "next"
                | "try_next"
                | "poll_next"
                | "poll_recv"
        )
}

fn is_keyed_lookup(name: &str) -> bool {
    matches!(
        name,
        "get" | "get_mut" | "get_key_value" | "find" | "find_map" | "position" | "binary_search"
    )
}

fn outermost_call_is_lock(source: &Expr) -> bool {
    matches!(
        callee_name(crate::syntax::peel(source)).as_deref(),
        Some(
            "lock"
                | "try_lock"
                | "read"
                | "write"
                | "try_read"
                | "try_write"
                | "try_borrow"
                | "try_borrow_mut"
        )
    )
}

/// Calls every method name and called path in an expression (paths passed as
/// functions too: `.and_then(Weak::upgrade)`), without entering macros.
struct CallNames<F>(F);

impl<'a, F: FnMut(&str, usize)> Visit<'a> for CallNames<F> {
    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        (self.0)(&call.method.to_string(), call.args.len());
        syn::visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        if let Expr::Path(path) = &*call.func {
            if let Some(name) = last_segment(&path.path) {
                (self.0)(&name, call.args.len());
            }
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }
    fn visit_expr_path(&mut self, path: &'a syn::ExprPath) {
        if path.path.segments.len() > 1 {
            if let Some(name) = last_segment(&path.path) {
                (self.0)(&name, 0);
            }
        }
    }
}

/// The branch a guard takes when the value is absent.
#[derive(Clone, Copy)]
enum Exit<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
}

/// If `exit` ends in a silent `return`, that return and the statements
/// before it in the branch.
fn silent_exit(exit: Exit<'_>) -> Option<(&ExprReturn, &[Stmt])> {
    match exit {
        Exit::Block(block) => silent_exit_of_block(block),
        Exit::Expr(Expr::Return(ret)) => is_silent(ret).then_some((ret, &[][..])),
        Exit::Expr(Expr::Block(block)) => silent_exit_of_block(&block.block),
        Exit::Expr(Expr::Paren(paren)) => silent_exit(Exit::Expr(&paren.expr)),
        Exit::Expr(_) => None,
    }
}

fn silent_exit_of_block(block: &Block) -> Option<(&ExprReturn, &[Stmt])> {
    let (last, before) = block.stmts.split_last()?;
    match last {
        Stmt::Expr(Expr::Return(ret), _) if is_silent(ret) => Some((ret, before)),
        Stmt::Expr(Expr::Block(inner), _) if before.is_empty() => {
            silent_exit_of_block(&inner.block)
        }
        _ => None,
    }
}

/// `return;`, `return ()` or `return Ok(())`: nothing for the caller to act on.
fn is_silent(ret: &ExprReturn) -> bool {
    match ret.expr.as_deref() {
        None => true,
        Some(Expr::Tuple(unit)) => unit.elems.is_empty(),
        Some(Expr::Call(call)) => {
            matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some("Ok"))
                && call.args.len() == 1
                && matches!(&call.args[0], Expr::Tuple(unit) if unit.elems.is_empty())
        }
        _ => false,
    }
}

/// Finds logs, deletes and re-arms, inside macros and closures too.
struct Effects<'c, 'a> {
    cx: &'c Context<'a>,
}

#[derive(Default)]
struct Seen {
    log: bool,
    delete: bool,
    rearm: bool,
}

impl<'c, 'a> Effects<'c, 'a> {
    fn new(cx: &'c Context<'a>) -> Self {
        Effects { cx }
    }

    fn scan(
        &self,
        unconditional_only: bool,
        visit: impl FnOnce(&mut EffectVisitor<'c, 'a>),
    ) -> Seen {
        let mut visitor = EffectVisitor {
            cx: self.cx,
            unconditional_only,
            seen: Seen::default(),
        };
        visit(&mut visitor);
        visitor.seen
    }

    /// A log, a delete or a re-arm among `stmts`.
    fn tells_or_retries(&self, stmts: &'a [Stmt]) -> bool {
        let seen = self.scan(false, |v| stmts.iter().for_each(|s| v.visit_stmt(s)));
        seen.log || seen.delete || seen.rearm
    }

    fn expr_tells_or_retries(&self, expr: &'a Expr) -> bool {
        let seen = self.scan(false, |v| v.visit_expr(expr));
        seen.log || seen.delete || seen.rearm
    }

    /// A delete or a re-arm that surely ran in `stmts` (not in a branch):
    /// after one, giving up loses nothing.
    fn acts(&self, stmts: &'a [Stmt]) -> bool {
        let seen = self.scan(true, |v| stmts.iter().for_each(|s| v.visit_stmt(s)));
        seen.delete || seen.rearm
    }
}

struct EffectVisitor<'c, 'a> {
    cx: &'c Context<'a>,
    /// Skip branches (`if`, `match` arms, let-else), which may not have run.
    unconditional_only: bool,
    seen: Seen,
}

impl EffectVisitor<'_, '_> {
    fn call(&mut self, name: &str) {
        let vocabulary = self.cx.vocabulary;
        self.seen.log |= vocabulary.is_log(name);
        self.seen.delete |= vocabulary.is_delete(name);
        self.seen.rearm |= vocabulary.is_rearm(name);
    }
}

impl<'a> Visit<'a> for EffectVisitor<'_, 'a> {
    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        if let Expr::Path(path) = &*call.func {
            if let Some(name) = last_segment(&path.path) {
                self.call(&name);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }
    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        self.call(&call.method.to_string());
        syn::visit::visit_expr_method_call(self, call);
    }
    fn visit_macro(&mut self, mac: &'a Macro) {
        self.seen.log |= self.cx.vocabulary.is_log(&macro_name(mac));
        walk_macro(self, self.cx.bodies, mac);
    }
    fn visit_expr_if(&mut self, expr_if: &'a ExprIf) {
        if self.unconditional_only {
            self.visit_expr(&expr_if.cond);
        } else {
            syn::visit::visit_expr_if(self, expr_if);
        }
    }
    fn visit_expr_match(&mut self, expr_match: &'a ExprMatch) {
        if self.unconditional_only {
            self.visit_expr(&expr_match.expr);
        } else {
            syn::visit::visit_expr_match(self, expr_match);
        }
    }
    fn visit_local(&mut self, local: &'a Local) {
        match &local.init {
            Some(init) if self.unconditional_only => self.visit_expr(&init.expr),
            _ => syn::visit::visit_local(self, local),
        }
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// What the function was about: the noun that names what stays alive, and
/// whether a timer called it.
struct Subject {
    function: String,
    noun: Option<&'static str>,
    trigger: Trigger,
}

#[derive(Clone, Copy)]
enum Trigger {
    Inactivity,
    Expiry,
    Timer,
    Other,
}

const LIFECYCLE_NOUNS: &[&str] = &[
    "consumer",
    "lease",
    "session",
    "subscription",
    "subscriber",
    "member",
    "replica",
    "stream",
    "assignment",
    "partition",
    "worker",
    "client",
    "connection",
    "watcher",
    "peer",
    "queue",
    "topic",
    "group",
    "node",
];

impl Subject {
    fn of(cx: &Context<'_>, function: &FnUnit<'_>, owners: &HashMap<usize, String>) -> Subject {
        let name = function.name().to_string();
        let owner = owners.get(&(function.sig as *const syn::Signature as usize));
        let mut places: Vec<String> = vec![snake_case(&name).into_owned()];
        places.extend(owner.map(|o| snake_case(o).into_owned()));
        places.extend(function.sig.inputs.iter().filter_map(|input| match input {
            syn::FnArg::Typed(typed) => {
                Some(snake_case(&typed.ty.to_token_stream().to_string()).into_owned())
            }
            syn::FnArg::Receiver(_) => None,
        }));
        places.extend(lifecycle_calls(cx, function));
        let noun = places.iter().find_map(|place| {
            LIFECYCLE_NOUNS.iter().copied().find(|noun| {
                place
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == *noun || w == format!("{noun}s"))
            })
        });
        Subject {
            trigger: Trigger::of(&snake_case(&name)),
            function: name,
            noun,
        }
    }
}

impl Trigger {
    fn of(function: &str) -> Trigger {
        let has = |words: &[&str]| function.split('_').any(|w| words.contains(&w));
        if has(&["inactive", "inactivity", "idle"]) || function.contains("not_active") {
            Trigger::Inactivity
        } else if has(&[
            "expire",
            "expired",
            "expiry",
            "expiration",
            "ttl",
            "timeout",
        ]) {
            Trigger::Expiry
        } else if has(&["timer", "tick", "timeout"]) {
            Trigger::Timer
        } else {
            Trigger::Other
        }
    }
}

/// The names of the delete-like and proposal calls in `function`'s body
/// (`remove_consumer`, `propose_revoke_lease`): they name what it manages.
fn lifecycle_calls(cx: &Context<'_>, function: &FnUnit<'_>) -> Vec<String> {
    let mut names = Vec::new();
    crate::syntax::any_expr(function.body, cx.bodies, |expr| {
        let is_lifecycle_call =
            |n: &String| cx.vocabulary.is_delete(n) || cx.vocabulary.is_propose(n);
        if let Some(name) = callee_name(expr).filter(is_lifecycle_call) {
            names.push(snake_case(&name).into_owned());
        }
        false
    });
    names
}

/// The self type of every method, keyed by the address of its signature.
fn impl_owners(file: &syn::File) -> HashMap<usize, String> {
    #[derive(Default)]
    struct Owners(HashMap<usize, String>);
    impl<'a> Visit<'a> for Owners {
        fn visit_item_impl(&mut self, item: &'a syn::ItemImpl) {
            if let syn::Type::Path(path) = &*item.self_ty {
                if let Some(owner) = last_segment(&path.path) {
                    for impl_item in &item.items {
                        if let syn::ImplItem::Fn(f) = impl_item {
                            self.0
                                .insert(&f.sig as *const syn::Signature as usize, owner.clone());
                        }
                    }
                }
            }
            syn::visit::visit_item_impl(self, item);
        }
        fn visit_item_trait(&mut self, item: &'a syn::ItemTrait) {
            for trait_item in &item.items {
                if let syn::TraitItem::Fn(f) = trait_item {
                    self.0.insert(
                        &f.sig as *const syn::Signature as usize,
                        item.ident.to_string(),
                    );
                }
            }
            syn::visit::visit_item_trait(self, item);
        }
    }
    let mut owners = Owners::default();
    owners.visit_file(file);
    owners.0
}

fn report<'a>(
    cx: &Context<'a>,
    body: &'a Block,
    subject: &Subject,
    guard: &SilentGuard<'_>,
) -> Finding {
    let names: Vec<String> = guard
        .needed
        .iter()
        .map(|n| format!("`{}`", n.name))
        .collect();
    let what = match guard.absence {
        Absence::Missing => "is missing",
        Absence::Failed => "fails",
    };
    let alive = match subject.noun {
        Some(noun) => format!("the {noun} stays alive as a ghost"),
        None => "whatever it was cleaning up stays alive as a ghost".to_string(),
    };
    let returns_ok = guard.ret.expr.is_some();
    let retry = match subject.trigger {
        _ if guard.leaves_loop => "the loop that watches it ends, so nothing will check it again",
        Trigger::Inactivity => "its inactivity timer, already consumed, will not fire again",
        Trigger::Expiry => "its expiry timer, already consumed, will not fire again",
        Trigger::Timer => "the timer that called it, already consumed, will not fire again",
        Trigger::Other if returns_ok => "the caller, seeing `Ok(())`, will not retry",
        Trigger::Other => "nothing will retry",
    };
    let message = format!(
        "`{}` returns when {} {what} without logging, deleting or re-arming: {alive} and {retry}",
        subject.function,
        names.join(" or "),
    );
    let key = match subject.noun {
        Some(noun) => format!("the {noun} key"),
        None => "the key of what is left alive".to_string(),
    };
    let help = format!(
        "log a warning with {key} and re-arm the check (or delete locally) before returning; \
         if giving up here is right, return an error or `false` so the caller knows nothing was done"
    );
    // The log line is mechanical; what it must say (the key) and whether
    // to re-arm are not: a placeholder for a person.
    let field = subject
        .noun
        .map_or("key".to_string(), |noun| noun.replace(' ', "_"));
    let placeholder = match subject.noun {
        Some(noun) => format!("the {noun}'s key"),
        None => "the key of what is left alive".to_string(),
    };
    let warning = format!(
        "`{}` gives up: {} {what}; {alive_short}",
        subject.function,
        names.join(" or "),
        alive_short = match subject.noun {
            Some(noun) => format!("the {noun} is left behind and nothing will retry"),
            None => "what it cleans up is left behind and nothing will retry".to_string(),
        }
    );
    let fix = super::common::warn_before(cx, body, guard.ret, &field, &placeholder, &warning);
    let mut finding = Finding::new(&INFO, guard.ret, message, help).with_fix(fix);
    for needed in &guard.needed {
        let label = match guard.absence {
            Absence::Missing => format!("gives up when `{}` is `None`", expr_text(needed.source)),
            Absence::Failed => format!("gives up when `{}` is an `Err`", expr_text(needed.source)),
        };
        finding = finding.with_label(needed.source, label);
    }
    finding
}

/// Short source-like text for an expression, for messages.
fn expr_text(expr: &Expr) -> String {
    crate::syntax::snippet(expr, 60)
}

#[cfg(test)]
mod tests {
    use crate::{check_file, check_function, CrateFacts, Options, Vocabulary};

    fn lines(findings: &[crate::Finding]) -> Vec<usize> {
        findings.iter().map(|f| f.span.start().line).collect()
    }

    #[test]
    fn the_proc_macro_path_checks_setup_named_functions_too() {
        let function: syn::ItemFn = syn::parse_str(
            "fn spawn_idle_reaper(&self) {\n\
                 let Some(cc) = self.cluster() else { return };\n\
                 cc.forward_proposal(self.key());\n\
             }",
        )
        .unwrap();
        let vocabulary = Vocabulary::default();
        let facts = CrateFacts::default();
        let options = Options::new(&vocabulary, &facts);
        assert_eq!(lines(&check_function(&function, &options)), [2]);
        let file = syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![syn::Item::Fn(function)],
        };
        assert!(check_file(&file, &options).is_empty());
    }

    #[test]
    fn only_the_unit_and_ok_unit_returns_are_silent() {
        let file: syn::File = syn::parse_str(
            "fn remove_lease(&self) -> Result<(), E> {\n\
                 let Some(a) = self.meta() else { return Ok(()) };\n\
                 let Some(b) = self.raft() else { return Ok(false) };\n\
                 let Some(c) = self.cluster() else { return Err(E::NoCluster) };\n\
                 a.propose_revoke(b, c)\n\
             }",
        )
        .unwrap();
        let vocabulary = Vocabulary::default();
        let facts = CrateFacts::default();
        let findings = check_file(&file, &Options::new(&vocabulary, &facts));
        assert_eq!(lines(&findings), [2]);
    }
}
