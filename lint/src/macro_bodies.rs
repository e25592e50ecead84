//! Macro bodies are code: parse the ones that carry code, once per file.
//!
//! `syn` hands macro invocations over as raw token streams, so a plain
//! `syn::visit::Visit` never sees the `sleep(..)` inside `tokio::select!` or
//! the `c.delete()` inside `defer!`. [`MacroBodies::parse`] parses every
//! macro body of a file up front (including macros nested inside parsed
//! bodies) and keeps the trees alive beside the file, so rules can borrow them
//! for as long as they borrow the file. A body that does not parse is simply
//! absent: rules treat it as opaque, never as an error.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Block, Expr, Macro, Pat, Stmt, Token};

use crate::syntax::{macro_name, path_mentions};

/// What a macro's tokens were understood to be.
#[derive(Debug)]
pub enum MacroBody {
    /// `select!` and friends: a race between branches.
    Select(Select),
    /// A body of statements: `defer! { .. }`, `stream! { .. }`, ...
    Stmts(Vec<Stmt>),
    /// Comma-separated expressions: `vec![..]`, `assert!(..)`, `join!(..)`, ...
    Exprs(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectFlavor {
    /// `tokio::select!`: `pat = future (, if guard)? => handler`, `else => ..`.
    Tokio,
    /// `futures::select!`/`select_biased!`: like tokio, with `default`/`complete`.
    Futures,
    /// `crossbeam_channel::select!`: `recv(r) -> msg => ..`, `default(timeout) => ..`.
    Crossbeam,
}

#[derive(Debug)]
pub struct Select {
    pub flavor: SelectFlavor,
    pub biased: bool,
    pub branches: Vec<SelectBranch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchKind {
    /// `pat = future => handler` (tokio, futures).
    Future,
    /// crossbeam `recv(receiver) -> msg => handler`.
    Recv,
    /// crossbeam `send(sender, value) -> res => handler`.
    Send,
    /// Runs when nothing else is ready: `else`, `default`, `complete`.
    Fallback,
    /// crossbeam `default(timeout) => handler`: a relative timer of its own.
    FallbackAfter,
}

#[derive(Debug)]
pub struct SelectBranch {
    pub kind: BranchKind,
    /// The future raced by this branch; for crossbeam, the first operand
    /// (the receiver, the sender, or the timeout duration).
    pub future: Option<Expr>,
    pub guard: Option<Expr>,
    pub handler: Expr,
    /// The first token of the branch, for reporting.
    pub span: Span,
}

/// Parsed macro bodies of one file, looked up by the `syn::Macro` they came from.
#[derive(Debug, Default)]
pub struct MacroBodies {
    // Keyed by the address of the `syn::Macro` node. Every node, in the file
    // or inside a boxed body below, stays at its address while `self` and the
    // file are alive, so addresses are unique and stable for our lifetime.
    index: HashMap<usize, usize>,
    // Boxed on purpose: the keys above are addresses inside these boxes.
    #[allow(clippy::vec_box)]
    bodies: Vec<Box<MacroBody>>,
}

impl MacroBodies {
    /// Parses every macro body in `node` (usually a whole `syn::File`).
    pub fn parse<N: VisitNode>(node: &N) -> MacroBodies {
        let mut bodies = MacroBodies::default();
        node.visit_with(&mut Collector { out: &mut bodies });
        bodies
    }

    /// The parsed body of `mac`, if it carries code we understood.
    pub fn get(&self, mac: &Macro) -> Option<&MacroBody> {
        let slot = *self.index.get(&(mac as *const Macro as usize))?;
        Some(&self.bodies[slot])
    }

    pub fn select(&self, mac: &Macro) -> Option<&Select> {
        match self.get(mac)? {
            MacroBody::Select(select) => Some(select),
            _ => None,
        }
    }
}

/// Something a [`Visit`] can start from: a file, an item, a block.
pub trait VisitNode {
    fn visit_with<'a, V: Visit<'a>>(&'a self, visitor: &mut V);
}

impl VisitNode for syn::File {
    fn visit_with<'a, V: Visit<'a>>(&'a self, visitor: &mut V) {
        visitor.visit_file(self)
    }
}

impl VisitNode for syn::ItemFn {
    fn visit_with<'a, V: Visit<'a>>(&'a self, visitor: &mut V) {
        visitor.visit_item_fn(self)
    }
}

/// Visits the code inside a parsed macro body with `visitor`, as if it were
/// written outside the macro. Rules call this from their `visit_macro`.
pub fn walk_macro<'a, V: Visit<'a> + ?Sized>(
    visitor: &mut V,
    bodies: &'a MacroBodies,
    mac: &Macro,
) {
    match bodies.get(mac) {
        Some(MacroBody::Select(select)) => {
            for branch in &select.branches {
                if let Some(future) = &branch.future {
                    visitor.visit_expr(future);
                }
                if let Some(guard) = &branch.guard {
                    visitor.visit_expr(guard);
                }
                visitor.visit_expr(&branch.handler);
            }
        }
        Some(MacroBody::Stmts(stmts)) => stmts.iter().for_each(|s| visitor.visit_stmt(s)),
        Some(MacroBody::Exprs(exprs)) => exprs.iter().for_each(|e| visitor.visit_expr(e)),
        None => {}
    }
}

struct Collector<'o> {
    out: &'o mut MacroBodies,
}

impl<'x> Visit<'x> for Collector<'_> {
    fn visit_macro(&mut self, mac: &'x Macro) {
        let Some(body) = parse_body(mac) else { return };
        let body = Box::new(body);
        // Nested macros live inside the box; their addresses stay put when
        // the box itself moves into `bodies`.
        walk_owned(self, &body);
        self.out
            .index
            .insert(mac as *const Macro as usize, self.out.bodies.len());
        self.out.bodies.push(body);
    }
}

fn walk_owned(collector: &mut Collector<'_>, body: &MacroBody) {
    match body {
        MacroBody::Select(select) => {
            for branch in &select.branches {
                if let Some(future) = &branch.future {
                    collector.visit_expr(future);
                }
                if let Some(guard) = &branch.guard {
                    collector.visit_expr(guard);
                }
                collector.visit_expr(&branch.handler);
            }
        }
        MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| collector.visit_stmt(s)),
        MacroBody::Exprs(exprs) => exprs.iter().for_each(|e| collector.visit_expr(e)),
    }
}

/// Macros whose bodies are code for somebody else (generated code, macro
/// definitions): linting them would report problems that are not there.
const NOT_OUR_CODE: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "macro_rules",
];

fn parse_body(mac: &Macro) -> Option<MacroBody> {
    let name = macro_name(mac);
    if NOT_OUR_CODE.contains(&name.as_str()) {
        return None;
    }
    let tokens = mac.tokens.clone();
    match name.as_str() {
        "select" | "select_biased" => {
            let flavor = if path_mentions(&mac.path, "crossbeam")
                || path_mentions(&mac.path, "crossbeam_channel")
            {
                Some(SelectFlavor::Crossbeam)
            } else if path_mentions(&mac.path, "futures") || name == "select_biased" {
                Some(SelectFlavor::Futures)
            } else if path_mentions(&mac.path, "tokio") {
                Some(SelectFlavor::Tokio)
            } else {
                None // unqualified `select!`: tell by the grammar
            };
            parse_select(tokens, flavor, name == "select_biased").map(MacroBody::Select)
        }
        "defer" | "defer_on_success" | "defer_on_unwind" => Block::parse_within
            .parse2(tokens)
            .ok()
            .map(MacroBody::Stmts),
        _ => {
            if let Ok(exprs) =
                Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone())
            {
                Some(MacroBody::Exprs(exprs.into_iter().collect()))
            } else {
                Block::parse_within
                    .parse2(tokens)
                    .ok()
                    .map(MacroBody::Stmts)
            }
        }
    }
}

fn parse_select(tokens: TokenStream, flavor: Option<SelectFlavor>, biased: bool) -> Option<Select> {
    let parser = |input: ParseStream| -> syn::Result<Select> {
        let mut select = Select {
            flavor: flavor.unwrap_or(SelectFlavor::Tokio),
            biased,
            branches: Vec::new(),
        };
        if input.peek(syn::Ident)
            && input.fork().parse::<syn::Ident>()? == "biased"
            && input.peek2(Token![;])
        {
            input.parse::<syn::Ident>()?;
            input.parse::<Token![;]>()?;
            select.biased = true;
        }
        while !input.is_empty() {
            let branch = parse_branch(input, &mut select.flavor, flavor.is_some())?;
            select.branches.push(branch);
        }
        Ok(select)
    };
    parser.parse2(tokens).ok()
}

fn parse_branch(
    input: ParseStream,
    flavor: &mut SelectFlavor,
    flavor_known: bool,
) -> syn::Result<SelectBranch> {
    let span = input.span();
    let mut future = None;
    let mut guard = None;
    let kind;
    if input.peek(Token![else]) {
        input.parse::<Token![else]>()?;
        kind = BranchKind::Fallback;
    } else if let Some(op) = crossbeam_operation(input) {
        if !flavor_known {
            *flavor = SelectFlavor::Crossbeam;
        }
        let _name: syn::Ident = input.parse()?;
        let operands;
        syn::parenthesized!(operands in input);
        let operands = Punctuated::<Expr, Token![,]>::parse_terminated(&operands)?;
        future = operands.into_iter().next();
        if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Pat::parse_single(input)?;
        }
        kind = match op {
            "recv" => BranchKind::Recv,
            "send" => BranchKind::Send,
            _ if future.is_some() => BranchKind::FallbackAfter,
            _ => BranchKind::Fallback,
        };
    } else if is_keyword_branch(input, "default") || is_keyword_branch(input, "complete") {
        input.parse::<syn::Ident>()?;
        kind = BranchKind::Fallback;
    } else {
        Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![=]>()?;
        future = Some(input.parse::<Expr>()?);
        if input.peek(Token![,]) && input.peek2(Token![if]) {
            input.parse::<Token![,]>()?;
            input.parse::<Token![if]>()?;
            guard = Some(input.parse::<Expr>()?);
        }
        kind = BranchKind::Future;
    }
    input.parse::<Token![=>]>()?;
    let handler = parse_handler(input)?;
    Ok(SelectBranch {
        kind,
        future,
        guard,
        handler,
        span,
    })
}

/// `recv(..)`, `send(..)` or `default(..)` followed by `->` or `=>`.
fn crossbeam_operation(input: ParseStream) -> Option<&'static str> {
    let fork = input.fork();
    let name: syn::Ident = fork.parse().ok()?;
    let op = match name.to_string().as_str() {
        "recv" => "recv",
        "send" => "send",
        "default" => "default",
        _ => return None,
    };
    let _group: proc_macro2::Group = fork.parse().ok()?;
    (fork.peek(Token![->]) || fork.peek(Token![=>])).then_some(op)
}

fn is_keyword_branch(input: ParseStream, word: &str) -> bool {
    let fork = input.fork();
    matches!(fork.parse::<syn::Ident>(), Ok(ident) if ident == word) && fork.peek(Token![=>])
}

fn parse_handler(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(syn::token::Brace) {
        let block: syn::ExprBlock = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        return Ok(Expr::Block(block));
    }
    let handler: Expr = input.parse()?;
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(handler)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies_of(src: &str) -> (syn::File, Vec<String>) {
        let file: syn::File = syn::parse_str(src).unwrap();
        let bodies = MacroBodies::parse(&file);
        let mut kinds = Vec::new();
        struct Kinds<'b, 'k> {
            bodies: &'b MacroBodies,
            kinds: &'k mut Vec<String>,
        }
        impl<'a> Visit<'a> for Kinds<'a, '_> {
            fn visit_macro(&mut self, mac: &'a Macro) {
                let kind = match self.bodies.get(mac) {
                    Some(MacroBody::Select(s)) => format!(
                        "{}:select{:?}{}:{:?}",
                        macro_name(mac),
                        s.flavor,
                        if s.biased { ":biased" } else { "" },
                        s.branches.iter().map(|b| b.kind).collect::<Vec<_>>()
                    ),
                    Some(MacroBody::Stmts(s)) => format!("{}:stmts{}", macro_name(mac), s.len()),
                    Some(MacroBody::Exprs(e)) => format!("{}:exprs{}", macro_name(mac), e.len()),
                    None => format!("{}:opaque", macro_name(mac)),
                };
                self.kinds.push(kind);
                walk_macro(self, self.bodies, mac);
            }
        }
        Kinds {
            bodies: &bodies,
            kinds: &mut kinds,
        }
        .visit_file(&file);
        (file, kinds)
    }

    #[test]
    fn tokio_select_branches_guards_and_nested_macros() {
        let (_, kinds) = bodies_of(
            r#"async fn f() { loop { tokio::select! {
                biased;
                Some(m) = rx.recv(), if open => { info!("got {}", m); }
                _ = sleep(d) => break,
                else => return,
            } } }"#,
        );
        assert_eq!(
            kinds,
            [
                "select:selectTokio:biased:[Future, Future, Fallback]",
                "info:exprs2"
            ]
        );
    }

    #[test]
    fn crossbeam_and_futures_select() {
        let (_, kinds) = bodies_of(
            r#"fn f() { select! { recv(rx) -> msg => handle(msg), recv(after(d)) -> _ => break, default(t) => {} }
                futures::select! { x = a.next() => x, complete => break, default => {} } }"#,
        );
        assert_eq!(
            kinds,
            [
                "select:selectCrossbeam:[Recv, Recv, FallbackAfter]",
                "select:selectFutures:[Future, Fallback, Fallback]"
            ]
        );
    }

    #[test]
    fn defer_logs_and_unparsable_bodies() {
        let (_, kinds) = bodies_of(
            r#"fn f() { defer! { c.delete(); } warn!(target: "x", id = %k, "gone"); vec![1, 2]; quote! { #x } }"#,
        );
        assert_eq!(
            kinds,
            ["defer:stmts1", "warn:opaque", "vec:exprs2", "quote:opaque"]
        );
    }
}
