//! The items of a file — functions, impls, modules, methods, nested items —
//! with their extents and paths: what a suppression comment before an item
//! covers, and the enclosing item a baseline entry is keyed by.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::location::{LineIndex, Region};
use crate::syntax::snippet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineItem {
    /// Names from the outermost item in: `Reaper::delete_not_active`,
    /// `tests::helper`, `<Guard as Drop>::drop`.
    pub path: String,
    /// From its first attribute (doc comments included) to its end.
    pub region: Region,
    /// The line its header (`pub fn`, `impl`, ...) starts on, after the attributes.
    pub head_line: usize,
}

/// The items of `text`, outer ones before the items they contain; `None` if
/// it does not parse.
pub fn outline(text: &str) -> Option<Vec<OutlineItem>> {
    let items = syn::parse_file(text).ok().map(|file| {
        let mut walker = Walker {
            index: LineIndex::new(text),
            path: Vec::new(),
            items: Vec::new(),
        };
        walker.visit_file(&file);
        walker.items
    });
    // Every span of `text` is mapped: free proc-macro2's copy of it.
    proc_macro2::extra::invalidate_current_thread_spans();
    items
}

/// The innermost item whose extent holds `offset`.
pub fn enclosing(items: &[OutlineItem], offset: usize) -> Option<&OutlineItem> {
    items
        .iter()
        .filter(|i| i.region.start.offset <= offset && offset < i.region.end.offset)
        .min_by_key(|i| i.region.len())
}

struct Walker<'t> {
    index: LineIndex<'t>,
    path: Vec<String>,
    items: Vec<OutlineItem>,
}

impl Walker<'_> {
    fn enter(&mut self, name: String, node: &(impl Spanned + ToTokens)) {
        self.path.push(name);
        let region = self.index.region(node.span());
        let head_line = header_start(node.to_token_stream())
            .map_or(region.start.line, |at| self.index.position(at).line);
        self.items.push(OutlineItem {
            path: self.path.join("::"),
            region,
            head_line,
        });
    }

    fn leave(&mut self) {
        self.path.pop();
    }
}

/// Where the tokens after the outer attributes (`#[..]`, doc comments) begin.
fn header_start(tokens: TokenStream) -> Option<proc_macro2::LineColumn> {
    let mut tokens = tokens.into_iter().peekable();
    loop {
        match tokens.next()? {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next(); // the `[..]` group
            }
            other => return Some(other.span().start()),
        }
    }
}

/// A type or trait by its path without generic arguments (`Guard<T>` →
/// `Guard`), so keys do not change when generics do.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => path_name(&p.path),
        other => snippet(other, 80),
    }
}

fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn macro_name(mac: &syn::Macro, ident: Option<&syn::Ident>) -> String {
    match ident {
        Some(ident) => ident.to_string(),
        None => format!("{}!", crate::syntax::macro_name(mac)),
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        use syn::Item;
        let name = match item {
            Item::Fn(i) => i.sig.ident.to_string(),
            Item::Impl(i) => match &i.trait_ {
                Some((_, path, _)) => {
                    format!("<{} as {}>", type_name(&i.self_ty), path_name(path))
                }
                None => type_name(&i.self_ty),
            },
            Item::Mod(i) => i.ident.to_string(),
            Item::Trait(i) => i.ident.to_string(),
            Item::TraitAlias(i) => i.ident.to_string(),
            Item::Struct(i) => i.ident.to_string(),
            Item::Enum(i) => i.ident.to_string(),
            Item::Union(i) => i.ident.to_string(),
            Item::Type(i) => i.ident.to_string(),
            Item::Const(i) => i.ident.to_string(),
            Item::Static(i) => i.ident.to_string(),
            Item::ExternCrate(i) => i.ident.to_string(),
            Item::Macro(i) => macro_name(&i.mac, i.ident.as_ref()),
            Item::ForeignMod(_) => "extern".to_string(),
            Item::Use(_) => "use".to_string(),
            _ => "item".to_string(),
        };
        self.enter(name, item);
        visit::visit_item(self, item);
        self.leave();
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        use syn::ImplItem;
        let name = match item {
            ImplItem::Fn(i) => i.sig.ident.to_string(),
            ImplItem::Const(i) => i.ident.to_string(),
            ImplItem::Type(i) => i.ident.to_string(),
            ImplItem::Macro(i) => macro_name(&i.mac, None),
            _ => "item".to_string(),
        };
        self.enter(name, item);
        visit::visit_impl_item(self, item);
        self.leave();
    }

    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        use syn::TraitItem;
        let name = match item {
            TraitItem::Fn(i) => i.sig.ident.to_string(),
            TraitItem::Const(i) => i.ident.to_string(),
            TraitItem::Type(i) => i.ident.to_string(),
            TraitItem::Macro(i) => macro_name(&i.mac, None),
            _ => "item".to_string(),
        };
        self.enter(name, item);
        visit::visit_trait_item(self, item);
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_have_paths_extents_and_header_lines() {
        let text = "mod m {\n    /// Docs.\n    #[inline]\n    pub fn f() {\n        fn inner() {}\n    }\n}\nimpl<T> Drop for Guard<T> {\n    fn drop(&mut self) {}\n}\n";
        let items = outline(text).unwrap();
        let found: Vec<(&str, usize, usize, usize)> = items
            .iter()
            .map(|i| {
                (
                    i.path.as_str(),
                    i.region.start.line,
                    i.head_line,
                    i.region.end.line,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("m", 1, 1, 7),
                ("m::f", 2, 4, 6),
                ("m::f::inner", 5, 5, 5),
                ("<Guard as Drop>", 8, 8, 10),
                ("<Guard as Drop>::drop", 9, 9, 9),
            ]
        );
        let at = text.find("fn inner").unwrap();
        assert_eq!(enclosing(&items, at).unwrap().path, "m::f::inner");
        assert!(outline("fn (").is_none());
    }
}
