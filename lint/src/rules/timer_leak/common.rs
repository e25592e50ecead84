//! What the shapes share: the calls that make timers, durations, and small
//! syntax helpers.

use super::*;
// ---- timers ----

pub(super) struct TimerCall<'a> {
    pub(super) expr: &'a Expr,
    pub(super) display: String,
    pub(super) deadline: Deadline<'a>,
}

pub(super) enum Deadline<'a> {
    /// Fires a duration after it is made: `sleep(d)`.
    After(&'a Expr),
    /// Fires at an instant: `sleep_until(t)`.
    At(&'a Expr),
}

/// A call that makes a timer: tokio, futures-timer, async-io, crossbeam.
pub(super) fn timer_call(expr: &Expr) -> Option<TimerCall<'_>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let path = &func.path;
    let name = last_segment(path)?;
    let args: Vec<&Expr> = call.args.iter().collect();
    let deadline = match (name.as_str(), args.as_slice()) {
        ("sleep" | "delay_for", [d]) => Deadline::After(d),
        ("new", [d]) if path_ends_with(path, &["Delay", "new"]) => Deadline::After(d),
        ("after", [d]) if path_ends_with(path, &["Timer", "after"]) => Deadline::After(d),
        ("after" | "tick", [d]) if is_crossbeam_timer(path) => Deadline::After(d),
        ("timeout", [d, _]) => Deadline::After(d),
        ("sleep_until" | "delay_until", [t]) | ("timeout_at", [t, _]) => Deadline::At(t),
        ("at", [t]) if path_ends_with(path, &["Timer", "at"]) || is_crossbeam_timer(path) => {
            Deadline::At(t)
        }
        _ => return None,
    };
    let display = if name == "new" || path_ends_with(path, &["Timer", name.as_str()]) {
        let owner = &path.segments[path.segments.len().saturating_sub(2)].ident;
        format!("{owner}::{name}(..)")
    } else {
        format!("{name}(..)")
    };
    Some(TimerCall {
        expr,
        display,
        deadline,
    })
}

/// crossbeam's `after`/`tick`/`at`, called bare or through the crate.
pub(super) fn is_crossbeam_timer(path: &syn::Path) -> bool {
    path.segments.len() == 1
        || path_mentions(path, "crossbeam_channel")
        || path_mentions(path, "crossbeam")
        || path_mentions(path, "channel")
}

/// The module path a fix writes tokio's `time` items under, from the call
/// it rewrites (`path`: `tokio::time::sleep`, `time::interval`, `sleep`):
/// the path as written without its last segment (`tokio::time`, `time`,
/// `::tokio::time`), or tokio's full path for a bare imported name.
pub(super) fn time_module_prefix(path: &syn::Path) -> String {
    let n = path.segments.len();
    if n <= 1 {
        return "tokio::time".to_string();
    }
    let segments: Vec<String> = path
        .segments
        .iter()
        .take(n - 1)
        .map(|s| s.ident.to_string())
        .collect();
    let root = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{root}{}", segments.join("::"))
}

pub(super) fn calls_now(expr: &Expr) -> bool {
    let expr = peel_parens(expr);
    callee_is(expr, "now") || matches!(expr, Expr::MethodCall(m) if calls_now(&m.receiver))
}

pub(super) fn callee_is(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some(name))
        }
        Expr::MethodCall(m) => m.method == name,
        _ => false,
    }
}

pub(super) fn peel_future<'e>(mut expr: &'e Expr, bodies: Option<&'e MacroBodies>) -> &'e Expr {
    loop {
        expr = match expr {
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "as_mut" | "fuse" | "boxed" | "boxed_local" | "into_future"
                    ) =>
            {
                &m.receiver
            }
            Expr::Call(call)
                if call.args.len() == 1
                    && matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).as_deref() == Some("pin")) =>
            {
                &call.args[0]
            }
            Expr::Macro(m) if macro_name(&m.mac) == "pin" => {
                match bodies.and_then(|b| b.get(&m.mac)) {
                    Some(MacroBody::Exprs(exprs)) if exprs.len() == 1 => &exprs[0],
                    _ => return expr,
                }
            }
            _ => return expr,
        };
    }
}

pub(super) fn peel_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

pub(super) fn strip_await(expr: &Expr) -> &Expr {
    match expr {
        Expr::Await(a) => &a.base,
        _ => expr,
    }
}

pub(super) fn stmt_sleep(stmt: &Stmt) -> Option<&Expr> {
    let expr = match stmt {
        Stmt::Expr(e, _) => e,
        Stmt::Local(local) => &*local.init.as_ref()?.expr,
        _ => return None,
    };
    let expr = peel_parens(expr);
    match expr {
        Expr::Await(a) => timer_call(peel_future(&a.base, None)).map(|t| t.expr),
        Expr::Call(call) => match &*call.func {
            Expr::Path(p)
                if path_ends_with(&p.path, &["thread", "sleep"]) || p.path.is_ident("sleep") =>
            {
                Some(expr)
            }
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn first_sleep(stmts: &[Stmt]) -> Option<&Expr> {
    stmts.iter().find_map(stmt_sleep)
}

pub(super) fn sleep_duration(sleep: &Expr) -> Option<&Expr> {
    if let Some(call) = timer_call(sleep) {
        return match call.deadline {
            Deadline::After(d) => Some(d),
            Deadline::At(_) => None,
        };
    }
    match sleep {
        Expr::Call(call) if call.args.len() == 1 => Some(&call.args[0]),
        _ => None,
    }
}

// ---- small syntax helpers ----

/// `x` → `"x"`: a plain local variable.
pub(super) fn variable(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let name = p.path.segments[0].ident.to_string();
            (name != "self").then_some(name)
        }
        _ => None,
    }
}

/// The variable a method chain starts from: `self.conns[i].rx.recv()` → `self`.
pub(super) fn receiver_root(expr: &Expr) -> Option<String> {
    let mut at = expr;
    loop {
        at = match at {
            Expr::MethodCall(m) => &m.receiver,
            Expr::Field(f) => &f.base,
            Expr::Index(i) => &i.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Await(a) => &a.base,
            Expr::Try(t) => &t.expr,
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => &u.expr,
            Expr::Path(p) if p.path.segments.len() == 1 => {
                return Some(p.path.segments[0].ident.to_string())
            }
            _ => return None,
        };
    }
}

/// Like [`receiver_root`], but a field access names the field: `self.rt` → `rt`.
pub(super) fn receiver_root_or_field(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Field(f) => match &f.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        other => receiver_root(other),
    }
}

pub(super) fn pattern_names(pat: &Pat) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'a> Visit<'a> for Names {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.to_string());
            visit::visit_pat_ident(self, p);
        }
    }
    let mut names = Names(Vec::new());
    names.visit_pat(pat);
    names.0
}

/// Single-identifier variables read by a `while` condition.
pub(super) fn plain_variables(cond: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    any_expr(cond, &MacroBodies::default(), |e| {
        names.extend(variable(e));
        false
    });
    names
}

pub(super) fn mentions_name(stmts: &[Stmt], bodies: &MacroBodies, name: &str) -> bool {
    any_expr(stmts, bodies, |e| variable(e).as_deref() == Some(name))
}

pub(super) fn mentions_any(expr: &Expr, bodies: &MacroBodies, names: &HashSet<&str>) -> bool {
    any_expr(expr, bodies, |e| {
        variable(e).is_some_and(|n| names.contains(n.as_str()))
    })
}

/// `Duration::from_secs(30)` → `30 s`; anything else → the code, quoted.
pub(super) fn describe_duration(duration: &Expr) -> String {
    if let Expr::Call(call) = peel_parens(duration) {
        if let (Expr::Path(func), [Expr::Lit(lit)]) =
            (&*call.func, call.args.iter().collect::<Vec<_>>().as_slice())
        {
            let unit = match last_segment(&func.path).as_deref() {
                Some("from_secs" | "from_secs_f64" | "from_secs_f32") => Some("s"),
                Some("from_millis") => Some("ms"),
                Some("from_micros") => Some("µs"),
                Some("from_nanos") => Some("ns"),
                Some("from_mins") => Some("min"),
                Some("from_hours") => Some("h"),
                _ => None,
            };
            if let Some(unit) = unit {
                let value = lit.to_token_stream().to_string().replace('_', "");
                return format!("{value} {unit}");
            }
        }
    }
    format!("`{}`", snippet(duration))
}

/// A short, readable rendering of some code for a message.
pub(super) fn snippet(node: &impl ToTokens) -> String {
    crate::syntax::snippet(node, 48)
}

/// `x?` → `x`.
pub(super) fn strip_try(expr: &Expr) -> &Expr {
    match peel_parens(expr) {
        Expr::Try(t) => &t.expr,
        other => other,
    }
}

/// The length of a duration the code spells out, in nanoseconds:
/// `Duration::from_secs(5)`, `Duration::new(1, 0)`, `from_millis(2 * 60_000)`,
/// and names (`const`s, `let`s) that `resolve` maps to such an expression.
pub(super) fn duration_nanos<'e>(
    expr: &'e Expr,
    resolve: &dyn Fn(&str) -> Option<&'e Expr>,
) -> Option<u128> {
    fn duration<'e>(
        expr: &'e Expr,
        resolve: &dyn Fn(&str) -> Option<&'e Expr>,
        depth: u8,
    ) -> Option<u128> {
        if depth == 0 {
            return None;
        }
        match peel_parens(expr) {
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else {
                    return None;
                };
                let args: Vec<&Expr> = call.args.iter().collect();
                let unit: u128 = match last_segment(&func.path)?.as_str() {
                    "from_secs" => 1_000_000_000,
                    "from_millis" => 1_000_000,
                    "from_micros" => 1_000,
                    "from_nanos" => 1,
                    "from_mins" => 60_000_000_000,
                    "from_hours" => 3_600_000_000_000,
                    "from_secs_f64" | "from_secs_f32" => {
                        let [Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Float(f),
                            ..
                        })] = args.as_slice()
                        else {
                            return None;
                        };
                        let secs: f64 = f.base10_parse().ok()?;
                        return (secs >= 0.0).then_some((secs * 1e9) as u128);
                    }
                    "new" if args.len() == 2 => {
                        let secs = integer(args[0], resolve, depth - 1)?;
                        let nanos = integer(args[1], resolve, depth - 1)?;
                        return secs.checked_mul(1_000_000_000)?.checked_add(nanos);
                    }
                    _ => return None,
                };
                match args.as_slice() {
                    [n] => integer(n, resolve, depth - 1)?.checked_mul(unit),
                    _ => None,
                }
            }
            Expr::Binary(b) => {
                let left = duration(&b.left, resolve, depth - 1);
                match b.op {
                    syn::BinOp::Add(_) => {
                        left?.checked_add(duration(&b.right, resolve, depth - 1)?)
                    }
                    syn::BinOp::Mul(_) => left?.checked_mul(integer(&b.right, resolve, depth - 1)?),
                    syn::BinOp::Div(_) => left?.checked_div(integer(&b.right, resolve, depth - 1)?),
                    _ => None,
                }
            }
            Expr::Path(p) => {
                let name = last_segment(&p.path)?;
                duration(resolve(&name)?, resolve, depth - 1)
            }
            _ => None,
        }
    }
    fn integer<'e>(
        expr: &'e Expr,
        resolve: &dyn Fn(&str) -> Option<&'e Expr>,
        depth: u8,
    ) -> Option<u128> {
        if depth == 0 {
            return None;
        }
        match peel_parens(expr) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse().ok(),
            Expr::Cast(c) => integer(&c.expr, resolve, depth - 1),
            Expr::Binary(b) => {
                let left = integer(&b.left, resolve, depth - 1)?;
                let right = integer(&b.right, resolve, depth - 1)?;
                match b.op {
                    syn::BinOp::Add(_) => left.checked_add(right),
                    syn::BinOp::Sub(_) => left.checked_sub(right),
                    syn::BinOp::Mul(_) => left.checked_mul(right),
                    syn::BinOp::Div(_) => left.checked_div(right),
                    _ => None,
                }
            }
            Expr::Path(p) => {
                let name = last_segment(&p.path)?;
                integer(resolve(&name)?, resolve, depth - 1)
            }
            _ => None,
        }
    }
    duration(expr, resolve, 8)
}
