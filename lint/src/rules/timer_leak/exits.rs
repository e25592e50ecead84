//! How the paths through a handler end, relative to the innermost loop:
//! whether a branch leaves the loop, goes round again, or falls through.

use super::*;
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Outcomes {
    pub(super) leaves: bool,
    pub(super) next_iteration: bool,
    pub(super) falls_through: bool,
}

impl Outcomes {
    pub(super) const FALLS_THROUGH: Outcomes = Outcomes {
        leaves: false,
        next_iteration: false,
        falls_through: true,
    };
    pub(super) const LEAVES: Outcomes = Outcomes {
        leaves: true,
        next_iteration: false,
        falls_through: false,
    };
    pub(super) const NEXT_ITERATION: Outcomes = Outcomes {
        leaves: false,
        next_iteration: true,
        falls_through: false,
    };

    pub(super) fn stays(self) -> bool {
        self.next_iteration || self.falls_through
    }

    pub(super) fn always_leaves(self) -> bool {
        self.leaves && !self.stays()
    }

    pub(super) fn only_continues(self) -> bool {
        self.next_iteration && !self.leaves && !self.falls_through
    }

    pub(super) fn or(self, other: Outcomes) -> Outcomes {
        Outcomes {
            leaves: self.leaves || other.leaves,
            next_iteration: self.next_iteration || other.next_iteration,
            falls_through: self.falls_through || other.falls_through,
        }
    }
}

/// The loop whose iterations a handler may end.
pub(super) struct ExitTarget<'f> {
    pub(super) label: Option<&'f str>,
    /// `while` condition variables: `running = false;` ends the loop.
    pub(super) flags: &'f [String],
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
    result.falls_through |= broken_out;
    result
}

/// Statements run in order: the first one that always diverges ends the
/// block; earlier conditional exits add their outcomes.
pub(super) fn block_outcomes(
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

pub(super) fn is_diverging_macro(mac: &Macro) -> bool {
    matches!(
        macro_name(mac).as_str(),
        "panic" | "unreachable" | "todo" | "unimplemented"
    )
}

pub(super) fn is_process_exit(call: &syn::ExprCall) -> bool {
    matches!(&*call.func, Expr::Path(p)
        if path_ends_with(&p.path, &["process", "exit"]) || path_ends_with(&p.path, &["process", "abort"]))
}

/// `running = false;` in a `while running` loop.
pub(super) fn ends_while_condition(assign: &syn::ExprAssign, flags: &[String]) -> bool {
    let is_flag = variable(&assign.left).is_some_and(|name| flags.contains(&name));
    let is_constant = matches!(&*assign.right, Expr::Lit(l) if matches!(l.lit, syn::Lit::Bool(_)));
    is_flag && is_constant
}
