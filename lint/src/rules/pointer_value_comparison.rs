//! `pointer_value_comparison`: assignments compared by pointer identity, and
//! by value elsewhere in a file that compares them by pointer.
//!
//! The analysis is per function and flow-insensitive. An operand is an
//! assignment when its name says so (`nca`, `self.ca`, `current_lease`,
//! `o.consumer_assignment()`) or its declared type does (a parameter, typed
//! `let` or closure parameter of type `&Arc<ConsumerAssignment>`, a struct
//! field or a method return type declared in the same file). A name counts
//! only when its *last* word is assignment-like, so `lease_id`,
//! `LeaseManager` and `assignment_tx` are not assignments.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, FnArg, Macro, Member, Pat, ReturnType, Type, UnOp};

use crate::engine::Context;
use crate::finding::Finding;
use crate::macro_bodies::{walk_macro, MacroBodies, MacroBody};
use crate::prefilter::{Needs, Trigger::*};
use crate::syntax::{last_segment, macro_name, path_ends_with, snake_case, snippet, FnUnit};
use crate::vocabulary::Vocabulary;

declare_rule! {
    /// ## What it flags
    ///
    /// Assignment-like values (a consumer or stream assignment, a lease, a
    /// placement, an ownership record: by name, such as `ca`, `nca`,
    /// `self.ca`, `current_lease`, or by declared type, such as
    /// `ca: &Arc<ConsumerAssignment>` or `lease: Rc<Lease>`) compared by
    /// pointer identity: `Arc::ptr_eq(&a, &b)`, `Rc::ptr_eq`, `std::ptr::eq`,
    /// `ptr::addr_eq`, `a.as_ptr() == b.as_ptr()`,
    /// `Arc::as_ptr(&a) == Arc::as_ptr(&b)`.
    ///
    /// In a file that does that, every comparison of whole assignments by
    /// value (`nca != ca`, `assert_eq!(ca, nca)`) is reported too, with a
    /// label at the pointer comparison: the file has two notions of "the same
    /// assignment", and at most one of them is right.
    ///
    /// Not flagged: pointer equality on channels, wakers, `Notify`, pools or
    /// raft nodes; `same_channel`/`will_wake`; comparisons of identity fields
    /// (`a.generation == b.generation`, `.revision`, `.id`, `.created`);
    /// option checks (`nca.is_none()`, `nca == None`) and comparisons with
    /// literals or constants; `Arc::ptr_eq(a, b) || a == b` fast paths; value
    /// equality in a file that never compares assignments by pointer; tests.
    ///
    /// ## Why it is a bug
    ///
    /// Neither pointer nor value equality is the identity of an assignment.
    /// A re-fetched, cloned or deserialized assignment is a new allocation, so
    /// by pointer an unchanged assignment looks replaced. A consumer deleted
    /// and re-created with the same configuration is equal by value, so by
    /// value a replaced assignment looks unchanged (ABA).
    ///
    /// The review of nats-server PR 7792 is the story: `deleteNotActive`
    /// changed `reflect.DeepEqual(nca, ca)` (value) into
    /// `nca != o.consumerAssignment()` (pointer), and the two answers differ
    /// exactly when the meta layer re-creates or re-delivers an assignment.
    /// The decision they feed is whether to force-delete a consumer.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// fn delete_not_active(&self, ca: &Arc<ConsumerAssignment>) {
    ///     let nca = self.js.consumer_assignment(&self.stream, &self.name);
    ///     if nca.as_ref().map_or(true, |nca| !Arc::ptr_eq(nca, ca)) {
    ///         self.delete(); // also on a mere re-fetch of the same assignment
    ///     }
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// Compare an explicit identity: a generation, revision or raft index
    /// stored in the assignment, or one `same_identity` helper used
    /// everywhere.
    ///
    /// ```rust,ignore
    /// impl ConsumerAssignment {
    ///     fn same_identity(&self, other: &Self) -> bool {
    ///         self.name == other.name && self.stream == other.stream && self.created == other.created
    ///     }
    /// }
    ///
    /// fn delete_not_active(&self, ca: &Arc<ConsumerAssignment>) {
    ///     let nca = self.js.consumer_assignment(&self.stream, &self.name);
    ///     if nca.as_ref().map_or(true, |nca| !nca.same_identity(ca)) {
    ///         self.delete();
    ///     }
    /// }
    /// ```
    INFO = "pointer_value_comparison",
    Warn,
    "assignments compared by pointer identity, or by pointer in one place and by value in another"
}

/// Value comparisons are reported only in files that compare by pointer,
/// and every pointer comparison is spelled with one of these: `ptr_eq`,
/// `ptr::eq`, `addr_eq`, `as_ptr`, `ptr::from_ref`, or a cast to a raw
/// pointer (`as *const`, `as *mut`). Raw-pointer types alone are not
/// enough: FFI bindings are full of them.
pub const NEEDS: Needs = Needs(&[&[
    Word("ptr_eq"),
    Word("ptr::eq"),
    Word("addr_eq"),
    Word("as_ptr"),
    Word("ptr::from_ref"),
    Regex(r"\bas\s*\*\s*(?:const|mut)\b"),
]]);

const POINTER_HELP: &str = "compare an explicit identity instead: a generation, revision or raft index \
     kept in the assignment, or a `same_identity(a, b)` helper (name, stream, creation time, group) used \
     for every comparison of assignments";

const VALUE_HELP: &str = "compare an explicit identity in both places: a generation, revision or raft \
     index kept in the assignment, or one `same_identity(a, b)` helper (name, stream, creation time, group)";

pub fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let declared = Declared::of_file(cx);
    let mut comparisons = Vec::new();
    for (index, function) in cx.functions.iter().enumerate() {
        let mut finder = Finder {
            vocabulary: cx.vocabulary,
            bodies: cx.bodies,
            declared: &declared,
            scope: Scope::of(function, cx.vocabulary),
            function: index,
            fast_paths: HashSet::new(),
            found: &mut comparisons,
        };
        finder.visit_block(function.body);
    }
    report(&comparisons, out);
}

// ---------------------------------------------------------------------------
// Reporting

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    Pointer,
    Value,
}

/// One comparison of two assignments, in source order within its function.
struct Comparison {
    compare: Compare,
    span: Span,
    text: String,
    function: usize,
}

fn report(comparisons: &[Comparison], out: &mut Vec<Finding>) {
    let pointers: Vec<&Comparison> = comparisons
        .iter()
        .filter(|c| c.compare == Compare::Pointer)
        .collect();
    if pointers.is_empty() {
        return;
    }
    let values: Vec<&Comparison> = comparisons
        .iter()
        .filter(|c| c.compare == Compare::Value)
        .collect();
    for pointer in &pointers {
        let mut finding = Finding::new(
            &INFO,
            pointer.span,
            format!(
                "`{}` compares assignments by pointer: a re-fetched or cloned assignment is a new \
                 allocation, so an unchanged assignment looks replaced",
                pointer.text
            ),
            POINTER_HELP,
        );
        if let Some(value) = nearest(&values, pointer.function) {
            finding = finding.with_label(
                value.span,
                format!("`{}` compares assignments by value", value.text),
            );
        }
        out.push(finding);
    }
    for value in &values {
        let pointer = nearest(&pointers, value.function).expect("there is a pointer comparison");
        let where_ = match line_of(pointer.span) {
            Some(line) => format!("line {line}"),
            None => format!("`{}`", pointer.text),
        };
        out.push(
            Finding::new(
                &INFO,
                value.span,
                format!(
                    "`{}` compares whole assignments by value while {where_} compares them by \
                     pointer: a consumer deleted and re-created with the same config is equal by \
                     value (ABA)",
                    value.text
                ),
                VALUE_HELP,
            )
            .with_label(pointer.span, "assignments are compared by pointer here"),
        );
    }
}

/// The first comparison in `function`, or else the first in the file.
fn nearest<'c>(comparisons: &[&'c Comparison], function: usize) -> Option<&'c Comparison> {
    comparisons
        .iter()
        .find(|c| c.function == function)
        .or_else(|| comparisons.first())
        .copied()
}

#[cfg(feature = "span-locations")]
fn line_of(span: Span) -> Option<usize> {
    Some(span.start().line).filter(|&line| line > 0)
}

#[cfg(not(feature = "span-locations"))]
fn line_of(_: Span) -> Option<usize> {
    None
}

// ---------------------------------------------------------------------------
// What an operand is

/// What an operand of a comparison is known to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// An assignment, by name or declared type.
    Assignment,
    /// A value we know nothing about: an untyped local, an unknown field.
    Opaque,
    /// Not an assignment: a literal, a constant, an identity field, a value
    /// of a declared non-assignment type.
    Other,
}

/// Both operands are assignments, or one is and nothing says the other is not.
fn compares_assignments(a: Kind, b: Kind) -> bool {
    matches!(
        (a, b),
        (Kind::Assignment, Kind::Assignment | Kind::Opaque) | (Kind::Opaque, Kind::Assignment)
    )
}

/// Words after the head noun that keep the value what it was:
/// `ca_ref`, `lease_snapshot`, `assignment_before` are still assignments.
const SAME_VALUE_SUFFIXES: &[&str] = &[
    "ref", "arc", "rc", "ptr", "opt", "option", "snapshot", "snap", "copy", "clone", "cloned",
    "before", "after", "now", "old", "new", "prev", "next", "cur", "current", "latest",
];

/// Whether an identifier names an assignment: its last word is
/// assignment-like (`current_lease`, `ConsumerAssignment`, `nca`), not
/// `lease_id`, `LeaseManager`, `assignment_tx` or the collection `leases`.
fn names_assignment(vocabulary: &Vocabulary, ident: &str) -> bool {
    let snake = snake_case(ident);
    let mut words: Vec<&str> = snake.split('_').filter(|w| !w.is_empty()).collect();
    while words.len() > 1 {
        let last = words[words.len() - 1];
        if SAME_VALUE_SUFFIXES.contains(&last) || last.bytes().all(|b| b.is_ascii_digit()) {
            words.pop();
        } else {
            break;
        }
    }
    let Some(head) = words.last() else {
        return false;
    };
    let plural = head.len() > 3
        && head
            .strip_suffix('s')
            .is_some_and(|one| vocabulary.is_assignment(one));
    vocabulary.is_assignment(head) && !plural
}

/// Fields and getters that are an explicit identity, or a part, of an
/// assignment: comparing them is the fix, not the bug.
const IDENTITY_MEMBERS: &[&str] = &[
    "generation",
    "gen",
    "revision",
    "rev",
    "version",
    "epoch",
    "term",
    "index",
    "idx",
    "seq",
    "id",
    "uid",
    "name",
    "key",
    "created",
    "stream",
    "group",
    "config",
    "len",
    "count",
];

/// Smart pointers, options and cells that hold one value of their first
/// type argument: `Arc<Mutex<Option<Lease>>>` is a lease.
const HOLDERS: &[&str] = &[
    "Arc",
    "Rc",
    "Weak",
    "Box",
    "Option",
    "Cow",
    "NonNull",
    "Pin",
    "ArcSwap",
    "ArcSwapOption",
    "Mutex",
    "RwLock",
    "RefCell",
    "OnceCell",
    "OnceLock",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "Ref",
];

/// What a declared type says: `Some(true)` for an assignment type,
/// `Some(false)` for another concrete type, `None` when it says nothing
/// (`Self`, a generic parameter, `impl Trait`, `_`).
fn type_says(vocabulary: &Vocabulary, ty: &Type, generics: &HashSet<String>) -> Option<bool> {
    match ty {
        Type::Reference(r) => type_says(vocabulary, &r.elem, generics),
        Type::Ptr(p) => type_says(vocabulary, &p.elem, generics),
        Type::Paren(p) => type_says(vocabulary, &p.elem, generics),
        Type::Group(g) => type_says(vocabulary, &g.elem, generics),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if HOLDERS.contains(&name.as_str()) {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    let inner = args.args.iter().find_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    });
                    if let Some(inner) = inner {
                        return type_says(vocabulary, inner, generics);
                    }
                }
                return None;
            }
            if name == "Self" || (p.path.segments.len() == 1 && generics.contains(&name)) {
                return None;
            }
            Some(names_assignment(vocabulary, &name))
        }
        Type::Tuple(_) | Type::Array(_) | Type::Slice(_) | Type::BareFn(_) | Type::Never(_) => {
            Some(false)
        }
        _ => None,
    }
}

/// Field and method types declared in this file, by name.
#[derive(Default)]
struct Declared {
    fields: HashMap<String, Vec<Option<bool>>>,
    returns: HashMap<String, Vec<Option<bool>>>,
}

impl Declared {
    fn of_file(cx: &Context<'_>) -> Declared {
        struct Fields<'v> {
            vocabulary: &'v Vocabulary,
            out: HashMap<String, Vec<Option<bool>>>,
        }
        impl<'a> Visit<'a> for Fields<'_> {
            fn visit_item_struct(&mut self, item: &'a syn::ItemStruct) {
                let generics = generic_names(&item.generics);
                for field in &item.fields {
                    if let Some(name) = &field.ident {
                        self.out
                            .entry(name.to_string())
                            .or_default()
                            .push(type_says(self.vocabulary, &field.ty, &generics));
                    }
                }
            }
        }
        let mut fields = Fields {
            vocabulary: cx.vocabulary,
            out: HashMap::new(),
        };
        fields.visit_file(cx.file);
        let mut returns: HashMap<String, Vec<Option<bool>>> = HashMap::new();
        for function in &cx.functions {
            if let ReturnType::Type(_, ty) = &function.sig.output {
                let generics = generic_names(&function.sig.generics);
                returns
                    .entry(function.name().to_string())
                    .or_default()
                    .push(type_says(cx.vocabulary, ty, &generics));
            }
        }
        Declared {
            fields: fields.out,
            returns,
        }
    }

    /// What the declarations of `name` agree on, if they agree.
    fn agreed(declarations: Option<&Vec<Option<bool>>>) -> Option<bool> {
        let known: Vec<bool> = declarations?.iter().flatten().copied().collect();
        let first = *known.first()?;
        known.iter().all(|&k| k == first).then_some(first)
    }
}

fn generic_names(generics: &syn::Generics) -> HashSet<String> {
    generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect()
}

/// The bindings of one function whose kind is known from a declaration or
/// from what they were bound to.
struct Scope {
    bindings: HashMap<String, Kind>,
    generics: HashSet<String>,
}

impl Scope {
    fn of(function: &FnUnit<'_>, vocabulary: &Vocabulary) -> Scope {
        let mut scope = Scope {
            bindings: HashMap::new(),
            generics: generic_names(&function.sig.generics),
        };
        for input in &function.sig.inputs {
            if let FnArg::Typed(typed) = input {
                scope.bind_typed(vocabulary, &typed.pat, &typed.ty);
            }
        }
        scope
    }

    fn bind_typed(&mut self, vocabulary: &Vocabulary, pat: &Pat, ty: &Type) {
        if let (Pat::Ident(ident), Some(is)) = (pat, type_says(vocabulary, ty, &self.generics)) {
            let kind = if is { Kind::Assignment } else { Kind::Other };
            self.bindings.insert(ident.ident.to_string(), kind);
        }
    }
}

/// Strips what does not change which value is meant: `&`, `*`, parentheses,
/// `.clone()`, `.as_ref()`, `.load()`, `.lock().unwrap()`, `Arc::clone(&x)`.
fn peel_value(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Paren(e) => &e.expr,
            Expr::Group(e) => &e.expr,
            Expr::Reference(e) => &e.expr,
            Expr::Unary(e) if matches!(e.op, UnOp::Deref(_)) => &e.expr,
            Expr::Try(e) => &e.expr,
            Expr::Await(e) => &e.base,
            Expr::MethodCall(m) if m.args.is_empty() && is_same_value_method(&m.method) => {
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
            | "as_ref"
            | "as_deref"
            | "borrow"
            | "deref"
            | "load"
            | "load_full"
            | "lock"
            | "read"
            | "write"
            | "unwrap"
            | "upgrade"
            | "to_owned"
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

/// The two operands of a pointer comparison, and whether it asks "not the same".
fn pointer_operands(expr: &Expr) -> Option<(&Expr, &Expr, bool)> {
    match expr {
        Expr::Call(call) if call.args.len() == 2 => {
            let Expr::Path(p) = &*call.func else {
                return None;
            };
            let path = &p.path;
            let is_pointer_eq = path_ends_with(path, &["ptr_eq"])
                || path_ends_with(path, &["ptr", "eq"])
                || path_ends_with(path, &["addr_eq"]);
            is_pointer_eq.then(|| (&call.args[0], &call.args[1], false))
        }
        Expr::MethodCall(m) if m.method == "ptr_eq" && m.args.len() == 1 => {
            Some((&m.receiver, &m.args[0], false))
        }
        Expr::Binary(b) if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) => {
            let (left, right) = (address_of(&b.left), address_of(&b.right));
            left.or(right)?;
            let left = left.unwrap_or(&b.left);
            let right = right.unwrap_or(&b.right);
            Some((left, right, matches!(b.op, BinOp::Ne(_))))
        }
        _ => None,
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
        _ => pointer_operands(expr).map(|(a, b, negated)| (expr, a, b, negated)),
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
/// default), not whether two assignments are the same one.
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

// ---------------------------------------------------------------------------
// The walk over one function

struct Finder<'a, 'o> {
    vocabulary: &'a Vocabulary,
    bodies: &'a MacroBodies,
    declared: &'a Declared,
    scope: Scope,
    function: usize,
    /// Pointer comparisons that only short-cut a real comparison.
    fast_paths: HashSet<usize>,
    found: &'o mut Vec<Comparison>,
}

impl Finder<'_, '_> {
    fn kind_of(&self, expr: &Expr) -> Kind {
        match peel_value(expr) {
            Expr::Path(p) if p.qself.is_none() => match p.path.get_ident() {
                Some(ident) if ident == "self" => Kind::Other,
                Some(ident) => {
                    let name = ident.to_string();
                    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        Kind::Other // `None`, a constant or a unit variant
                    } else if let Some(&kind) = self.scope.bindings.get(&name) {
                        kind
                    } else if names_assignment(self.vocabulary, &name) {
                        Kind::Assignment
                    } else {
                        Kind::Opaque
                    }
                }
                None => Kind::Other, // `Lease::EMPTY`, `State::Expired`
            },
            Expr::Field(field) => match &field.member {
                Member::Named(name) => self.member_kind(
                    &name.to_string(),
                    self.declared.fields.get(&name.to_string()),
                ),
                Member::Unnamed(_) => Kind::Opaque,
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                self.member_kind(&name, self.declared.returns.get(&name))
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
                        self.member_kind(&name, self.declared.returns.get(&name))
                    }
                }
                _ => Kind::Opaque,
            },
            Expr::Index(_) => Kind::Opaque,
            _ => Kind::Other,
        }
    }

    /// A field or getter: assignment when its declared type or its name says
    /// so; an identity (`generation`, `id`, `name`) or other part otherwise.
    fn member_kind(&self, name: &str, declared: Option<&Vec<Option<bool>>>) -> Kind {
        if IDENTITY_MEMBERS.contains(&name) {
            return Kind::Other;
        }
        match Declared::agreed(declared) {
            Some(true) => Kind::Assignment,
            Some(false) => Kind::Other,
            None if names_assignment(self.vocabulary, name) => Kind::Assignment,
            None if self.vocabulary.is_assignment(name) => Kind::Other, // `lease_id`, `ca_generation`
            None => Kind::Opaque,
        }
    }

    /// Binds the names of `pat` that receive an assignment from `value`, or
    /// (a plain name) a known non-assignment:
    /// `let cur = ca.clone()`, `if let Some(cur) = &self.ca`,
    /// `match (&nca, &ca) { (Some(a), Some(b)) => .. }`.
    fn bind(&mut self, pat: &Pat, value: &Expr) {
        let mut names = Vec::new();
        self.assignments_bound(pat, value, &mut names);
        for name in names {
            self.scope.bindings.insert(name, Kind::Assignment);
        }
        // `let ca = ca.generation;` shadows the assignment with an identity.
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

    fn assignments_bound(&self, pat: &Pat, value: &Expr, names: &mut Vec<String>) {
        match pat {
            Pat::Reference(r) => self.assignments_bound(&r.pat, value, names),
            Pat::Paren(p) => self.assignments_bound(&p.pat, value, names),
            Pat::Tuple(tuple) => {
                if let Expr::Tuple(values) = peel_value(value) {
                    if values.elems.len() == tuple.elems.len() {
                        for (pat, value) in tuple.elems.iter().zip(&values.elems) {
                            self.assignments_bound(pat, value, names);
                        }
                    }
                }
            }
            Pat::Ident(ident)
                if ident.subpat.is_none() && self.kind_of(value) == Kind::Assignment =>
            {
                names.push(ident.ident.to_string());
            }
            Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
                let wrapper = last_segment(&ts.path).unwrap_or_default();
                if matches!(wrapper.as_str(), "Some" | "Ok") {
                    self.assignments_bound(&ts.elems[0], value, names);
                }
            }
            _ => {}
        }
    }

    fn record(&mut self, compare: Compare, span: Span, tokens: TokenStream) {
        self.found.push(Comparison {
            compare,
            span,
            text: snippet(&tokens, 72),
            function: self.function,
        });
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
        if let Some((a, b, _)) = pointer_operands(expr) {
            let is_fast_path = self.fast_paths.contains(&(expr as *const Expr as usize));
            if !is_fast_path && compares_assignments(self.kind_of(a), self.kind_of(b)) {
                self.record(Compare::Pointer, expr.span(), expr.to_token_stream());
            }
        } else if let Some((a, b)) = value_operands(expr) {
            if !made_on_the_spot(a)
                && !made_on_the_spot(b)
                && compares_assignments(self.kind_of(a), self.kind_of(b))
            {
                self.record(Compare::Value, expr.span(), expr.to_token_stream());
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
        if compares_assignments(self.kind_of(a), self.kind_of(b)) {
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
                span: mac.span(),
                text,
                function: self.function,
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_by_their_last_word() {
        let v = Vocabulary::default();
        for yes in [
            "nca",
            "ca",
            "ConsumerAssignment",
            "current_lease",
            "lease",
            "ca_ref",
            "assignment_before",
            "old_ca",
            "lease_2",
        ] {
            assert!(names_assignment(&v, yes), "{yes}");
        }
        for no in [
            "lease_id",
            "LeaseManager",
            "assignment_tx",
            "leases",
            "assignments",
            "ca_generation",
            "release",
            "current",
        ] {
            assert!(!names_assignment(&v, no), "{no}");
        }
    }

    #[test]
    fn declared_types_see_through_holders_but_not_collections() {
        let v = Vocabulary::default();
        let none = HashSet::new();
        let says = |src: &str| type_says(&v, &syn::parse_str(src).unwrap(), &none);
        assert_eq!(says("&Arc<ConsumerAssignment>"), Some(true));
        assert_eq!(says("Option<Rc<RefCell<Lease>>>"), Some(true));
        assert_eq!(says("Arc<Notify>"), Some(false));
        assert_eq!(says("Vec<Lease>"), Some(false));
        assert_eq!(says("&Self"), None);
        let t: HashSet<String> = ["T".to_string()].into();
        assert_eq!(type_says(&v, &syn::parse_str("&Arc<T>").unwrap(), &t), None);
    }
}
