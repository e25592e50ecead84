//! What the shapes share: the silent returns of a scope, each with the
//! guard that takes it, the branch it ends, and where it sits (the enclosing
//! blocks and loops), so a shape can ask what the return jumps over.

use std::collections::HashSet;

use syn::visit::Visit;
use syn::{Block, Expr, ExprReturn, Local, Macro, Pat, Stmt};

use crate::engine::Context;
use crate::finding::{Applicability, Edit, Fix};
use crate::macro_bodies::{walk_macro, MacroBody};
use crate::syntax::{last_segment, macro_name, snake_case};

/// `return;`, `return ()` or `return Ok(())`: nothing for the caller to act on.
pub fn is_silent(ret: &ExprReturn) -> bool {
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

/// What decides that the branch is taken.
#[derive(Clone, Copy)]
pub enum Guard<'a> {
    /// `if cond { .. return }`: the condition.
    If(&'a Expr),
    /// `let PAT = init else { .. return }`, `if let PAT = e {} else { return }`:
    /// the value that did not match.
    Refuted(&'a Expr, &'a Pat),
    /// `if let PAT = e { .. return }`: the value that matched.
    Matched(&'a Expr, &'a Pat),
    /// A `match` arm ending in the return: the scrutinee and the arm's pattern.
    Arm(&'a Expr, &'a Pat),
}

impl<'a> Guard<'a> {
    pub fn expr(self) -> &'a Expr {
        match self {
            Guard::If(e) | Guard::Refuted(e, _) | Guard::Matched(e, _) | Guard::Arm(e, _) => e,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoopKind {
    For,
    WhileLet,
    While,
    Loop,
}

/// One level of nesting between the scope and the return.
#[derive(Clone)]
pub enum Frame<'a> {
    /// A block; `index` is the statement being walked.
    Block { stmts: &'a [Stmt], index: usize },
    Loop {
        expr: &'a Expr,
        kind: LoopKind,
        label: Option<String>,
        /// Names the loop's pattern binds (the item).
        bound: Vec<String>,
        /// What a `for` iterates or a `while let` matches.
        source: Option<&'a Expr>,
    },
}

/// A silent `return` that ends a branch taken by a guard.
pub struct SilentExit<'a> {
    pub ret: &'a ExprReturn,
    pub guard: Guard<'a>,
    /// The branch's statements before the return.
    pub branch: &'a [Stmt],
    /// Outermost first: every block and loop from the scope down to the
    /// statement that holds the guard.
    pub frames: Vec<Frame<'a>>,
}

impl<'a> SilentExit<'a> {
    /// The loops around the return, innermost first, with their positions in `frames`.
    pub fn loops(&self) -> impl Iterator<Item = (usize, &Frame<'a>)> {
        self.frames
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, f)| matches!(f, Frame::Loop { .. }))
    }

    /// The statements that run after the frame at `position` completes, in
    /// the enclosing blocks up to the scope, innermost first.
    pub fn after(&self, position: usize) -> Vec<&'a [Stmt]> {
        self.frames[..position]
            .iter()
            .rev()
            .filter_map(|f| match f {
                Frame::Block { stmts, index } => Some(&stmts[index + 1..]),
                Frame::Loop { .. } => None,
            })
            .collect()
    }

    /// The statements that run after the guard's statement, up to the scope.
    pub fn after_guard(&self) -> Vec<&'a [Stmt]> {
        self.after(self.frames.len())
    }

    /// The current item of the loop at `position` and what the loop body
    /// derived from it before the guard: the names its pattern binds, then
    /// each `let` whose value mentions one of those. A counter loop
    /// (`for _ in 0..n`) has no item.
    pub fn item_names(&self, cx: &Context<'a>, position: usize) -> HashSet<String> {
        let mut names = HashSet::new();
        if let Frame::Loop { bound, .. } = &self.frames[position] {
            names.extend(bound.iter().cloned());
        }
        if names.is_empty() {
            return names;
        }
        for frame in &self.frames[position + 1..] {
            if let Frame::Block { stmts, index } = frame {
                // The guard's own `let` binds only where it did not return.
                for stmt in &stmts[..*index] {
                    if let Stmt::Local(local) = stmt {
                        let derived = local.init.as_ref().is_some_and(|init| {
                            idents(cx, &init.expr).iter().any(|i| names.contains(i))
                        });
                        if derived {
                            pattern_names(&local.pat, &mut names);
                        }
                    }
                }
            }
        }
        names
    }
}

/// A body to walk on its own: a function's, an async block's, a closure's.
/// A `return` inside leaves it, not what encloses it.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub body: ScopeBody<'a>,
    /// An async block or a closure (not the function's own body).
    pub nested: bool,
}

#[derive(Clone, Copy)]
pub enum ScopeBody<'a> {
    Block(&'a Block),
    Expr(&'a Expr),
}

/// The silent exits of one scope, and the scopes nested in it.
pub fn exits<'a>(cx: &Context<'a>, scope: Scope<'a>) -> (Vec<SilentExit<'a>>, Vec<Scope<'a>>) {
    let mut walker = ExitWalker {
        cx,
        frames: Vec::new(),
        found: Vec::new(),
        nested: Vec::new(),
    };
    match scope.body {
        ScopeBody::Block(block) => walker.visit_block(block),
        ScopeBody::Expr(expr) => walker.visit_expr(expr),
    }
    (walker.found, walker.nested)
}

/// Every scope of a function: its body, then each async block and closure
/// in it, outermost first.
pub fn all_exits<'a>(cx: &Context<'a>, body: &'a Block) -> Vec<(Scope<'a>, Vec<SilentExit<'a>>)> {
    let mut out = Vec::new();
    let mut pending = vec![Scope {
        body: ScopeBody::Block(body),
        nested: false,
    }];
    while let Some(scope) = pending.pop() {
        let (found, nested) = exits(cx, scope);
        pending.extend(nested);
        out.push((scope, found));
    }
    out
}

struct ExitWalker<'c, 'a> {
    cx: &'c Context<'a>,
    frames: Vec<Frame<'a>>,
    found: Vec<SilentExit<'a>>,
    nested: Vec<Scope<'a>>,
}

impl<'a> ExitWalker<'_, 'a> {
    fn branch(&mut self, guard: Guard<'a>, exit: &'a Expr) {
        if let Some((ret, branch)) = silent_end(exit) {
            self.found.push(SilentExit {
                ret,
                guard,
                branch,
                frames: self.frames.clone(),
            });
        }
    }

    fn block_branch(&mut self, guard: Guard<'a>, block: &'a Block) {
        if let Some((ret, branch)) = silent_end_of_block(block) {
            self.found.push(SilentExit {
                ret,
                guard,
                branch,
                frames: self.frames.clone(),
            });
        }
    }

    fn enter_loop(&mut self, expr: &'a Expr) {
        let (kind, label, pat, source) = match expr {
            Expr::ForLoop(f) => (LoopKind::For, &f.label, Some(&*f.pat), Some(&*f.expr)),
            Expr::While(w) => match &*w.cond {
                Expr::Let(l) => (LoopKind::WhileLet, &w.label, Some(&*l.pat), Some(&*l.expr)),
                _ => (LoopKind::While, &w.label, None, None),
            },
            Expr::Loop(l) => (LoopKind::Loop, &l.label, None, None),
            _ => return,
        };
        let mut bound = HashSet::new();
        if let Some(pat) = pat {
            pattern_names(pat, &mut bound);
        }
        self.frames.push(Frame::Loop {
            expr,
            kind,
            label: label.as_ref().map(|l| l.name.ident.to_string()),
            bound: bound.into_iter().collect(),
            source,
        });
        match expr {
            Expr::ForLoop(f) => {
                self.visit_expr(&f.expr);
                self.visit_block(&f.body);
            }
            Expr::While(w) => {
                self.visit_expr(&w.cond);
                self.visit_block(&w.body);
            }
            Expr::Loop(l) => self.visit_block(&l.body),
            _ => {}
        }
        self.frames.pop();
    }
}

impl<'a> Visit<'a> for ExitWalker<'_, 'a> {
    fn visit_block(&mut self, block: &'a Block) {
        self.frames.push(Frame::Block {
            stmts: &block.stmts,
            index: 0,
        });
        for (i, stmt) in block.stmts.iter().enumerate() {
            if let Some(Frame::Block { index, .. }) = self.frames.last_mut() {
                *index = i;
            }
            self.visit_stmt(stmt);
        }
        self.frames.pop();
    }

    fn visit_local(&mut self, local: &'a Local) {
        if let Some(init) = &local.init {
            if let Some((_, diverge)) = &init.diverge {
                self.branch(Guard::Refuted(&init.expr, &local.pat), diverge);
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Closure(closure) => self.nested.push(Scope {
                body: ScopeBody::Expr(&closure.body),
                nested: true,
            }),
            Expr::Async(block) => self.nested.push(Scope {
                body: ScopeBody::Block(&block.block),
                nested: true,
            }),
            Expr::Const(_) => {}
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => self.enter_loop(expr),
            Expr::If(expr_if) => {
                match &*expr_if.cond {
                    Expr::Let(let_expr) => {
                        self.block_branch(
                            Guard::Matched(&let_expr.expr, &let_expr.pat),
                            &expr_if.then_branch,
                        );
                        if let Some((_, else_branch)) = &expr_if.else_branch {
                            if !matches!(&**else_branch, Expr::If(_)) {
                                self.branch(
                                    Guard::Refuted(&let_expr.expr, &let_expr.pat),
                                    else_branch,
                                );
                            }
                        }
                    }
                    cond => self.block_branch(Guard::If(cond), &expr_if.then_branch),
                }
                syn::visit::visit_expr_if(self, expr_if);
            }
            Expr::Match(expr_match) => {
                for arm in &expr_match.arms {
                    if arm.guard.is_none() {
                        self.branch(Guard::Arm(&expr_match.expr, &arm.pat), &arm.body);
                    }
                }
                syn::visit::visit_expr_match(self, expr_match);
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}

    fn visit_macro(&mut self, mac: &'a Macro) {
        let bodies = self.cx.bodies;
        if let Some(MacroBody::Select(select)) = bodies.get(mac) {
            // `select!` handlers are the scope's own code, not closures.
            for branch in &select.branches {
                branch.future.iter().for_each(|e| self.visit_expr(e));
                branch.guard.iter().for_each(|e| self.visit_expr(e));
                self.visit_expr(&branch.handler);
            }
        } else {
            walk_macro(self, bodies, mac);
        }
    }
}

/// If `exit` ends in a silent `return`, that return and the statements
/// before it in the branch.
pub fn silent_end(exit: &Expr) -> Option<(&ExprReturn, &[Stmt])> {
    match exit {
        Expr::Return(ret) => is_silent(ret).then_some((ret, &[][..])),
        Expr::Block(block) => silent_end_of_block(&block.block),
        Expr::Paren(paren) => silent_end(&paren.expr),
        _ => None,
    }
}

pub fn silent_end_of_block(block: &Block) -> Option<(&ExprReturn, &[Stmt])> {
    let (last, before) = block.stmts.split_last()?;
    match last {
        Stmt::Expr(Expr::Return(ret), _) if is_silent(ret) => Some((ret, before)),
        Stmt::Expr(Expr::Block(inner), _) if before.is_empty() => silent_end_of_block(&inner.block),
        _ => None,
    }
}

/// The names a pattern binds.
pub fn pattern_names(pat: &Pat, names: &mut HashSet<String>) {
    struct Names<'n>(&'n mut HashSet<String>);
    impl<'a> Visit<'a> for Names<'_> {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            let name = p.ident.to_string();
            if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
                self.0.insert(name);
            }
            syn::visit::visit_pat_ident(self, p);
        }
    }
    Names(names).visit_pat(pat);
}

/// Every identifier in an expression (variables, fields, methods), macros included.
pub fn idents<'a>(cx: &Context<'a>, expr: &'a Expr) -> HashSet<String> {
    struct Idents<'c, 'a> {
        cx: &'c Context<'a>,
        out: HashSet<String>,
    }
    impl<'a> Visit<'a> for Idents<'_, 'a> {
        fn visit_ident(&mut self, ident: &'a syn::Ident) {
            self.out.insert(ident.to_string());
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.cx.bodies, mac);
        }
    }
    let mut visitor = Idents {
        cx,
        out: HashSet::new(),
    };
    visitor.visit_expr(expr);
    visitor.out
}

/// A call seen in some code: its name and where it is.
pub struct Call<'a> {
    pub name: String,
    pub expr: &'a Expr,
}

/// Every method and function call in `stmts` (macros and closures included,
/// not async blocks), and whether any of it logs.
pub fn calls<'a>(cx: &Context<'a>, stmts: &'a [Stmt]) -> (Vec<Call<'a>>, bool) {
    struct Calls<'c, 'a> {
        cx: &'c Context<'a>,
        out: Vec<Call<'a>>,
        logs: bool,
    }
    impl<'a> Visit<'a> for Calls<'_, 'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::MethodCall(call) if !call.method.to_string().starts_with("spawn") => {
                    self.out.push(Call {
                        name: call.method.to_string(),
                        expr,
                    })
                }
                Expr::Call(call) => {
                    if let Expr::Path(path) = &*call.func {
                        if let Some(name) = last_segment(&path.path) {
                            self.out.push(Call { name, expr });
                        }
                    }
                }
                _ => {}
            }
            // What a spawned thread or task runs is not this code's.
            if let Some(name) = crate::syntax::callee_name(expr) {
                if name.starts_with("spawn") {
                    self.out.push(Call { name, expr });
                    return;
                }
            }
            // An async block runs later, elsewhere (a spawned task): its
            // calls are not this code's.
            if !matches!(expr, Expr::Async(_)) {
                syn::visit::visit_expr(self, expr);
            }
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            let name = macro_name(mac);
            self.logs |= self.cx.vocabulary.is_log(&name);
            walk_macro(self, self.cx.bodies, mac);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut visitor = Calls {
        cx,
        out: Vec::new(),
        logs: false,
    };
    stmts.iter().for_each(|s| visitor.visit_stmt(s));
    let logs = visitor.logs || visitor.out.iter().any(|c| cx.vocabulary.is_log(&c.name));
    (visitor.out, logs)
}

/// Calls that undo or finish what a function took on: remove it from a
/// pending set, unsubscribe, release, commit or flush what was staged.
pub fn is_cleanup(cx: &Context<'_>, name: &str) -> bool {
    let snake = snake_case(name);
    let first = snake.split('_').next().unwrap_or("");
    cx.vocabulary.is_delete(name)
        || matches!(
            first,
            "remove"
                | "delete"
                | "unsubscribe"
                | "cleanup"
                | "unregister"
                | "deregister"
                | "release"
                | "commit"
                | "flush"
                | "purge"
                | "evict"
                | "unlink"
                | "unpin"
                | "untrack"
                | "unwatch"
                | "unlock"
        )
        || snake.starts_with("clean_up")
}

/// Which jumps of a loop some statements hold: a `break` or a `continue`
/// of the loop labelled `label` (or, unlabelled, of the loop whose body they
/// are), not counting unlabelled ones of inner loops, nor anything inside
/// closures, async blocks or items.
#[derive(Default, Clone, Copy)]
pub struct Jumps {
    pub breaks: bool,
    pub continues: bool,
}

pub fn jumps<'a>(cx: &Context<'a>, stmts: &'a [Stmt], label: Option<&str>) -> Jumps {
    struct Find<'c, 'a, 'l> {
        cx: &'c Context<'a>,
        label: Option<&'l str>,
        depth: usize,
        found: Jumps,
    }
    impl Find<'_, '_, '_> {
        fn targets(&self, label: &Option<syn::Lifetime>) -> bool {
            match label {
                Some(l) => Some(l.ident.to_string().as_str()) == self.label,
                None => self.depth == 0,
            }
        }
    }
    impl<'a> Visit<'a> for Find<'_, 'a, '_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Break(b) => {
                    self.found.breaks |= self.targets(&b.label);
                    syn::visit::visit_expr(self, expr);
                }
                Expr::Continue(c) => self.found.continues |= self.targets(&c.label),
                Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                    self.depth += 1;
                    syn::visit::visit_expr(self, expr);
                    self.depth -= 1;
                }
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.cx.bodies, mac);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut visitor = Find {
        cx,
        label,
        depth: 0,
        found: Jumps::default(),
    };
    stmts.iter().for_each(|s| visitor.visit_stmt(s));
    visitor.found
}

/// The statements of a loop's body.
pub fn loop_body(expr: &Expr) -> &[Stmt] {
    match expr {
        Expr::ForLoop(f) => &f.body.stmts,
        Expr::While(w) => &w.body.stmts,
        Expr::Loop(l) => &l.body.stmts,
        _ => &[],
    }
}

/// Short source-like text for messages.
pub fn text(node: &impl quote::ToTokens) -> String {
    crate::syntax::snippet(node, 60)
}

/// `None` or `Err(..)`: the pattern that holds when the value is absent.
pub fn is_absent_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::Ident(ident) => ident.ident == "None" && ident.subpat.is_none(),
        Pat::Path(path) => last_segment(&path.path).as_deref() == Some("None"),
        Pat::TupleStruct(tuple) => last_segment(&tuple.path).as_deref() == Some("Err"),
        Pat::Paren(p) => is_absent_pattern(&p.pat),
        _ => false,
    }
}

/// `Some(..)`/`Ok(..)`: the pattern a let-else or `if let` refutes when
/// the value is absent.
pub fn is_present_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(tuple) => {
            matches!(last_segment(&tuple.path).as_deref(), Some("Some" | "Ok"))
        }
        Pat::Reference(r) => is_present_pattern(&r.pat),
        Pat::Paren(p) => is_present_pattern(&p.pat),
        _ => false,
    }
}

/// Words that say the whole thing is stopping: a guard on them means
/// "shutting down", a condition about everything, not something lost.
pub fn mentions_shutdown(cx: &Context<'_>, expr: &Expr) -> bool {
    idents(cx, expr).iter().any(|ident| {
        snake_case(ident).split('_').any(|w| {
            matches!(
                w,
                "shutdown"
                    | "shutting"
                    | "cancel"
                    | "cancelled"
                    | "canceled"
                    | "stop"
                    | "stopped"
                    | "stopping"
                    | "closed"
                    | "closing"
                    | "terminate"
                    | "terminated"
                    | "quit"
                    | "exit"
                    | "exiting"
            )
        })
    })
}

/// A receive in the guard (`rx.try_recv()`, `rx.recv()`): failing, it says
/// the channel closed, the sender side is gone.
pub fn receives<'a>(cx: &Context<'a>, expr: &'a Expr) -> bool {
    crate::syntax::any_expr(expr, cx.bodies, |e| {
        matches!(e, Expr::MethodCall(call) if matches!(
            call.method.to_string().as_str(),
            "recv" | "try_recv" | "recv_timeout" | "blocking_recv" | "try_next"
        ))
    })
}

/// Constructors and conversions: no work of their own.
pub fn is_plumbing(name: &str) -> bool {
    matches!(
        name,
        "Ok" | "Some"
            | "Err"
            | "into"
            | "from"
            | "clone"
            | "to_owned"
            | "to_string"
            | "len"
            | "is_empty"
            | "elapsed"
            | "now"
            | "default"
            | "new"
            | "unwrap"
            | "expect"
            | "as_ref"
            | "as_mut"
            | "map"
            | "collect"
            | "iter"
    )
}

// ---- fixes ----

/// Whether `ret` is a statement of a block in `body` (so a statement can go
/// before it), rather than an expression (`None => return,`).
pub fn is_statement<'a>(cx: &Context<'a>, body: &'a Block, ret: &ExprReturn) -> bool {
    struct Find<'c, 'a, 'r> {
        cx: &'c Context<'a>,
        ret: &'r ExprReturn,
        found: bool,
    }
    impl<'a> Visit<'a> for Find<'_, 'a, '_> {
        fn visit_block(&mut self, block: &'a Block) {
            self.found |= block.stmts.iter().any(
                |stmt| matches!(stmt, Stmt::Expr(Expr::Return(r), _) if std::ptr::eq(r, self.ret)),
            );
            syn::visit::visit_block(self, block);
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.cx.bodies, mac);
        }
    }
    let mut find = Find {
        cx,
        ret,
        found: false,
    };
    find.visit_block(body);
    find.found
}

/// `return` → `continue`/`break` (with the loop's label when one is
/// needed): a jump to the loop instead of out of the function.
pub fn jump_instead(ret: &ExprReturn, jump: &str, description: String) -> Fix {
    Fix::new(description, Applicability::MaybeIncorrect).with_edit(Edit::replace(
        syn::spanned::Spanned::span(ret),
        jump.to_string(),
    ))
}

/// The logging crate the file uses, by the paths it writes (`use
/// tracing::..`, `tracing::warn!`, `log::warn!`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Logger {
    Tracing,
    Log,
    Unknown,
}

pub fn logger(file: &syn::File) -> Logger {
    #[derive(Default)]
    struct Uses {
        tracing: bool,
        log: bool,
    }
    impl Uses {
        fn first(&mut self, ident: &syn::Ident) {
            self.tracing |= ident == "tracing";
            self.log |= ident == "log";
        }
    }
    impl<'a> Visit<'a> for Uses {
        fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
            let mut tree = &item.tree;
            loop {
                match tree {
                    syn::UseTree::Path(p) => {
                        self.first(&p.ident);
                        break;
                    }
                    syn::UseTree::Group(g) => match g.items.first() {
                        Some(first) => tree = first,
                        None => break,
                    },
                    _ => break,
                }
            }
        }
        fn visit_macro(&mut self, mac: &'a Macro) {
            if mac.path.segments.len() > 1 {
                self.first(&mac.path.segments[0].ident);
            }
        }
    }
    let mut uses = Uses::default();
    uses.visit_file(file);
    if uses.tracing {
        Logger::Tracing
    } else if uses.log {
        Logger::Log
    } else {
        Logger::Unknown
    }
}

/// A warning logged before `ret`, saying what the return leaves behind,
/// with a placeholder for the key of what is left (a person fills it in;
/// until then it does not compile). In the file's logging crate; `tracing`
/// when it uses none.
pub fn warn_before<'a>(
    cx: &Context<'a>,
    body: &'a Block,
    ret: &ExprReturn,
    field: &str,
    key: &str,
    message: &str,
) -> Option<Fix> {
    let escaped = message
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "{{")
        .replace('}', "}}");
    let logger = logger(cx.file);
    let call = match logger {
        Logger::Log => format!("log::warn!(\"{escaped} ({field}: {{:?}})\", /* {key} */)"),
        Logger::Tracing | Logger::Unknown => {
            format!("tracing::warn!({field} = ?/* {key} */, \"{escaped}\")")
        }
    };
    let mut description = format!(
        "log what this return leaves behind before returning (fill in {key}; re-arming or \
         retrying is still up to you)"
    );
    if logger == Logger::Unknown {
        description.push_str("; this file uses neither `tracing` nor `log`: add `tracing`, or write it with your logger");
    }
    let span = syn::spanned::Spanned::span(ret);
    let edit = if is_statement(cx, body, ret) {
        Edit::line_before(span, format!("{call};"))
    } else {
        let ret_text = crate::syntax::source_text(ret)?;
        Edit::replace(span, format!("{{ {call}; {ret_text} }}"))
    };
    Some(Fix::new(description, Applicability::HasPlaceholders).with_edit(edit))
}
