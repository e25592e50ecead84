//! How the paths through a handler end, relative to the innermost loop:
//! whether a branch leaves the loop, goes round again, or falls through —
//! and, for the paths that stay, whether they did any work first (a branch
//! that only goes round restarts the timers of the `select!` and nothing
//! else).

use super::*;

/// The ways a handler's paths can end. `*_busy` paths did work (a call, an
/// assignment, a macro that is not a log) before ending; `*_idle` ones did
/// not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Outcomes {
    pub(super) leaves: bool,
    pub(super) next_idle: bool,
    pub(super) next_busy: bool,
    pub(super) fall_idle: bool,
    pub(super) fall_busy: bool,
}

impl Outcomes {
    pub(super) const FALLS_THROUGH: Outcomes = Outcomes {
        leaves: false,
        next_idle: false,
        next_busy: false,
        fall_idle: true,
        fall_busy: false,
    };
    pub(super) const WORKS: Outcomes = Outcomes {
        leaves: false,
        next_idle: false,
        next_busy: false,
        fall_idle: false,
        fall_busy: true,
    };
    pub(super) const LEAVES: Outcomes = Outcomes {
        leaves: true,
        next_idle: false,
        next_busy: false,
        fall_idle: false,
        fall_busy: false,
    };
    pub(super) const NEXT_ITERATION: Outcomes = Outcomes {
        leaves: false,
        next_idle: true,
        next_busy: false,
        fall_idle: false,
        fall_busy: false,
    };

    pub(super) fn next_iteration(self) -> bool {
        self.next_idle || self.next_busy
    }

    pub(super) fn falls_through(self) -> bool {
        self.fall_idle || self.fall_busy
    }

    pub(super) fn stays(self) -> bool {
        self.next_iteration() || self.falls_through()
    }

    /// Some path stays in the loop after doing work.
    pub(super) fn stays_busy(self) -> bool {
        self.next_busy || self.fall_busy
    }

    #[cfg(test)]
    pub(super) fn always_leaves(self) -> bool {
        self.leaves && !self.stays()
    }

    pub(super) fn only_continues(self) -> bool {
        self.next_iteration() && !self.leaves && !self.falls_through()
    }

    pub(super) fn or(self, other: Outcomes) -> Outcomes {
        Outcomes {
            leaves: self.leaves || other.leaves,
            next_idle: self.next_idle || other.next_idle,
            next_busy: self.next_busy || other.next_busy,
            fall_idle: self.fall_idle || other.fall_idle,
            fall_busy: self.fall_busy || other.fall_busy,
        }
    }

    /// The same paths, after work already done.
    fn busy(self) -> Outcomes {
        Outcomes {
            leaves: self.leaves,
            next_idle: false,
            next_busy: self.next_iteration(),
            fall_idle: false,
            fall_busy: self.falls_through(),
        }
    }

    /// `self`, then `next` on the paths of `self` that fall through.
    fn then(self, next: Outcomes) -> Outcomes {
        let mut result = Outcomes {
            fall_idle: false,
            fall_busy: false,
            ..self
        };
        if self.fall_idle {
            result = result.or(next);
        }
        if self.fall_busy {
            result = result.or(next.busy());
        }
        result
    }
}

/// The loop whose iterations a handler may end.
pub(super) struct ExitTarget<'f> {
    pub(super) label: Option<&'f str>,
    /// `while` condition variables: `running = false;` ends the loop.
    pub(super) flags: &'f [String],
    /// For telling a log line (not work) from a call.
    pub(super) vocabulary: &'f crate::Vocabulary,
    /// Whether an `Err(..)` value ends the loop (a `select!` handler's
    /// value); not in a `match` that may be a `let`'s value.
    pub(super) err_leaves: bool,
}

pub(super) fn outcomes(expr: &Expr, target: &ExitTarget<'_>) -> Outcomes {
    expr_outcomes(expr, target, &mut Vec::new())
}

/// `inner` holds the labels of blocks entered inside the handler (and whether
/// something breaks out of them): a `break 'blk` ends that block, not the loop. Nested loops,
/// closures and async blocks are not entered: their `break`/`return` are theirs.
pub(super) fn expr_outcomes(
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
        Expr::Macro(m) => macro_outcomes(&m.mac, target),
        Expr::Call(call) if is_process_exit(call) || (target.err_leaves && is_err(expr)) => {
            Outcomes::LEAVES
        }
        // `Err(e)?`: always propagates.
        Expr::Try(t) if is_err(peel_parens(&t.expr)) => Outcomes::LEAVES,
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
            let branches = then.or(otherwise);
            if is_plain_value(&i.cond) {
                branches
            } else {
                branches.busy()
            }
        }
        Expr::Match(m) if m.arms.is_empty() => Outcomes::LEAVES,
        Expr::Match(m) => {
            let arms = m
                .arms
                .iter()
                .map(|arm| expr_outcomes(&arm.body, target, inner))
                .fold(Outcomes::default(), Outcomes::or);
            if is_plain_value(&m.expr) {
                arms
            } else {
                arms.busy()
            }
        }
        Expr::Assign(a) if ends_while_condition(a, target.flags) => Outcomes::LEAVES,
        Expr::Tuple(t) if t.elems.is_empty() => Outcomes::FALLS_THROUGH,
        _ if is_plain_value(expr) => Outcomes::FALLS_THROUGH,
        _ => Outcomes::WORKS,
    }
}

fn macro_outcomes(mac: &Macro, target: &ExitTarget<'_>) -> Outcomes {
    let name = macro_name(mac);
    if is_diverging_name(&name) {
        Outcomes::LEAVES
    } else if is_conditional_exit_name(&name) {
        Outcomes::LEAVES.or(Outcomes::FALLS_THROUGH)
    } else if target.vocabulary.is_log(&name) {
        Outcomes::FALLS_THROUGH
    } else {
        Outcomes::WORKS
    }
}

pub(super) fn labelled_block_outcomes(
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
    // Conservatively: code after the block runs as if work was done.
    result.fall_busy |= broken_out;
    result
}

/// Statements run in order: the first one that always diverges ends the
/// block; earlier conditional exits add their outcomes.
pub(super) fn block_outcomes(
    block: &Block,
    target: &ExitTarget<'_>,
    inner: &mut Vec<(String, bool)>,
) -> Outcomes {
    let mut seen = Outcomes::FALLS_THROUGH;
    for stmt in &block.stmts {
        let here = match stmt {
            Stmt::Expr(e, _) => expr_outcomes(e, target, inner),
            Stmt::Macro(m) => macro_outcomes(&m.mac, target),
            Stmt::Local(local) => match &local.init {
                Some(init) => {
                    let value = match &*init.expr {
                        // `let r = Err(e);` is a value, not an exit.
                        e if is_err(e) => Outcomes::WORKS,
                        e => expr_outcomes(e, target, inner),
                    };
                    match &init.diverge {
                        Some((_, otherwise)) => {
                            let otherwise = expr_outcomes(otherwise, target, inner);
                            Outcomes {
                                fall_idle: value.fall_idle,
                                fall_busy: value.fall_busy,
                                ..value.or(otherwise)
                            }
                        }
                        None => value,
                    }
                }
                None => Outcomes::FALLS_THROUGH,
            },
            Stmt::Item(_) => Outcomes::FALLS_THROUGH,
        };
        seen = seen.then(here);
        if !seen.falls_through() {
            return seen;
        }
    }
    seen
}

/// Macros that never return: `panic!`, `bail!`, ...
fn is_diverging_name(name: &str) -> bool {
    matches!(
        name,
        "panic" | "unreachable" | "todo" | "unimplemented" | "bail" | "throw" | "fail"
    ) || name.ends_with("_bail")
        || name.starts_with("bail_")
        || name.ends_with("_panic")
}

/// Macros that leave when their condition fails: `ensure!(ok, err)`.
fn is_conditional_exit_name(name: &str) -> bool {
    name == "ensure" || name.starts_with("ensure_")
}

fn is_process_exit(call: &syn::ExprCall) -> bool {
    matches!(&*call.func, Expr::Path(p)
        if path_ends_with(&p.path, &["process", "exit"]) || path_ends_with(&p.path, &["process", "abort"]))
}

/// `Err(..)`: a handler whose value is an error ends what the `select!` was for.
fn is_err(expr: &Expr) -> bool {
    matches!(expr, Expr::Call(call) if call.args.len() == 1
        && matches!(&*call.func, Expr::Path(p) if p.path.is_ident("Err")))
}

/// An expression that only reads: a variable, a field, a literal, a test of
/// them (`x.is_some()`, `n > 3`, `let Some(c) = found`).
fn is_plain_value(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_plain_value(&f.base),
        Expr::Paren(p) => is_plain_value(&p.expr),
        Expr::Group(g) => is_plain_value(&g.expr),
        Expr::Reference(r) => is_plain_value(&r.expr),
        Expr::Unary(u) => is_plain_value(&u.expr),
        Expr::Binary(b) => is_plain_value(&b.left) && is_plain_value(&b.right),
        Expr::Let(l) => is_plain_value(&l.expr),
        Expr::Tuple(t) => t.elems.iter().all(is_plain_value),
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            m.args.is_empty()
                && (name.starts_with("is_")
                    || matches!(name.as_str(), "len" | "as_ref" | "as_deref"))
                && is_plain_value(&m.receiver)
        }
        _ => false,
    }
}

/// `running = false;` in a `while running` loop.
pub(super) fn ends_while_condition(assign: &syn::ExprAssign, flags: &[String]) -> bool {
    let is_flag = variable(&assign.left).is_some_and(|name| flags.contains(&name));
    let is_constant = matches!(&*assign.right, Expr::Lit(l) if matches!(l.lit, syn::Lit::Bool(_)));
    is_flag && is_constant
}

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
