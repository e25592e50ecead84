//! Small, rule-independent questions about `syn` trees.

use std::borrow::Cow;

use syn::visit::Visit;

use crate::macro_bodies::{walk_macro, MacroBodies};
use syn::{Attribute, Block, Expr, Ident, Macro, Path, Signature};

/// `ConsumerAssignment` → `consumer_assignment`; `HTTPServer` → `http_server`.
/// Already-snake identifiers are returned as they are, without allocating.
pub fn snake_case(ident: &str) -> Cow<'_, str> {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    if !ident.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(ident);
    }
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let starts_word = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The last segment of a path, as a string (`tokio::time::sleep` → `sleep`).
pub fn last_segment(path: &Path) -> Option<String> {
    path.segments.last().map(|s| s.ident.to_string())
}

/// Whether any segment of `path` is `word` (`crossbeam_channel::select` mentions `crossbeam_channel`).
pub fn path_mentions(path: &Path, word: &str) -> bool {
    path.segments.iter().any(|s| s.ident == word)
}

/// Whether the path's segments end with `suffix` (`["time", "sleep"]`).
pub fn path_ends_with(path: &Path, suffix: &[&str]) -> bool {
    let n = path.segments.len();
    n >= suffix.len()
        && path
            .segments
            .iter()
            .skip(n - suffix.len())
            .zip(suffix)
            .all(|(s, w)| s.ident == w)
}

pub fn macro_name(mac: &Macro) -> String {
    last_segment(&mac.path).unwrap_or_default()
}

/// The name a call is made by: `f(..)` and `a::b::f(..)` → `f`, `x.f(..)` → `f`.
pub fn callee_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) => last_segment(&p.path),
            _ => None,
        },
        Expr::MethodCall(call) => Some(call.method.to_string()),
        _ => None,
    }
}

/// Strips `.await`, `?`, parentheses, references and `.unwrap()`-like
/// adapters, so `(x.delete().await?)` is seen as the call `x.delete()`.
pub fn peel(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Await(e) => &e.base,
            Expr::Try(e) => &e.expr,
            Expr::Paren(e) => &e.expr,
            Expr::Reference(e) => &e.expr,
            Expr::Group(e) => &e.expr,
            Expr::MethodCall(m) if is_adapter(m) => &m.receiver,
            _ => return expr,
        };
    }
}

fn is_adapter(call: &syn::ExprMethodCall) -> bool {
    match call.method.to_string().as_str() {
        "unwrap" | "ok" | "boxed" | "unwrap_or_default" => call.args.is_empty(),
        "expect" => call.args.len() == 1,
        _ => false,
    }
}

/// Code as a short one-line text for messages, e.g. `Arc::ptr_eq(&nca, &ca)`.
///
/// Rendered from tokens, never from source text: inside a proc-macro a span
/// covers only its first token on stable Rust, and the CLI and the macro
/// must word their messages the same. Longer texts are cut with `…`.
pub fn snippet(node: &impl quote::ToTokens, max_chars: usize) -> String {
    let mut text = node.to_token_stream().to_string();
    for (from, to) in [
        (" . ", "."),
        (" :: ", "::"),
        (":: ", "::"),
        (" ! (", "!("),
        ("! (", "!("),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        ("& ", "&"),
        ("* ", "*"),
        (" ?", "?"),
        (" .await", ".await"),
    ] {
        text = text.replace(from, to);
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // A call or index sticks to what it applies to: `f (x)` → `f(x)`, but `== (x)` stays.
    let mut tidy = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let applies = tidy
            .chars()
            .last()
            .is_some_and(|p| p.is_alphanumeric() || "_)]>!".contains(p));
        if c == ' ' && applies && chars.peek().is_some_and(|n| *n == '(' || *n == '[') {
            continue;
        }
        tidy.push(c);
    }
    let text = tidy;
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut short: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Whether an attribute list carries `#[quorum_gated_delete]` (under any path).
pub fn has_quorum_gated_delete(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "quorum_gated_delete")
    })
}

/// One function with a body: a free function, a method, a trait default method.
#[derive(Clone, Copy)]
pub struct FnUnit<'a> {
    pub attrs: &'a [Attribute],
    pub sig: &'a Signature,
    pub body: &'a Block,
    /// A `#[test]`-like function, or any function inside a `#[cfg(test)]` module.
    pub is_test: bool,
}

impl<'a> FnUnit<'a> {
    pub fn name(&self) -> &'a Ident {
        &self.sig.ident
    }
}

/// Every function with a body in `node`, nested ones included, each once.
/// Rules that walk a function body should not descend into nested items:
/// those are units of their own.
pub fn functions<'a, N: crate::macro_bodies::VisitNode>(node: &'a N) -> Vec<FnUnit<'a>> {
    #[derive(Default)]
    struct Collect<'a> {
        out: Vec<FnUnit<'a>>,
        test_modules: usize,
    }
    impl<'a> Collect<'a> {
        fn push(&mut self, attrs: &'a [Attribute], sig: &'a Signature, body: &'a Block) {
            let is_test = self.test_modules > 0 || attrs.iter().any(is_test_attribute);
            self.out.push(FnUnit {
                attrs,
                sig,
                body,
                is_test,
            });
        }
    }
    impl<'a> Visit<'a> for Collect<'a> {
        fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
            let test = m.attrs.iter().any(is_cfg_test);
            self.test_modules += usize::from(test);
            syn::visit::visit_item_mod(self, m);
            self.test_modules -= usize::from(test);
        }
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.push(&f.attrs, &f.sig, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.push(&f.attrs, &f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
            if let Some(body) = &f.default {
                self.push(&f.attrs, &f.sig, body);
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let mut collect = Collect::default();
    node.visit_with(&mut collect);
    collect.out
}

/// `#[test]`, `#[tokio::test]`, `#[rstest]`, `#[test_case(..)]`.
fn is_test_attribute(attr: &Attribute) -> bool {
    matches!(
        last_segment(attr.path()).as_deref(),
        Some("test" | "rstest" | "test_case")
    )
}

/// `#[cfg(test)]`, `#[cfg(all(test, ..))]`, but not `#[cfg(not(test))]`.
pub fn is_cfg_test(attr: &Attribute) -> bool {
    if !attr.path().is_ident("cfg") {
        return false;
    }
    let Ok(list) = attr.meta.require_list() else {
        return false;
    };
    let tokens = list.tokens.to_string();
    let mut words = tokens.split(|c: char| !c.is_alphanumeric() && c != '_');
    words.clone().any(|w| w == "test") && !words.any(|w| w == "not")
}

/// Whether `node` contains an expression for which `pred` holds, looking
/// inside macro bodies and closures but not into nested items.
pub fn any_expr<'a, N: Walkable<'a> + ?Sized>(
    node: &'a N,
    bodies: &'a MacroBodies,
    mut pred: impl FnMut(&'a Expr) -> bool,
) -> bool {
    struct Find<'p, 'a> {
        pred: &'p mut dyn FnMut(&'a Expr) -> bool,
        bodies: &'a MacroBodies,
        found: bool,
    }
    impl<'a> Visit<'a> for Find<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found {
                return;
            }
            if (self.pred)(e) {
                self.found = true;
                return;
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
        fn visit_macro(&mut self, mac: &'a Macro) {
            walk_macro(self, self.bodies, mac);
        }
    }
    let mut find = Find {
        pred: &mut pred,
        bodies,
        found: false,
    };
    node.walk(&mut find);
    find.found
}

/// Syntax nodes a search can start from.
pub trait Walkable<'a> {
    fn walk<V: Visit<'a>>(&'a self, visitor: &mut V);
}

impl<'a> Walkable<'a> for Block {
    fn walk<V: Visit<'a>>(&'a self, visitor: &mut V) {
        visitor.visit_block(self)
    }
}

impl<'a> Walkable<'a> for Expr {
    fn walk<V: Visit<'a>>(&'a self, visitor: &mut V) {
        visitor.visit_expr(self)
    }
}

impl<'a> Walkable<'a> for [syn::Stmt] {
    fn walk<V: Visit<'a>>(&'a self, visitor: &mut V) {
        self.iter().for_each(|s| visitor.visit_stmt(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("ConsumerAssignment"), "consumer_assignment");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("delete_not_active"), "delete_not_active");
        assert_eq!(snake_case("r#type"), "type");
        assert_eq!(snake_case("deleteNotActive"), "delete_not_active");
    }

    #[test]
    fn snippets_read_like_code() {
        let expr: Expr = syn::parse_str("Arc::ptr_eq(&nca, &self.ca)").unwrap();
        assert_eq!(snippet(&expr, 72), "Arc::ptr_eq(&nca, &self.ca)");
        let expr: Expr = syn::parse_str("self.meta.cluster()?.leader().await").unwrap();
        assert_eq!(snippet(&expr, 72), "self.meta.cluster()?.leader().await");
        assert_eq!(snippet(&expr, 10), "self.meta…");
    }

    #[test]
    fn functions_finds_methods_trait_defaults_and_nested_fns() {
        let file: syn::File = syn::parse_str(
            "fn a() { fn b() {} } impl X { fn c(&self) {} } trait T { fn d(&self) {} fn e(&self); }",
        )
        .unwrap();
        let names: Vec<String> = functions(&file)
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn test_code_is_marked() {
        let file: syn::File = syn::parse_str(
            "#[test] fn t() {} #[tokio::test] async fn u() {} fn live() {}
             #[cfg(test)] mod tests { fn helper() {} }
             #[cfg(not(test))] mod real { fn used() {} }",
        )
        .unwrap();
        let marked: Vec<(String, bool)> = functions(&file)
            .iter()
            .map(|f| (f.name().to_string(), f.is_test))
            .collect();
        let expected = [
            ("t", true),
            ("u", true),
            ("live", false),
            ("helper", true),
            ("used", false),
        ];
        assert_eq!(marked, expected.map(|(n, t)| (n.to_string(), t)));
    }
}

/// One name a `use` brings in from another crate: `use guards::a::RemoveOnDrop
/// as Rod;` is `{ local: "Rod", krate: "guards", name: "RemoveOnDrop" }`; a
/// glob (`use guards::*`) has `local` and `name` `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub local: String,
    pub krate: String,
    pub name: String,
}

/// Every name the file's `use` items (in any module, not in function bodies)
/// bring in, with the first segment of their path. `crate`, `self` and
/// `super` paths name the file's own crate and are left out.
pub fn imports(file: &syn::File) -> Vec<Import> {
    fn walk(tree: &syn::UseTree, krate: Option<&str>, out: &mut Vec<Import>) {
        match tree {
            syn::UseTree::Path(p) => {
                let first = p.ident.to_string();
                let krate = krate.unwrap_or(&first).to_string();
                if matches!(krate.as_str(), "crate" | "self" | "super") {
                    return;
                }
                walk(&p.tree, Some(&krate), out);
            }
            syn::UseTree::Name(n) => {
                if let Some(krate) = krate {
                    let name = n.ident.to_string();
                    out.push(Import {
                        local: name.clone(),
                        krate: krate.to_string(),
                        name,
                    });
                }
            }
            syn::UseTree::Rename(r) => {
                if let Some(krate) = krate {
                    out.push(Import {
                        local: r.rename.to_string(),
                        krate: krate.to_string(),
                        name: r.ident.to_string(),
                    });
                }
            }
            syn::UseTree::Glob(_) => {
                if let Some(krate) = krate {
                    out.push(Import {
                        local: "*".to_string(),
                        krate: krate.to_string(),
                        name: "*".to_string(),
                    });
                }
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, krate, out)),
        }
    }
    struct Uses(Vec<Import>);
    impl Visit<'_> for Uses {
        fn visit_item_use(&mut self, u: &syn::ItemUse) {
            walk(&u.tree, None, &mut self.0);
        }
        fn visit_block(&mut self, _: &Block) {}
    }
    let mut uses = Uses(Vec::new());
    uses.visit_file(file);
    uses.0
}

// ---- for fixes: what the code says, exactly ----

/// The source text of a node, as written (comments and spacing kept), when
/// its tokens come from source text (not from a macro's output).
pub fn source_text(node: &impl syn::spanned::Spanned) -> Option<String> {
    node.span().source_text()
}

/// The paths the file's `use` items (at any depth, inline modules
/// included) bring `name` in as: `use tokio::time::{self, interval}` gives
/// `["tokio", "time", "interval"]` for `interval` and `["tokio", "time"]`
/// for `time`; `use a::b as name` gives `["a", "b"]`. Globs are not
/// followed. Several, when several items import the name.
pub fn imports_of(file: &syn::File, name: &str) -> Vec<Vec<String>> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, name: &str, out: &mut Vec<Vec<String>>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, name, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                if n.ident == "self" {
                    if prefix.last().is_some_and(|last| last == name) {
                        out.push(prefix.clone());
                    }
                } else if n.ident == name {
                    let mut path = prefix.clone();
                    path.push(name.to_string());
                    out.push(path);
                }
            }
            syn::UseTree::Rename(r) => {
                if r.rename == name {
                    let mut path = prefix.clone();
                    if r.ident != "self" {
                        path.push(r.ident.to_string());
                    }
                    out.push(path);
                }
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    walk(tree, prefix, name, out);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
    struct Uses<'n> {
        name: &'n str,
        out: Vec<Vec<String>>,
    }
    impl<'a> Visit<'a> for Uses<'_> {
        fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
            walk(&item.tree, &mut Vec::new(), self.name, &mut self.out);
        }
    }
    let mut uses = Uses {
        name,
        out: Vec::new(),
    };
    uses.visit_file(file);
    uses.out
}

/// Whether the file defines an item (a function, a module...) named `name`
/// itself, which could shadow an import of that name.
pub fn defines(file: &syn::File, name: &str) -> bool {
    struct Defines<'n>(&'n str, bool);
    impl<'a> Visit<'a> for Defines<'_> {
        fn visit_item_fn(&mut self, item: &'a syn::ItemFn) {
            self.1 |= item.sig.ident == self.0;
        }
        fn visit_item_mod(&mut self, item: &'a syn::ItemMod) {
            self.1 |= item.ident == self.0;
            syn::visit::visit_item_mod(self, item);
        }
        fn visit_item_macro(&mut self, item: &'a syn::ItemMacro) {
            self.1 |= item.ident.as_ref().is_some_and(|i| i == self.0);
        }
    }
    let mut defines = Defines(name, false);
    defines.visit_file(file);
    defines.1
}

/// The full path `path` names in this file: its first segment resolved
/// through the file's imports when one imports it (and nothing in the file
/// shadows it), as written otherwise. `None` when the first segment is
/// imported from several places.
pub fn resolved_path(file: &syn::File, path: &Path) -> Option<Vec<String>> {
    let written: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let first = written.first()?;
    if path.leading_colon.is_some() || matches!(first.as_str(), "crate" | "self" | "super") {
        return Some(written);
    }
    let imports = imports_of(file, first);
    match imports.as_slice() {
        [] => Some(written),
        [import] if !defines(file, first) => {
            let mut full = import.clone();
            full.extend(written[1..].iter().cloned());
            Some(full)
        }
        _ => None,
    }
}

/// An expression that can be evaluated twice with the same value and no
/// side effect: literals, paths (a `const`, a local), field reads,
/// `Duration::from_*(..)` of such, arithmetic and parentheses.
pub fn is_pure(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Field(f) => is_pure(&f.base),
        Expr::Binary(b) => {
            matches!(
                b.op,
                syn::BinOp::Add(_) | syn::BinOp::Sub(_) | syn::BinOp::Mul(_) | syn::BinOp::Div(_)
            ) && is_pure(&b.left)
                && is_pure(&b.right)
        }
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p)
                if path_mentions(&p.path, "Duration")
                    && last_segment(&p.path).is_some_and(|f| f.starts_with("from_")))
                && call.args.iter().all(is_pure)
        }
        _ => false,
    }
}
