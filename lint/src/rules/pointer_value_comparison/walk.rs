//! The walk over one function: every comparison of two states, by pointer
//! or by value, with its noun, where its operands were read from, and
//! whether it compares addresses that can be reused (ABA).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, Macro, Member, Pat, Type, UnOp};

use super::kinds::{
    compared, names_holder_of, names_state, Declared, Kind, Noun, Scope, IDENTITY_MEMBERS,
};
use crate::finding::Extent;
use crate::macro_bodies::{walk_macro, MacroBodies, MacroBody};
use crate::syntax::{last_segment, macro_name, path_ends_with, snake_case, snippet};
use crate::vocabulary::Vocabulary;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Compare {
    Pointer,
    Value,
}

/// Where a value was re-read from: a copy handed out by something that
/// publishes new allocations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Source {
    Watch,
    ArcSwap,
    Map,
    Lookup,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Watch => "a watch channel",
            Source::ArcSwap => "an `ArcSwap`",
            Source::Map => "a map",
            Source::Lookup => "a lookup",
        }
    }
}

/// One comparison of two states, in source order within its function.
pub(super) struct Comparison {
    pub compare: Compare,
    pub span: Extent,
    pub text: String,
    pub function: usize,
    pub noun: Noun,
    /// Where an operand was re-read from, if one was.
    pub source: Option<Source>,
    /// The comparison holds an address (a raw pointer, a `Weak`): a freed
    /// value's address can be handed to the next one.
    pub raw: bool,
    /// The operands' text, to pair a pointer test with the value test of
    /// the same two values in one function (a fast path).
    pub operands: [String; 2],
    /// The map a `Source::Map` operand came from, by its text.
    map: Option<String>,
}

pub(super) fn comparisons(cx: &crate::engine::Context<'_>, declared: &Declared) -> Vec<Comparison> {
    let mut found = Vec::new();
    for (index, function) in cx.functions.iter().enumerate() {
        let start = found.len();
        let mut finder = Finder {
            vocabulary: cx.vocabulary,
            bodies: cx.bodies,
            declared,
            scope: Scope::of(function, cx.vocabulary),
            function: index,
            fast_paths: HashSet::new(),
            reread: HashMap::new(),
            removed_from: HashSet::new(),
            found: &mut found,
        };
        finder.visit_block(function.body);
        let removed_from = std::mem::take(&mut finder.removed_from);
        let mine = &mut found[start..];
        // "Is the entry still the one I put there?" before removing it from
        // that same map is a fence on my own entry, not a change check.
        for c in mine.iter_mut() {
            if c.map.as_ref().is_some_and(|m| removed_from.contains(m)) {
                c.source = None;
            }
        }
        drop_fast_paths(&mut found, start);
    }
    found
}

/// `if Arc::ptr_eq(a, b) { return true } a == b`: a pointer test and a value
/// test of the same two operands in one function are one value comparison
/// with a shortcut, neither of them a finding.
fn drop_fast_paths(found: &mut Vec<Comparison>, start: usize) {
    let pair = |c: &Comparison| {
        let [a, b] = &c.operands;
        if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        }
    };
    let mut seen: HashMap<(String, String), [bool; 2]> = HashMap::new();
    for c in &found[start..] {
        seen.entry(pair(c)).or_default()[c.compare as usize] = true;
    }
    let tail: Vec<Comparison> = found.drain(start..).collect();
    found.extend(
        tail.into_iter()
            .filter(|c| seen.get(&pair(c)) != Some(&[true, true])),
    );
}

/// Strips what does not change which value is meant: `&`, `*`, parentheses,
/// `.clone()`, `.as_ref()`, `.load()`, `.lock().unwrap()`, `Arc::clone(&x)`.
pub(super) fn peel_value(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Paren(e) => &e.expr,
            Expr::Group(e) => &e.expr,
            Expr::Reference(e) => &e.expr,
            Expr::Unary(e) if matches!(e.op, UnOp::Deref(_)) => &e.expr,
            Expr::Try(e) => &e.expr,
            Expr::Await(e) => &e.base,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && (is_same_value_method(&m.method) || is_access_method(&m.method)) =>
            {
                &m.receiver
            }
            Expr::MethodCall(m) if m.method == "expect" && m.args.len() == 1 => &m.receiver,
            Expr::Call(call) if call.args.len() == 1 && is_same_value_fn(&call.func) => {
                &call.args[0]
            }
            _ => return expr,
        };
    }
}

fn is_same_value_method(method: &syn::Ident) -> bool {
    matches!(
        method.to_string().as_str(),
        "clone"
            | "cloned"
            | "as_ref"
            | "as_deref"
            | "deref"
            | "lock"
            | "read"
            | "write"
            | "unwrap"
            | "upgrade"
            | "to_owned"
    )
}

/// Methods that hand out the value a holder holds: a watch channel's
/// `borrow()`, an `ArcSwap`'s `load()`.
fn is_access_method(method: &syn::Ident) -> bool {
    matches!(
        method.to_string().as_str(),
        "borrow" | "borrow_and_update" | "load" | "load_full"
    )
}

fn is_same_value_fn(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let path = &path.path;
    path.segments.len() >= 2
        && matches!(
            last_segment(path).as_deref(),
            Some("clone" | "as_ref" | "downgrade" | "upgrade")
        )
}

// ---------------------------------------------------------------------------
// What is a pointer comparison

/// `Arc::as_ptr(&a)`, `a.as_ptr()`, `&*a as *const _`, with `.addr()`/`as usize`
/// on top: the operand whose address is taken, if `expr` is an address.
fn address_of(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Paren(e) => address_of(&e.expr),
        Expr::Group(e) => address_of(&e.expr),
        Expr::Cast(cast) => match &*cast.ty {
            Type::Ptr(_) => Some(&cast.expr),
            _ => address_of(&cast.expr),
        },
        Expr::MethodCall(m) if m.args.is_empty() && m.method == "as_ptr" => Some(&m.receiver),
        Expr::MethodCall(m) if m.method == "addr" || m.method == "cast" => address_of(&m.receiver),
        Expr::Call(call) if call.args.len() == 1 => match &*call.func {
            Expr::Path(p)
                if path_ends_with(&p.path, &["as_ptr"]) && p.path.segments.len() >= 2
                    || path_ends_with(&p.path, &["ptr", "from_ref"]) =>
            {
                Some(&call.args[0])
            }
            _ => None,
        },
        _ => None,
    }
}

/// The two operands of a pointer comparison, whether it asks "not the
/// same", and whether it holds an address that can outlive its value
/// (`Weak::ptr_eq`, a stored raw address against a fresh one).
fn pointer_operands(expr: &Expr) -> Option<(&Expr, &Expr, bool, bool)> {
    match expr {
        Expr::Call(call) if call.args.len() == 2 => {
            let Expr::Path(p) = &*call.func else {
                return None;
            };
            let path = &p.path;
            let is_pointer_eq = path_ends_with(path, &["ptr_eq"])
                || path_ends_with(path, &["ptr", "eq"])
                || path_ends_with(path, &["addr_eq"]);
            if !is_pointer_eq {
                return None;
            }
            let weak = path_ends_with(path, &["Weak", "ptr_eq"]);
            let (a, b) = (&call.args[0], &call.args[1]);
            let stored = !path_ends_with(path, &["ptr_eq"])
                && (address_of(a).is_some() != address_of(b).is_some());
            Some((
                address_of(a).unwrap_or(a),
                address_of(b).unwrap_or(b),
                false,
                weak || stored,
            ))
        }
        Expr::MethodCall(m) if m.method == "ptr_eq" && m.args.len() == 1 => {
            let weak = is_weak(&m.receiver) || is_weak(&m.args[0]);
            Some((&m.receiver, &m.args[0], false, weak))
        }
        Expr::Binary(b) if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) => {
            let (left, right) = (address_of(&b.left), address_of(&b.right));
            left.or(right)?;
            let stored = left.is_some() != right.is_some();
            let left = left.unwrap_or(&b.left);
            let right = right.unwrap_or(&b.right);
            Some((left, right, matches!(b.op, BinOp::Ne(_)), stored))
        }
        _ => None,
    }
}

/// `Arc::downgrade(&x)`, a `weak`-named handle.
fn is_weak(expr: &Expr) -> bool {
    match expr {
        Expr::Reference(r) => is_weak(&r.expr),
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if path_ends_with(&p.path, &["downgrade"]))
        }
        _ => {
            let text = snake_case(&peel_value(expr).to_token_stream().to_string()).into_owned();
            text.split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "weak")
        }
    }
}

/// A pointer comparison under `!` and parentheses: the comparison itself,
/// its operands, and whether the whole asks "not the same".
fn pointer_test(expr: &Expr) -> Option<(&Expr, &Expr, &Expr, bool)> {
    match expr {
        Expr::Paren(e) => pointer_test(&e.expr),
        Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => {
            pointer_test(&u.expr).map(|(core, a, b, negated)| (core, a, b, !negated))
        }
        _ => pointer_operands(expr).map(|(a, b, negated, _)| (expr, a, b, negated)),
    }
}

/// `a == b`, `a != b`, `a.eq(&b)`, `a.ne(&b)`: the operands of a value comparison.
fn value_operands(expr: &Expr) -> Option<(&Expr, &Expr)> {
    match expr {
        Expr::Binary(b) if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) => Some((&b.left, &b.right)),
        Expr::MethodCall(m) if (m.method == "eq" || m.method == "ne") && m.args.len() == 1 => {
            Some((&m.receiver, &m.args[0]))
        }
        _ => None,
    }
}

/// `assert_eq!`, `debug_assert_ne!`, `prop_assert_eq!`...: a comparison of
/// their first two arguments.
fn is_assert_compare(mac: &Macro) -> bool {
    let name = macro_name(mac);
    name.ends_with("assert_eq") || name.ends_with("assert_ne")
}

/// `Lease::default()`, `Placement::new(..)`, `ConsumerAssignment { .. }`: a
/// value built for the comparison, so the comparison checks a state (empty,
/// default), not whether two states are the same one.
fn made_on_the_spot(expr: &Expr) -> bool {
    match peel_value(expr) {
        Expr::Struct(_) | Expr::Lit(_) => true,
        Expr::Call(call) => matches!(&*call.func, Expr::Path(p) if p.path.segments.len() >= 2
            && p.path.segments[p.path.segments.len() - 2]
                .ident
                .to_string()
                .starts_with(|c: char| c.is_ascii_uppercase())),
        _ => false,
    }
}

fn tokens_of(expr: &Expr) -> String {
    peel_value(expr).to_token_stream().to_string()
}

/// Whether `expr` mentions both `a` and `b` as sub-expressions: the other
/// half of a fast path such as `Arc::ptr_eq(a, b) || a.same_identity(b)`.
fn mentions_both(expr: &Expr, a: &Expr, b: &Expr) -> bool {
    struct Mentions {
        wanted: [String; 2],
        seen: [bool; 2],
    }
    impl<'a> Visit<'a> for Mentions {
        fn visit_expr(&mut self, e: &'a Expr) {
            let text = e.to_token_stream().to_string();
            for (wanted, seen) in self.wanted.iter().zip(&mut self.seen) {
                *seen |= *wanted == text;
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut mentions = Mentions {
        wanted: [tokens_of(a), tokens_of(b)],
        seen: [false; 2],
    };
    mentions.visit_expr(expr);
    mentions.seen == [true, true]
}

/// Option and iterator adapters whose closure receives the receiver's value
/// (or element): `map.get(k).is_some_and(|cur| ..)`.
fn passes_value_to_closure(method: &str) -> bool {
    matches!(
        method,
        "is_some_and"
            | "is_none_or"
            | "is_ok_and"
            | "map"
            | "map_or"
            | "map_or_else"
            | "and_then"
            | "filter"
            | "inspect"
            | "any"
            | "all"
            | "find"
            | "position"
            | "for_each"
            | "filter_map"
    )
}

// ---------------------------------------------------------------------------
// The walk

struct Finder<'a, 'o> {
    vocabulary: &'a Vocabulary,
    bodies: &'a MacroBodies,
    declared: &'a Declared,
    scope: Scope,
    function: usize,
    /// Pointer comparisons that only short-cut a real comparison.
    fast_paths: HashSet<usize>,
    /// Bindings re-read from a source, with the map they came from.
    reread: HashMap<String, (Source, Option<String>)>,
    /// Maps this function removes entries from, by their text.
    removed_from: HashSet<String>,
    found: &'o mut Vec<Comparison>,
}

impl Finder<'_, '_> {
    fn kind_of(&self, expr: &Expr) -> Kind {
        self.kind_in(expr, false)
    }

    /// The kind of `expr`; `accessed` when it is the holder whose value a
    /// `borrow()`/`load()` hands out.
    fn kind_in(&self, expr: &Expr, accessed: bool) -> Kind {
        match expr {
            Expr::Paren(e) => self.kind_in(&e.expr, accessed),
            Expr::Group(e) => self.kind_in(&e.expr, accessed),
            Expr::Reference(e) => self.kind_in(&e.expr, accessed),
            Expr::Unary(e) if matches!(e.op, UnOp::Deref(_)) => self.kind_in(&e.expr, accessed),
            Expr::Try(e) => self.kind_in(&e.expr, accessed),
            Expr::Await(e) => self.kind_in(&e.base, accessed),
            Expr::MethodCall(m) if m.args.is_empty() && is_same_value_method(&m.method) => {
                self.kind_in(&m.receiver, accessed)
            }
            Expr::MethodCall(m) if m.method == "expect" && m.args.len() == 1 => {
                self.kind_in(&m.receiver, accessed)
            }
            Expr::MethodCall(m) if m.args.is_empty() && is_access_method(&m.method) => {
                self.kind_in(&m.receiver, true)
            }
            Expr::MethodCall(m)
                if m.args.len() == 1
                    && matches!(m.method.to_string().as_str(), "get" | "get_mut") =>
            {
                self.element_kind(&m.receiver)
            }
            Expr::Index(index) => self.element_kind(&index.expr),
            Expr::Call(call) if call.args.len() == 1 && is_same_value_fn(&call.func) => {
                self.kind_in(&call.args[0], accessed)
            }
            Expr::Path(p) if p.qself.is_none() => match p.path.get_ident() {
                Some(ident) if ident == "self" => Kind::Other,
                Some(ident) => {
                    let name = ident.to_string();
                    let kind = if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        Kind::Other // `None`, a constant or a unit variant
                    } else if let Some(kind) = self.scope.bindings.get(&name) {
                        kind.clone()
                    } else if let Some(noun) = names_state(self.vocabulary, &name, false) {
                        Kind::State(noun)
                    } else {
                        Kind::Opaque
                    };
                    if accessed && !matches!(kind, Kind::State(_)) {
                        if let Some(noun) = self.scope.contents.get(&name) {
                            return Kind::State(noun.clone());
                        }
                        if let Some(noun) = names_holder_of(self.vocabulary, &name) {
                            return Kind::State(noun);
                        }
                    }
                    kind
                }
                None => Kind::Other, // `Lease::EMPTY`, `State::Expired`
            },
            Expr::Field(field) => match &field.member {
                Member::Named(name) => {
                    let name = name.to_string();
                    let kind = self.member_kind(&name, self.declared.fields.get(&name));
                    if accessed && !matches!(kind, Kind::State(_)) {
                        if let Some(noun) = self.declared.contents.get(&name) {
                            return Kind::State(noun.clone());
                        }
                        if let Some(noun) = names_holder_of(self.vocabulary, &name) {
                            return Kind::State(noun);
                        }
                    }
                    kind
                }
                Member::Unnamed(_) => Kind::Opaque,
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                self.getter_kind(&name)
            }
            Expr::Call(call) => match &*call.func {
                Expr::Path(p) => {
                    let name = last_segment(&p.path).unwrap_or_default();
                    let segments = &p.path.segments;
                    let on_a_type = segments.len() >= 2
                        && segments[segments.len() - 2]
                            .ident
                            .to_string()
                            .starts_with(|c: char| c.is_ascii_uppercase());
                    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        Kind::Other // `Some(x)`, a tuple-struct constructor
                    } else if on_a_type {
                        Kind::Opaque // `Lease::new(..)`, `ConsumerAssignment::decode(..)`
                    } else {
                        self.getter_kind(&name)
                    }
                }
                _ => Kind::Opaque,
            },
            _ => Kind::Other,
        }
    }

    /// The kind of what `collection.get(k)` or `collection[k]` hands out:
    /// by the collection's declared type, or its plural name (`configs`).
    fn element_kind(&self, collection: &Expr) -> Kind {
        let name = match peel_value(collection) {
            Expr::Path(p) => p.path.get_ident().map(|i| (i.to_string(), false)),
            Expr::Field(f) => match &f.member {
                Member::Named(n) => Some((n.to_string(), true)),
                Member::Unnamed(_) => None,
            },
            _ => None,
        };
        let Some((name, is_field)) = name else {
            return Kind::Opaque;
        };
        let contents = if is_field {
            self.declared.contents.get(&name)
        } else {
            self.scope.contents.get(&name)
        };
        if let Some(noun) = contents {
            return Kind::State(noun.clone());
        }
        match names_holder_of(self.vocabulary, &name) {
            Some(noun) => Kind::State(noun),
            None => Kind::Opaque,
        }
    }

    /// A field or getter: a state when its declared type or its name says
    /// so; an identity (`generation`, `id`, `name`) or other part otherwise.
    fn member_kind(&self, name: &str, declared: Option<&Vec<Option<Option<Noun>>>>) -> Kind {
        let agreed = Declared::agreed(declared);
        if let Some(Some(noun)) = &agreed {
            return Kind::State(noun.clone());
        }
        if IDENTITY_MEMBERS.contains(&name) {
            return Kind::Other;
        }
        match agreed {
            Some(_) => Kind::Other,
            None => match names_state(self.vocabulary, name, false) {
                Some(noun) => Kind::State(noun),
                // `lease_id`, `ca_generation`, `config_version`
                None if self.vocabulary.is_assignment(name)
                    || self.vocabulary.is_versioned(name) =>
                {
                    Kind::Other
                }
                None => Kind::Opaque,
            },
        }
    }

    /// A getter's value, named by the getter's whole name
    /// (`consumer_assignment()` hands out a consumer assignment).
    fn getter_kind(&self, name: &str) -> Kind {
        match self.member_kind(name, self.declared.returns.get(name)) {
            Kind::State(noun) if Declared::agreed(self.declared.returns.get(name)).is_none() => {
                Kind::State(names_state(self.vocabulary, name, true).unwrap_or(noun))
            }
            kind => kind,
        }
    }

    /// Where `expr`'s value was re-read from, following its receivers:
    /// `rx.borrow_and_update().clone()`, `self.layout.load_full()`,
    /// `self.shards.get(&id).cloned()`, a binding of one of those.
    fn source_of(&self, expr: &Expr) -> Option<(Source, Option<String>)> {
        match expr {
            Expr::Paren(e) => self.source_of(&e.expr),
            Expr::Group(e) => self.source_of(&e.expr),
            Expr::Reference(e) => self.source_of(&e.expr),
            Expr::Unary(e) => self.source_of(&e.expr),
            Expr::Try(e) => self.source_of(&e.expr),
            Expr::Await(e) => self.source_of(&e.base),
            Expr::Field(f) => self.source_of(&f.base),
            Expr::Index(i) => Some((Source::Map, Some(tokens_of(&i.expr)))),
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                match method.as_str() {
                    "borrow_and_update" => Some((Source::Watch, None)),
                    "borrow" if m.args.is_empty() && self.is_watch(&m.receiver) => {
                        Some((Source::Watch, None))
                    }
                    "load" | "load_full" if m.args.is_empty() => Some((Source::ArcSwap, None)),
                    "get" | "get_mut" if m.args.len() == 1 => {
                        Some((Source::Map, Some(tokens_of(&m.receiver))))
                    }
                    _ if !m.args.is_empty()
                        && names_state(self.vocabulary, &method, false).is_some() =>
                    {
                        Some((Source::Lookup, None))
                    }
                    _ => self.source_of(&m.receiver),
                }
            }
            Expr::Call(call) if call.args.len() == 1 && is_same_value_fn(&call.func) => {
                self.source_of(&call.args[0])
            }
            Expr::Path(p) => {
                let ident = p.path.get_ident()?;
                self.reread.get(&ident.to_string()).cloned()
            }
            _ => None,
        }
    }

    /// A watch channel's receiving end, by declared type or name (`config_rx`).
    fn is_watch(&self, expr: &Expr) -> bool {
        let (name, is_field) = match peel_value(expr) {
            Expr::Path(p) => match p.path.get_ident() {
                Some(i) => (i.to_string(), false),
                None => return false,
            },
            Expr::Field(f) => match &f.member {
                Member::Named(n) => (n.to_string(), true),
                Member::Unnamed(_) => return false,
            },
            _ => return false,
        };
        let declared = if is_field {
            self.declared.watches.contains(&name)
        } else {
            self.scope.watches.contains(&name)
        };
        declared || {
            let snake = snake_case(&name);
            let last = snake.rsplit('_').next().unwrap_or("");
            matches!(last, "rx" | "receiver" | "watch" | "watcher")
        }
    }

    /// Binds the names of `pat` that receive a state from `value`, or
    /// (a plain name) a known non-state:
    /// `let cur = ca.clone()`, `if let Some(cur) = &self.ca`,
    /// `match (&nca, &ca) { (Some(a), Some(b)) => .. }`.
    fn bind(&mut self, pat: &Pat, value: &Expr) {
        let mut names = Vec::new();
        self.states_bound(pat, value, &mut names);
        for (name, noun) in names {
            self.scope.bindings.insert(name, Kind::State(noun));
        }
        if let Some(source) = self.source_of(value) {
            let mut idents = Vec::new();
            simple_names(pat, &mut idents);
            for name in idents {
                self.reread.insert(name, source.clone());
            }
        }
        // `let ca = ca.generation;` shadows the state with an identity.
        if let Pat::Ident(ident) = pat {
            if self.kind_of(value) == Kind::Other {
                self.scope
                    .bindings
                    .insert(ident.ident.to_string(), Kind::Other);
            }
        }
        if let Pat::Type(typed) = pat {
            self.scope
                .bind_typed(self.vocabulary, &typed.pat, &typed.ty);
        }
    }

    fn states_bound(&self, pat: &Pat, value: &Expr, names: &mut Vec<(String, Noun)>) {
        match pat {
            Pat::Reference(r) => self.states_bound(&r.pat, value, names),
            Pat::Paren(p) => self.states_bound(&p.pat, value, names),
            Pat::Tuple(tuple) => {
                if let Expr::Tuple(values) = peel_value(value) {
                    if values.elems.len() == tuple.elems.len() {
                        for (pat, value) in tuple.elems.iter().zip(&values.elems) {
                            self.states_bound(pat, value, names);
                        }
                    }
                }
            }
            Pat::Ident(ident) if ident.subpat.is_none() => {
                if let Kind::State(noun) = self.kind_of(value) {
                    names.push((ident.ident.to_string(), noun));
                }
            }
            Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
                let wrapper = last_segment(&ts.path).unwrap_or_default();
                if matches!(wrapper.as_str(), "Some" | "Ok") {
                    self.states_bound(&ts.elems[0], value, names);
                }
            }
            _ => {}
        }
    }

    /// `map.get(k).is_some_and(|cur| ..)`, `self.layouts.iter().any(|l| ..)`:
    /// the closure's parameter is the receiver's value, or its element.
    fn bind_closure_params(&mut self, m: &syn::ExprMethodCall) {
        if !passes_value_to_closure(&m.method.to_string()) {
            return;
        }
        let receiver = &*m.receiver;
        let (kind, source) = match receiver {
            Expr::MethodCall(inner)
                if inner.args.is_empty()
                    && matches!(
                        inner.method.to_string().as_str(),
                        "iter" | "values" | "into_iter"
                    ) =>
            {
                (self.element_kind(&inner.receiver), None)
            }
            _ => (self.kind_of(receiver), self.source_of(receiver)),
        };
        for arg in &m.args {
            let Expr::Closure(closure) = arg else {
                continue;
            };
            let Some(first) = closure.inputs.first() else {
                continue;
            };
            let mut idents = Vec::new();
            simple_names(first, &mut idents);
            for name in idents {
                if let Kind::State(noun) = &kind {
                    self.scope
                        .bindings
                        .entry(name.clone())
                        .or_insert_with(|| Kind::State(noun.clone()));
                }
                if let Some(source) = &source {
                    self.reread.insert(name, source.clone());
                }
            }
        }
    }

    fn record(&mut self, compare: Compare, span: Span, tokens: TokenStream, found: Found) {
        self.found.push(Comparison {
            compare,
            text: snippet(&tokens, 72),
            span: Extent::spanning(span, tokens),
            function: self.function,
            noun: found.noun,
            source: found.source.as_ref().map(|s| s.0),
            raw: found.raw,
            operands: found.operands,
            map: found.source.and_then(|s| s.1),
        });
    }

    fn found(&self, a: &Expr, b: &Expr, raw: bool) -> Option<Found> {
        let noun = compared(&self.kind_of(a), &self.kind_of(b))?;
        Some(Found {
            noun,
            source: self.source_of(a).or_else(|| self.source_of(b)),
            raw,
            operands: [tokens_of(a), tokens_of(b)],
        })
    }

    /// `Arc::ptr_eq(a, b) || a == b`, `!Arc::ptr_eq(a, b) && !a.same_identity(b)`:
    /// pointer equality as a shortcut for a real comparison is not an identity check.
    fn mark_fast_path(&mut self, expr: &syn::ExprBinary) {
        let shortcut_when = match expr.op {
            BinOp::Or(_) => false, // `same pointer || ..`
            BinOp::And(_) => true, // `not the same pointer && ..`
            _ => return,
        };
        for (side, other) in [(&*expr.left, &*expr.right), (&*expr.right, &*expr.left)] {
            if let Some((core, a, b, negated)) = pointer_test(side) {
                if negated == shortcut_when && mentions_both(other, a, b) {
                    self.fast_paths.insert(core as *const Expr as usize);
                }
            }
        }
    }

    fn check_expr(&mut self, expr: &Expr) {
        if let Some((a, b, _, raw)) = pointer_operands(expr) {
            let is_fast_path = self.fast_paths.contains(&(expr as *const Expr as usize));
            if is_fast_path {
                return;
            }
            if let Some(found) = self.found(a, b, raw) {
                self.record(Compare::Pointer, expr.span(), expr.to_token_stream(), found);
            }
        } else if let Some((a, b)) = value_operands(expr) {
            if made_on_the_spot(a) || made_on_the_spot(b) {
                return;
            }
            if let Some(found) = self.found(a, b, false) {
                self.record(Compare::Value, expr.span(), expr.to_token_stream(), found);
            }
        }
    }

    fn check_assert(&mut self, mac: &Macro) {
        let Some(MacroBody::Exprs(args)) = self.bodies.get(mac) else {
            return;
        };
        let [a, b, ..] = args.as_slice() else { return };
        let (compare, a, b) = match (address_of(a), address_of(b)) {
            (None, None) if made_on_the_spot(a) || made_on_the_spot(b) => return,
            (None, None) => (Compare::Value, a, b),
            (left, right) => (Compare::Pointer, left.unwrap_or(a), right.unwrap_or(b)),
        };
        if let Some(found) = self.found(a, b, false) {
            // `assert_eq!(a, b)`, without the message arguments.
            let (a, b) = (&args[0], &args[1]);
            let text = format!(
                "{}!({}, {})",
                macro_name(mac),
                snippet(a, 72),
                snippet(b, 72)
            );
            self.found.push(Comparison {
                compare,
                span: Extent::of(mac),
                text,
                function: self.function,
                noun: found.noun,
                source: found.source.as_ref().map(|s| s.0),
                raw: false,
                operands: found.operands,
                map: found.source.and_then(|s| s.1),
            });
        }
    }
}

struct Found {
    noun: Noun,
    source: Option<(Source, Option<String>)>,
    raw: bool,
    operands: [String; 2],
}

/// The plain names a pattern binds through `&`, `Some(..)`, `Ok(..)`, tuples.
fn simple_names(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(ident) if ident.subpat.is_none() => out.push(ident.ident.to_string()),
        Pat::Reference(r) => simple_names(&r.pat, out),
        Pat::Paren(p) => simple_names(&p.pat, out),
        Pat::Type(t) => simple_names(&t.pat, out),
        Pat::TupleStruct(ts) => {
            let wrapper = last_segment(&ts.path).unwrap_or_default();
            if matches!(wrapper.as_str(), "Some" | "Ok") {
                for elem in &ts.elems {
                    simple_names(elem, out);
                }
            }
        }
        _ => {}
    }
}

impl<'a> Visit<'a> for Finder<'a, '_> {
    fn visit_item(&mut self, _: &'a syn::Item) {
        // Nested items are functions of their own.
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Binary(binary) => self.mark_fast_path(binary),
            Expr::Match(m) => {
                for arm in &m.arms {
                    self.bind(&arm.pat, &m.expr);
                }
            }
            Expr::Let(l) => self.bind(&l.pat, &l.expr),
            Expr::Closure(closure) => {
                for input in &closure.inputs {
                    if let Pat::Type(typed) = input {
                        self.scope
                            .bind_typed(self.vocabulary, &typed.pat, &typed.ty);
                    }
                }
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if matches!(
                    method.as_str(),
                    "remove" | "remove_entry" | "swap_remove" | "shift_remove"
                ) {
                    self.removed_from.insert(tokens_of(&m.receiver));
                }
                self.bind_closure_params(m);
            }
            _ => {}
        }
        self.check_expr(expr);
        syn::visit::visit_expr(self, expr);
    }

    fn visit_local(&mut self, local: &'a syn::Local) {
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
            self.bind(&local.pat, &init.expr);
        } else if let Pat::Type(typed) = &local.pat {
            self.scope
                .bind_typed(self.vocabulary, &typed.pat, &typed.ty);
        }
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        if is_assert_compare(mac) {
            self.check_assert(mac);
        }
        walk_macro(self, self.bodies, mac);
    }
}
