//! Shape: a delete registered to run on scope exit.
//!
//! The bug: the delete runs on every exit path, including those that decided
//! not to delete (an early return, a `?`, a cancelled `.await`) and, in a
//! function that forwards a delete proposal, before the proposal reached
//! quorum. Look-alikes that are fine: a guard that is disarmed or handed away
//! later, one that only runs while unwinding, one that only logs, unlocks or
//! counts, and RAII types outside lifecycle code.
//!
//! Three mechanisms register a delete for "whenever this scope ends": a
//! `scopeguard::guard` (or `guard_on_success`) bound to a local, a `defer!`
//! block, and a local whose type's `Drop` deletes (found crate-wide by
//! [`CrateFacts`](crate::facts::CrateFacts)). Each is reported unless the code
//! after it can switch it off (disarm, forget, an `armed` flag, handing the
//! guard away) or it only runs while unwinding.

use std::collections::{HashMap, HashSet};

use syn::visit::{self, Visit};
use syn::{Block, Expr, Ident, Local, Macro, Pat, Stmt, Type};

use crate::engine::Context;
use crate::facts::DeletingDrop;
use crate::finding::{Extent, Finding};
use crate::macro_bodies::{walk_macro, MacroBody};
use crate::syntax::{any_expr, callee_name, imports, last_segment, macro_name, peel, Import};

use super::own_subject::removal_of_subject;

/// Methods that switch a guard off (or consume it without running it).
const DISARM_METHODS: &[&str] = &[
    "disarm",
    "cancel",
    "defuse",
    "dismiss",
    "forget",
    "into_inner",
    "commit",
    "keep",
    "persist",
    "leak",
];

/// Methods that write a flag (`Cell`, atomics, `Option`, tokens).
const FLAG_WRITES: &[&str] = &[
    "set",
    "store",
    "swap",
    "replace",
    "take",
    "compare_exchange",
    "fetch_and",
    "fetch_or",
];

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let imports = if cx.facts.has_foreign() {
        imports(cx.file)
    } else {
        Vec::new()
    };
    for function in &cx.functions {
        let mut finder = Finder {
            cx,
            imports: &imports,
            subjects: parameter_names(function.sig),
            async_scopes: vec![function.sig.asyncness.is_some()],
            found: Vec::new(),
        };
        finder.visit_block(function.body);
        if finder.found.is_empty() {
            continue;
        }
        let proposal = first_proposal(cx, function.body);
        // A type that deletes on drop is ordinary RAII (FFI handles,
        // registrations) wherever it is used; it only stands for the
        // review's bug in code that manages a lifecycle. A guard's closure or
        // a `defer!` body names its delete in the function itself, so for
        // them this always holds.
        let lifecycle_code = proposal.is_some() || cx.is_lifecycle(function);
        out.extend(
            finder
                .found
                .into_iter()
                .filter(|d| lifecycle_code || !matches!(d.mechanism, Mechanism::DropValue { .. }))
                // Taking a key out of a map is ordinary cleanup, unless the
                // key is what this function asks the cluster to delete.
                .filter(|d| proposal.is_some() || !d.own_subject)
                .map(|d| d.report(proposal.clone())),
        );
    }
}

/// When the deferred code runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Always,
    OnSuccess,
}

/// How the delete was deferred.
enum Mechanism {
    /// `let g = guard(..)` / `guard_on_success(..)`.
    Guard { binding: String },
    /// `defer! { .. }` / `defer_on_success! { .. }`.
    Defer { macro_name: String },
    /// `let g = Type::new(..)` where `Type`'s `Drop` deletes.
    DropValue { binding: String, type_name: String },
}

struct Deferral {
    span: Extent,
    mechanism: Mechanism,
    strategy: Strategy,
    delete_name: String,
    /// The delete call, when we can see it (not for a `Drop` in another file).
    delete_span: Option<Extent>,
    in_async: bool,
    /// The delete is a removal of the function's subject from a map (see
    /// [`super::own_subject`]): only a bug where the function proposes.
    own_subject: bool,
}

/// A call to the consensus layer in the same function: (call name, span).
type Proposal = (String, Extent);

impl Deferral {
    fn report(self, proposal: Option<Proposal>) -> Finding {
        let delete = &self.delete_name;
        let exits = self.exit_paths();
        let mut message = match &self.mechanism {
            Mechanism::Guard { binding } => {
                format!("scope guard `{binding}` runs `{delete}` on every exit from its scope ({exits})")
            }
            Mechanism::Defer { macro_name } => {
                format!("`{macro_name}!` runs `{delete}` on every exit from its scope ({exits})")
            }
            Mechanism::DropValue { binding, type_name } => format!(
                "`{binding}` (`{type_name}`, whose `Drop` calls `{delete}`) deletes on every exit \
                 from its scope ({exits})"
            ),
        };
        match &proposal {
            Some((name, _)) => message.push_str(&format!(
                ", yet this function forwards a proposal (`{name}`) to the consensus layer: \
                 the local delete runs even when the proposal fails or before the metalayer \
                 reached quorum"
            )),
            None => message.push_str(", including the paths that should not delete"),
        }
        let help = self.help(proposal.is_some());
        let mut finding = Finding::new(&super::INFO, self.span, message, help);
        if let Some(span) = self.delete_span {
            finding = finding.with_label(span, "deleted here on every exit from the scope");
        }
        if let Some((_, span)) = proposal {
            finding = finding.with_label(
                span,
                "proposal forwarded here; the deferred delete does not wait for its outcome",
            );
        }
        finding
    }

    fn exit_paths(&self) -> String {
        let mut exits = String::from("early return, `?`");
        if self.strategy == Strategy::Always {
            exits.push_str(", panic");
        }
        if self.in_async {
            exits.push_str(", cancellation at an `.await`");
        }
        exits
    }

    fn help(&self, proposed: bool) -> String {
        let delete = &self.delete_name;
        let (disarm, unwind_only) = match &self.mechanism {
            Mechanism::Guard { binding } => (
                format!(
                    "disarm `{binding}` with `ScopeGuard::into_inner({binding})` on the paths \
                     that must not delete"
                ),
                "`guard_on_unwind`".to_string(),
            ),
            Mechanism::Defer { macro_name } => (
                format!(
                    "replace the `{macro_name}!` (it cannot be disarmed) with a named \
                     `scopeguard::guard` that the other paths disarm"
                ),
                "`defer_on_unwind!`".to_string(),
            ),
            Mechanism::DropValue { binding, .. } => (
                format!(
                    "disarm `{binding}` on the paths that must not delete (a `disarm()` method \
                     or an `armed` flag its `Drop` checks, or `mem::forget({binding})`)"
                ),
                "a `std::thread::panicking()` check in its `Drop`".to_string(),
            ),
        };
        if proposed {
            format!(
                "delete only on the path where the metalayer confirmed the delete (or on the \
                 consumer's quit signal): call `{delete}` there, and {disarm}"
            )
        } else {
            format!(
                "call `{delete}` explicitly on the paths that should delete, or {disarm}; \
                 for cleanup after a panic only, use {unwind_only}"
            )
        }
    }
}

/// The statements after a deferral in its block, and where in the block
/// each identifier is mentioned.
#[derive(Clone, Copy)]
struct Rest<'a, 'm> {
    block: &'a [Stmt],
    /// The index in `block` of the first statement after the deferral.
    start: usize,
    stmts: &'a [Stmt],
    mentions: &'m HashMap<String, Vec<usize>>,
}

/// For each identifier in a block's statements (macro bodies included), the
/// indices of the statements that hold it, in order.
fn mentions_by_ident(stmts: &[Stmt]) -> HashMap<String, Vec<usize>> {
    fn collect(
        tokens: proc_macro2::TokenStream,
        at: usize,
        mentions: &mut HashMap<String, Vec<usize>>,
    ) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    let statements = mentions.entry(ident.to_string()).or_default();
                    if statements.last() != Some(&at) {
                        statements.push(at);
                    }
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), at, mentions),
                _ => {}
            }
        }
    }
    let mut mentions = HashMap::new();
    for (at, stmt) in stmts.iter().enumerate() {
        collect(quote::ToTokens::to_token_stream(stmt), at, &mut mentions);
    }
    mentions
}

/// Walks one function body (closures, async blocks and macro bodies
/// included, nested items excluded) and collects its deferrals.
struct Finder<'c, 'a> {
    cx: &'c Context<'a>,
    /// The file's imports from other crates, when the workspace has deleting
    /// types in other members (see [`crate::facts`]).
    imports: &'c [Import],
    /// The function's parameters: what its proposal is about.
    subjects: HashSet<String>,
    /// Whether each enclosing scope is async (the function, async blocks, closures).
    async_scopes: Vec<bool>,
    found: Vec<Deferral>,
}

impl<'a> Visit<'a> for Finder<'_, 'a> {
    fn visit_block(&mut self, block: &'a Block) {
        self.scan(&block.stmts);
        visit::visit_block(self, block);
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        if let Some(MacroBody::Stmts(stmts)) = self.cx.bodies.get(mac) {
            self.scan(stmts);
        }
        walk_macro(self, self.cx.bodies, mac);
    }

    fn visit_expr_async(&mut self, e: &'a syn::ExprAsync) {
        self.async_scopes.push(true);
        visit::visit_expr_async(self, e);
        self.async_scopes.pop();
    }

    fn visit_expr_closure(&mut self, e: &'a syn::ExprClosure) {
        self.async_scopes.push(e.asyncness.is_some());
        visit::visit_expr_closure(self, e);
        self.async_scopes.pop();
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

impl<'c, 'a> Finder<'c, 'a> {
    /// Looks at each statement of a block with the statements that follow it.
    fn scan(&mut self, stmts: &'a [Stmt]) {
        let mentions = mentions_by_ident(stmts);
        for (i, stmt) in stmts.iter().enumerate() {
            let rest = Rest {
                block: stmts,
                start: i + 1,
                stmts: &stmts[i + 1..],
                mentions: &mentions,
            };
            // Last in its block, it runs right away: nothing is deferred past anything.
            if rest.stmts.is_empty() {
                continue;
            }
            let deferral = match stmt {
                Stmt::Local(local) => self.local_deferral(local, rest),
                Stmt::Macro(m) => self.defer_macro(&m.mac, rest),
                Stmt::Expr(Expr::Macro(m), _) => self.defer_macro(&m.mac, rest),
                _ => None,
            };
            self.found.extend(deferral);
        }
    }

    fn in_async(&self) -> bool {
        self.async_scopes.last().copied().unwrap_or(false)
    }

    /// `let g = guard(..)` or `let g = DeletingType::new(..)`.
    fn local_deferral(&self, local: &'a Local, rest: Rest<'a, '_>) -> Option<Deferral> {
        let init = local.init.as_ref().filter(|init| init.diverge.is_none())?;
        // `let _ = ..` drops the value at once; patterns other than a plain
        // name are not how guards are held.
        let (binding, annotated) = binding(&local.pat)?;
        let expr = peel(&init.expr);
        let deferral = if let Some((strategy, value, handler)) = scope_guard_call(expr) {
            let sites = delete_sites(self.cx, &self.subjects, value, handler);
            let deletes = self.delete_left_armed(&sites, rest)?;
            Deferral {
                span: Extent::of(expr),
                mechanism: Mechanism::Guard {
                    binding: binding.to_string(),
                },
                strategy,
                delete_name: deletes.name.clone(),
                delete_span: Some(deletes.span),
                in_async: self.in_async(),
                own_subject: deletes.own_subject,
            }
        } else {
            let (type_name, drop) = self.deleting_drop_type(expr, annotated)?;
            Deferral {
                span: Extent::of(expr),
                mechanism: Mechanism::DropValue {
                    binding: binding.to_string(),
                    type_name,
                },
                strategy: Strategy::Always,
                delete_name: drop.delete_call.clone(),
                delete_span: None,
                in_async: self.in_async(),
                own_subject: false,
            }
        };
        let later = LaterUse::scan(self.cx, rest, Some(binding), &[]);
        (!later.guard_disarmed && !later.guard_moved).then_some(deferral)
    }

    /// `defer! { .. }` whose body deletes.
    fn defer_macro(&self, mac: &'a Macro, rest: Rest<'a, '_>) -> Option<Deferral> {
        let name = macro_name(mac);
        let strategy = match name.as_str() {
            "defer" => Strategy::Always,
            "defer_on_success" => Strategy::OnSuccess,
            _ => return None, // `defer_on_unwind!` and everything else
        };
        let Some(MacroBody::Stmts(stmts)) = self.cx.bodies.get(mac) else {
            return None;
        };
        let sites = SiteFinder::collect(self.cx, &self.subjects, |f| {
            stmts.iter().for_each(|s| f.visit_stmt(s))
        });
        let deletes = self.delete_left_armed(&sites, rest)?;
        Some(Deferral {
            span: Extent::of(mac),
            mechanism: Mechanism::Defer { macro_name: name },
            strategy,
            delete_name: deletes.name.clone(),
            delete_span: Some(deletes.span),
            in_async: self.in_async(),
            own_subject: deletes.own_subject,
        })
    }

    /// The delete that will run on scope exit, unless every delete only runs
    /// while panicking or behind a flag that a later statement clears.
    fn delete_left_armed<'s>(
        &self,
        sites: &'s [DeleteSite<'a>],
        rest: Rest<'a, '_>,
    ) -> Option<&'s DeleteSite<'a>> {
        if sites.is_empty() || sites.iter().all(DeleteSite::only_while_panicking) {
            return None;
        }
        let flags: Vec<String> = sites.iter().flat_map(|s| s.flags.iter().cloned()).collect();
        if !flags.is_empty() {
            let later = LaterUse::scan(self.cx, rest, None, &flags);
            if sites
                .iter()
                .all(|s| s.flags.iter().any(|f| later.flags_written.contains(f)))
            {
                return None;
            }
        }
        // A delete proper says more than a map removal.
        sites.iter().find(|s| !s.own_subject).or(sites.first())
    }

    /// The type of a local whose `Drop` deletes, by constructor, struct
    /// literal or annotation.
    fn deleting_drop_type(
        &self,
        expr: &Expr,
        annotated: Option<&Type>,
    ) -> Option<(String, &'c DeletingDrop)> {
        let (named_type, qualifier) = annotated
            .and_then(|ty| match ty {
                Type::Path(p) => {
                    let n = p.path.segments.len();
                    let qualifier = (n > 1).then(|| p.path.segments[0].ident.to_string());
                    Some((last_segment(&p.path)?, qualifier))
                }
                _ => None,
            })
            .or_else(|| constructed_type(expr))?;
        if let Some(drop) = self.cx.facts.deleting_drop(&named_type) {
            return Some((named_type, drop));
        }
        // A type of another member of the workspace, named through its crate.
        if !self.cx.facts.has_foreign() {
            return None;
        }
        if let Some(krate) = qualifier {
            let drop = self.cx.facts.foreign_deleting_drop(&named_type, &krate)?;
            return Some((named_type, drop));
        }
        self.imports.iter().find_map(|import| {
            let name = match import.name.as_str() {
                "*" => &named_type,
                _ if import.local == named_type => &import.name,
                _ => return None,
            };
            let drop = self.cx.facts.foreign_deleting_drop(name, &import.krate)?;
            Some((name.clone(), drop))
        })
    }
}

/// `let name = ..` or `let name: Type = ..` (with `mut`, without `ref`).
fn binding(pat: &Pat) -> Option<(&Ident, Option<&Type>)> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some((&p.ident, None)),
        Pat::Type(t) => {
            let (ident, _) = binding(&t.pat)?;
            Some((ident, Some(&t.ty)))
        }
        _ => None,
    }
}

/// `guard(value, handler)` or `guard_on_success(value, handler)`: the
/// strategy, the value and the handler. `guard_on_unwind` only runs while panicking.
fn scope_guard_call(expr: &Expr) -> Option<(Strategy, &Expr, &Expr)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let strategy = match last_segment(&func.path)?.as_str() {
        "guard" => Strategy::Always,
        "guard_on_success" => Strategy::OnSuccess,
        _ => return None,
    };
    match call.args.len() {
        2 => Some((strategy, &call.args[0], &call.args[1])),
        _ => None,
    }
}

/// The type a constructor expression builds: `Type::new(..)`,
/// `path::Type::open(..)`, `Type { .. }`, `Type(..)`. Not `Self`, whose
/// constructors live in the type's own impl. With the type's name, the first
/// segment of a longer path (`guards` in `guards::Guard::new(..)`).
fn constructed_type(expr: &Expr) -> Option<(String, Option<String>)> {
    let qualifier = |path: &syn::Path, type_at: usize| {
        (type_at > 0).then(|| path.segments[0].ident.to_string())
    };
    let (name, qualifier) = match expr {
        Expr::Call(call) => {
            let Expr::Path(func) = &*call.func else {
                return None;
            };
            let segments = &func.path.segments;
            match segments.len() {
                0 => return None,
                1 => {
                    let name = segments[0].ident.to_string();
                    // A tuple-struct constructor, not a function call.
                    let name = name
                        .starts_with(|c: char| c.is_ascii_uppercase())
                        .then_some(name)?;
                    (name, None)
                }
                n => (
                    segments[n - 2].ident.to_string(),
                    qualifier(&func.path, n - 2),
                ),
            }
        }
        Expr::Struct(s) => (
            last_segment(&s.path)?,
            qualifier(&s.path, s.path.segments.len().saturating_sub(1)),
        ),
        _ => return None,
    };
    (name != "Self").then_some((name, qualifier))
}

/// A delete-like call inside deferred code, with the conditions it runs under.
struct DeleteSite<'a> {
    name: String,
    span: Extent,
    /// The enclosing `if`/`match` conditions, for the unwind-only check.
    conditions: Vec<&'a Expr>,
    /// Local names those conditions read: a flag the function may clear later.
    flags: Vec<String>,
    /// `registry.remove(&id)` of a parameter `id`, not a delete-like call.
    own_subject: bool,
}

impl DeleteSite<'_> {
    /// `if std::thread::panicking() { c.delete() }`: the manual `guard_on_unwind`.
    fn only_while_panicking(&self) -> bool {
        self.conditions.iter().any(|c| {
            matches!(peel(c), Expr::Call(call)
                if matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some("panicking")))
        })
    }
}

/// The delete sites of a guard's handler: a closure body or a function path
/// (`guard(c, Consumer::delete)`).
fn delete_sites<'a>(
    cx: &Context<'a>,
    subjects: &HashSet<String>,
    value: &Expr,
    handler: &'a Expr,
) -> Vec<DeleteSite<'a>> {
    match handler {
        Expr::Closure(closure) => {
            let params: HashSet<String> = closure.inputs.iter().flat_map(pat_names).collect();
            // A subject handed to the guard (`guard(id.clone(), |id| ..)`)
            // is one inside the closure too.
            let value_is_subject = local_names(value).iter().any(|n| subjects.contains(n));
            let mut subjects = subjects.clone();
            if value_is_subject {
                subjects.extend(params.iter().cloned());
            }
            let mut sites = SiteFinder::collect(cx, &subjects, |f| f.visit_expr(&closure.body));
            for site in &mut sites {
                site.flags.retain(|f| !params.contains(f));
            }
            sites
        }
        Expr::Path(p) => match last_segment(&p.path) {
            Some(name) if cx.vocabulary.is_delete(&name) => vec![DeleteSite {
                name,
                span: Extent::of(handler),
                conditions: Vec::new(),
                flags: Vec::new(),
                own_subject: false,
            }],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The names a function's parameters bind (not `self`).
fn parameter_names(sig: &syn::Signature) -> HashSet<String> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(t) => Some(pat_names(&t.pat)),
            syn::FnArg::Receiver(_) => None,
        })
        .flatten()
        .collect()
}

fn pat_names(pat: &Pat) -> Vec<String> {
    struct Names(Vec<String>);
    impl Visit<'_> for Names {
        fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
            self.0.push(p.ident.to_string());
            visit::visit_pat_ident(self, p);
        }
    }
    let mut names = Names(Vec::new());
    names.visit_pat(pat);
    names.0
}

/// Finds delete-like calls in deferred code and the conditions around them.
struct SiteFinder<'c, 'a> {
    cx: &'c Context<'a>,
    subjects: &'c HashSet<String>,
    conditions: Vec<&'a Expr>,
    sites: Vec<DeleteSite<'a>>,
}

impl<'c, 'a> SiteFinder<'c, 'a> {
    fn collect(
        cx: &'c Context<'a>,
        subjects: &'c HashSet<String>,
        walk: impl FnOnce(&mut Self),
    ) -> Vec<DeleteSite<'a>> {
        let mut finder = SiteFinder {
            cx,
            subjects,
            conditions: Vec::new(),
            sites: Vec::new(),
        };
        walk(&mut finder);
        finder.sites
    }

    fn under(&mut self, condition: &'a Expr, walk: impl FnOnce(&mut Self)) {
        self.conditions.push(condition);
        walk(self);
        self.conditions.pop();
    }
}

impl<'a> Visit<'a> for SiteFinder<'_, 'a> {
    fn visit_expr(&mut self, e: &'a Expr) {
        let delete = callee_name(e)
            .filter(|n| self.cx.vocabulary.is_delete(n))
            .map(|n| (n, false))
            .or_else(|| removal_of_subject(e, self.subjects).map(|n| (n, true)));
        if let Some((name, own_subject)) = delete {
            let flags = self
                .conditions
                .iter()
                .flat_map(|c| local_names(c))
                .collect();
            self.sites.push(DeleteSite {
                name,
                span: Extent::of(e),
                conditions: self.conditions.clone(),
                flags,
                own_subject,
            });
        }
        visit::visit_expr(self, e);
    }

    fn visit_expr_if(&mut self, e: &'a syn::ExprIf) {
        self.visit_expr(&e.cond);
        self.under(&e.cond, |f| {
            f.visit_block(&e.then_branch);
            if let Some((_, otherwise)) = &e.else_branch {
                f.visit_expr(otherwise);
            }
        });
    }

    fn visit_expr_match(&mut self, e: &'a syn::ExprMatch) {
        self.visit_expr(&e.expr);
        self.under(&e.expr, |f| {
            for arm in &e.arms {
                match &arm.guard {
                    Some((_, guard)) => f.under(guard, |f| f.visit_expr(&arm.body)),
                    None => f.visit_expr(&arm.body),
                }
            }
        });
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        walk_macro(self, self.cx.bodies, mac);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Single-segment names an expression reads (`armed`, `self`, `done`).
fn local_names(expr: &Expr) -> Vec<String> {
    struct Names(Vec<String>);
    impl Visit<'_> for Names {
        fn visit_expr_path(&mut self, p: &syn::ExprPath) {
            if let Some(ident) = p.path.get_ident() {
                self.0.push(ident.to_string());
            }
        }
    }
    let mut names = Names(Vec::new());
    names.visit_expr(expr);
    names.0
}

/// What the statements after a deferral do with its guard and flags.
struct LaterUse<'n> {
    guard: Option<&'n Ident>,
    flags: &'n [String],
    guard_disarmed: bool,
    /// Returned, stored, passed by value or moved into a `move` closure:
    /// no longer a local deferral.
    guard_moved: bool,
    flags_written: HashSet<String>,
}

impl<'n> LaterUse<'n> {
    /// How the statements after a deferral use its guard and flags. Only
    /// statements that mention one of those names are looked at, and a
    /// `let` that shadows the guard's name ends the guard's reach (after it
    /// the name means the new binding), so a block of many guards costs
    /// about one pass, not one per guard.
    fn scan<'a>(
        cx: &Context<'a>,
        rest: Rest<'a, '_>,
        guard: Option<&'n Ident>,
        flags: &'n [String],
    ) -> LaterUse<'n> {
        let mut scan = LaterUseScan {
            bodies: cx.bodies,
            use_: LaterUse {
                guard,
                flags,
                guard_disarmed: false,
                guard_moved: false,
                flags_written: HashSet::new(),
            },
        };
        let after = |name: &String| {
            let at = rest.mentions.get(name).map_or(&[][..], Vec::as_slice);
            &at[at.partition_point(|&i| i < rest.start)..]
        };
        let names: Vec<String> = guard
            .map(Ident::to_string)
            .into_iter()
            .chain(flags.iter().cloned())
            .collect();
        // One name, the usual case, is walked in place and in order, so a
        // shadowing `let` stops it early.
        let merged: Vec<usize>;
        let relevant: &[usize] = match names.as_slice() {
            [one] => after(one),
            _ => {
                let mut all: Vec<usize> = names.iter().flat_map(|n| after(n).to_vec()).collect();
                all.sort_unstable();
                all.dedup();
                merged = all;
                &merged
            }
        };
        let mut shadowed = false;
        for stmt in relevant.iter().map(|&i| &rest.block[i]) {
            scan.visit_stmt(stmt);
            if let (Stmt::Local(local), Some(guard)) = (stmt, guard) {
                if binding(&local.pat).is_some_and(|(name, _)| name == guard) {
                    shadowed = true;
                    break;
                }
            }
        }
        // The block's tail expression hands the guard to the caller.
        if let (Some(Stmt::Expr(tail, None)), false) = (rest.stmts.last(), shadowed) {
            scan.use_.guard_moved |= scan.use_.is_guard(tail);
        }
        scan.use_
    }

    fn is_guard(&self, expr: &Expr) -> bool {
        self.guard.is_some_and(|g| is_name(expr, g))
    }

    fn note_write(&mut self, target: &Expr) {
        if let Some(root) = root_name(target) {
            if self.flags.iter().any(|f| root == f) {
                self.flags_written.insert(root.to_string());
            }
        }
    }
}

struct LaterUseScan<'a, 'n> {
    bodies: &'a crate::macro_bodies::MacroBodies,
    use_: LaterUse<'n>,
}

impl<'a> Visit<'a> for LaterUseScan<'a, '_> {
    fn visit_expr(&mut self, e: &'a Expr) {
        let u = &mut self.use_;
        match e {
            Expr::Call(call) => {
                let func = match &*call.func {
                    Expr::Path(p) => last_segment(&p.path),
                    _ => None,
                };
                if call.args.iter().any(|a| u.is_guard(a)) {
                    match func.as_deref() {
                        // `ScopeGuard::into_inner(g)`, `mem::forget(g)`.
                        Some("into_inner" | "forget" | "leak") => u.guard_disarmed = true,
                        // `drop(g)` runs the delete now, on this path only:
                        // the paths that leave earlier still delete.
                        Some("drop") => {}
                        _ => u.guard_moved = true,
                    }
                }
            }
            Expr::MethodCall(call) => {
                let method = call.method.to_string();
                if u.is_guard(&call.receiver) && DISARM_METHODS.contains(&method.as_str()) {
                    u.guard_disarmed = true;
                }
                // `g.consumer.take()`: the value the `Drop` would delete is gone.
                if method == "take" && field_of_guard(u, &call.receiver) {
                    u.guard_disarmed = true;
                }
                if call.args.iter().any(|a| u.is_guard(a)) {
                    u.guard_moved = true;
                }
                if FLAG_WRITES.contains(&method.as_str())
                    || DISARM_METHODS.contains(&method.as_str())
                {
                    u.note_write(&call.receiver);
                }
            }
            Expr::Assign(assign) => {
                // `g.armed = false`, `*g = false`, `g.consumer = None`.
                let on_guard = field_of_guard(u, &assign.left)
                    || matches!(&*assign.left, Expr::Unary(d) if u.is_guard(&d.expr));
                if on_guard && is_off_value(&assign.right) {
                    u.guard_disarmed = true;
                }
                if u.is_guard(&assign.right) {
                    u.guard_moved = true;
                }
                u.note_write(&assign.left);
            }
            Expr::Return(ret) => {
                u.guard_moved |= ret.expr.as_deref().is_some_and(|r| u.is_guard(r));
            }
            Expr::Struct(s) => {
                u.guard_moved |= s.fields.iter().any(|f| u.is_guard(&f.expr));
            }
            Expr::Tuple(t) => u.guard_moved |= t.elems.iter().any(|x| u.is_guard(x)),
            Expr::Array(a) => u.guard_moved |= a.elems.iter().any(|x| u.is_guard(x)),
            Expr::Closure(c) if c.capture.is_some() => {
                u.guard_moved |= mentions_guard(u, &c.body, self.bodies);
            }
            Expr::Async(a) if a.capture.is_some() => {
                u.guard_moved |= u
                    .guard
                    .is_some_and(|g| any_expr(&a.block, self.bodies, |x| is_name(x, g)));
            }
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        walk_macro(self, self.bodies, mac);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn mentions_guard<'a>(
    u: &LaterUse<'_>,
    expr: &'a Expr,
    bodies: &'a crate::macro_bodies::MacroBodies,
) -> bool {
    u.guard
        .is_some_and(|g| any_expr(expr, bodies, |x| is_name(x, g)))
}

/// `g.field` (any depth of fields) for the guard `g`.
fn field_of_guard(u: &LaterUse<'_>, expr: &Expr) -> bool {
    match expr {
        Expr::Field(f) => u.is_guard(&f.base) || field_of_guard(u, &f.base),
        _ => false,
    }
}

/// `false`, `true` or `None`: the values a flag or an `Option` slot is switched with.
fn is_off_value(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(lit) => matches!(lit.lit, syn::Lit::Bool(_)),
        Expr::Path(p) => p.path.is_ident("None"),
        _ => false,
    }
}

/// The local a place expression writes into: `armed`, `*armed`, `state.armed`.
fn root_name(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(p) => p.path.get_ident(),
        Expr::Field(f) => root_name(&f.base),
        Expr::Unary(u) => root_name(&u.expr),
        Expr::Paren(p) => root_name(&p.expr),
        Expr::Reference(r) => root_name(&r.expr),
        _ => None,
    }
}

fn is_name(expr: &Expr, name: &Ident) -> bool {
    match expr {
        Expr::Path(p) => p.qself.is_none() && p.path.is_ident(name),
        Expr::Paren(p) => is_name(&p.expr, name),
        _ => false,
    }
}

/// The first call in `body` that forwards a proposal to the consensus layer.
fn first_proposal<'a>(cx: &Context<'a>, body: &'a Block) -> Option<Proposal> {
    let mut proposal = None;
    any_expr(body, cx.bodies, |e| match callee_name(e) {
        Some(name) if cx.vocabulary.is_propose(&name) => {
            proposal = Some((name, Extent::of(e)));
            true
        }
        _ => false,
    });
    proposal
}

#[cfg(test)]
mod tests {
    use crate::{check_file, CrateFacts, Options, Vocabulary};

    fn messages(src: &str) -> Vec<String> {
        let file: syn::File = syn::parse_str(src).unwrap();
        let vocabulary = Vocabulary::default();
        let facts = CrateFacts::collect([&file], &vocabulary);
        check_file(&file, &Options::new(&vocabulary, &facts))
            .into_iter()
            .filter(|f| f.rule.id == "deferred_delete")
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn let_underscore_runs_at_once_but_an_underscore_name_defers() {
        let now = "fn f(c: Consumer) { let _ = guard(c, |c| c.delete()); step()?; }";
        assert!(messages(now).is_empty());
        let later = "fn f(c: Consumer) { let _g = guard(c, |c| c.delete()); step()?; }";
        assert_eq!(messages(later).len(), 1);
    }

    #[test]
    fn a_flag_cleared_later_disarms_only_if_every_delete_reads_it() {
        let gated = "fn f(c: &Consumer) {
            let armed = Cell::new(true);
            defer! { if armed.get() { c.delete(); } }
            propose(c)?;
            armed.set(false);
        }";
        assert!(messages(gated).is_empty());
        let partly = "fn f(c: &Consumer) {
            let armed = Cell::new(true);
            defer! { if armed.get() { c.delete(); } c.purge_backlog(); }
            propose(c)?;
            armed.set(false);
        }";
        assert_eq!(messages(partly).len(), 1);
        // Nobody clears it: the delete runs whenever the consumer is active.
        let never =
            "fn f(c: &Consumer) { let _g = guard(c, |c| if c.is_active() { c.delete() }); go()?; }";
        assert_eq!(messages(never).len(), 1);
    }

    #[test]
    fn the_message_names_the_proposal_when_there_is_one() {
        let src = "async fn f(c: Arc<Consumer>) -> Result<()> {
            let _g = scopeguard::guard(c.clone(), |c| c.delete());
            meta.forward_proposal(c.key()).await?;
            Ok(())
        }";
        let found = messages(src);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("forward_proposal"), "{}", found[0]);
        assert!(found[0].contains("`.await`"), "{}", found[0]);
    }
}
