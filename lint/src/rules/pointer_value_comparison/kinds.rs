//! What an operand of a comparison is: which kind of state (an assignment, a
//! lease, a cluster layout, a configuration ...) by its name or declared
//! type, and the words used to name that kind in a message.
//!
//! A name counts only when its *last* word is the noun, so `lease_id`,
//! `LeaseManager`, `config_tx` and the collection `configs` are not states
//! (a collection's *elements* are: `self.configs.get(&id)` is a
//! configuration). A versioned value behind a lock (`Arc<RwLock<Segment>>`)
//! is a mutable object whose identity is its address: not a state here.

use std::collections::{HashMap, HashSet};

use syn::visit::Visit;
use syn::{FnArg, Pat, ReturnType, Type};

use crate::engine::Context;
use crate::syntax::{snake_case, FnUnit};
use crate::vocabulary::Vocabulary;

/// The two vocabularies, which differ in what makes a pointer comparison
/// of them a finding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Family {
    /// Assignments, leases, placements: any pointer comparison.
    Assignment,
    /// Versioned state: a pointer comparison of a value re-read from a
    /// watch channel, an `ArcSwap` or a map, or in a file that also
    /// compares the same kind by value.
    Versioned,
}

/// A kind of state, as a message names it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Noun {
    pub family: Family,
    /// The head noun (`assignment`, `lease`, `configuration`, `shard map`):
    /// comparisons of one head are comparisons of one kind.
    pub key: String,
    /// The words for one value (`consumer assignment`, `cluster layout`).
    pub singular: String,
}

impl Noun {
    pub fn plural(&self) -> String {
        plural(&self.singular)
    }

    /// "a lease", "an epoch".
    pub fn a(&self) -> String {
        let article = if self.singular.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {}", self.singular)
    }
}

fn plural(words: &str) -> String {
    if words.ends_with("ss") || words.ends_with('x') || words.ends_with("sh") {
        format!("{words}es")
    } else if let Some(stem) = words
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else if words.ends_with('s') {
        words.to_string()
    } else {
        format!("{words}s")
    }
}

/// What an operand of a comparison is known to be.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    /// A state of this kind, by name or declared type.
    State(Noun),
    /// A value we know nothing about: an untyped local, an unknown field.
    Opaque,
    /// Not a state: a literal, a constant, an identity field, a value of a
    /// declared other type.
    Other,
}

/// The noun of a comparison: both operands are states, or one is and
/// nothing says the other is not. Two assignments of different words
/// (`osa != ca`) are "assignments".
pub(super) fn compared(a: &Kind, b: &Kind) -> Option<Noun> {
    match (a, b) {
        (Kind::State(x), Kind::State(y)) if x.key == y.key => {
            if x.singular.ends_with(&y.singular) {
                Some(x.clone())
            } else if y.singular.ends_with(&x.singular) {
                Some(y.clone())
            } else {
                Some(Noun {
                    singular: x.key.clone(),
                    ..x.clone()
                })
            }
        }
        (Kind::State(x), Kind::State(_)) => Some(x.clone()),
        (Kind::State(x), Kind::Opaque) | (Kind::Opaque, Kind::State(x)) => Some(x.clone()),
        _ => None,
    }
}

/// Words after the head noun that keep the value what it was:
/// `ca_ref`, `lease_snapshot`, `layout_before` are still states.
const SAME_VALUE_SUFFIXES: &[&str] = &[
    "ref", "arc", "rc", "ptr", "opt", "option", "snapshot", "snap", "copy", "clone", "cloned",
    "before", "after", "now", "old", "new", "prev", "next", "cur", "current", "latest",
];

/// Words after the head noun of a handle that *holds* the state and hands
/// out a copy on `borrow()`/`load()`: `config_rx`, `layout_watch`, `schema_swap`.
const HOLDER_SUFFIXES: &[&str] = &[
    "rx", "receiver", "watch", "watcher", "swap", "cell", "slot", "store", "handle", "tx", "sender",
];

/// Leading words of a type or getter name that say which one, not what it
/// is: `current_lease()` names a lease.
const ADJECTIVES: &[&str] = &[
    "current", "new", "old", "latest", "last", "cached", "prev", "previous", "next", "applied",
    "active", "pending", "local", "remote", "my", "stored", "expected", "get", "fetch", "load",
    "lookup", "find", "read",
];

/// Abbreviations, and heads whose message word is longer.
fn display_head(head: &str) -> (&'static str, Option<&'static str>) {
    match head {
        "ca" | "nca" | "oca" => ("assignment", Some("consumer assignment")),
        "sa" | "nsa" | "osa" => ("assignment", Some("stream assignment")),
        "cfg" | "conf" | "config" => ("configuration", None),
        _ => ("", None),
    }
}

fn words_of(snake: &str) -> Vec<&str> {
    let mut words: Vec<&str> = snake.split('_').filter(|w| !w.is_empty()).collect();
    while words.len() > 1 {
        let last = words[words.len() - 1];
        if SAME_VALUE_SUFFIXES.contains(&last) || last.bytes().all(|b| b.is_ascii_digit()) {
            words.pop();
        } else {
            break;
        }
    }
    words
}

/// The noun an identifier names, if its last word (or last two words, for a
/// compound such as `shard_map`) is one: `current_lease`, `ConsumerAssignment`,
/// `nca`, `ClusterLayout`, `nodes_config`; not `lease_id`, `LeaseManager`,
/// `assignment_tx` or the collection `leases`. A type name is named whole
/// (`cluster layout`), a value by its head (`lease`).
pub(super) fn names_state(vocabulary: &Vocabulary, ident: &str, is_type: bool) -> Option<Noun> {
    let snake = snake_case(ident);
    let words = words_of(&snake);
    noun_of_words(vocabulary, &words, is_type)
}

fn family_of(vocabulary: &Vocabulary, word: &str) -> Option<Family> {
    if vocabulary.is_assignment(word) {
        Some(Family::Assignment)
    } else if vocabulary.is_versioned(word) {
        Some(Family::Versioned)
    } else {
        None
    }
}

fn noun_of_words(vocabulary: &Vocabulary, words: &[&str], is_type: bool) -> Option<Noun> {
    let head = *words.last()?;
    let plural_of_noun = head.len() > 3
        && head
            .strip_suffix('s')
            .is_some_and(|one| family_of(vocabulary, one).is_some());
    if plural_of_noun {
        return None;
    }
    let (family, head_words) = if let Some(family) = family_of(vocabulary, head) {
        (family, 1)
    } else if words.len() >= 2 {
        // A compound: the pair matches, neither word alone does.
        let first = words[words.len() - 2];
        let pair = format!("{first}_{head}");
        match family_of(vocabulary, &pair) {
            Some(family) if family_of(vocabulary, first).is_none() => (family, 2),
            _ => return None,
        }
    } else {
        return None;
    };
    let head_text = words[words.len() - head_words..].join(" ");
    let (key, long) = match display_head(head) {
        ("", _) => (head_text.clone(), None),
        (key, long) => (key.to_string(), long),
    };
    let qualifiers: Vec<&str> = words[..words.len() - head_words]
        .iter()
        .copied()
        .skip_while(|w| ADJECTIVES.contains(w))
        .collect();
    let singular = if is_type && !qualifiers.is_empty() && long.is_none() {
        let mut all = qualifiers;
        all.push(&key);
        all.join(" ")
    } else {
        long.map(str::to_string).unwrap_or_else(|| key.clone())
    };
    Some(Noun {
        family,
        key,
        singular,
    })
}

/// The noun of the elements of a collection or holder by its name:
/// `configs`, `shard_maps`, `leases`, `config_rx`, `layout_watch`.
pub(super) fn names_holder_of(vocabulary: &Vocabulary, ident: &str) -> Option<Noun> {
    let snake = snake_case(ident);
    let mut words = words_of(&snake);
    let head = *words.last()?;
    if HOLDER_SUFFIXES.contains(&head) && words.len() > 1 {
        words.pop();
        return noun_of_words(vocabulary, &words, false);
    }
    let one = head.strip_suffix('s').filter(|_| head.len() > 3)?;
    let n = words.len();
    words[n - 1] = one;
    noun_of_words(vocabulary, &words, false)
}

/// Fields and getters that are an explicit identity, or a part, of a state:
/// comparing them is the fix, not the bug.
pub(super) const IDENTITY_MEMBERS: &[&str] = &[
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

/// Holders through which a value is a mutable object, not a version.
const LOCKS: &[&str] = &[
    "Mutex",
    "RwLock",
    "RefCell",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
];

/// Types that hand out copies of what they hold: a watch channel's ends,
/// maps, vectors. Their elements are the last type argument.
const CONTAINERS: &[&str] = &[
    "Receiver", "Sender", "HashMap", "BTreeMap", "DashMap", "IndexMap", "Vec", "VecDeque", "Cache",
];

/// What a declared type says: `Some(Some(noun))` for a state type,
/// `Some(None)` for another concrete type, `None` when it says nothing
/// (`Self`, a generic parameter, `impl Trait`, `_`).
pub(super) fn type_says(
    vocabulary: &Vocabulary,
    ty: &Type,
    generics: &HashSet<String>,
) -> Option<Option<Noun>> {
    type_says_in(vocabulary, ty, generics, false)
}

fn type_says_in(
    vocabulary: &Vocabulary,
    ty: &Type,
    generics: &HashSet<String>,
    locked: bool,
) -> Option<Option<Noun>> {
    match ty {
        Type::Reference(r) => type_says_in(vocabulary, &r.elem, generics, locked),
        Type::Ptr(p) => type_says_in(vocabulary, &p.elem, generics, locked),
        Type::Paren(p) => type_says_in(vocabulary, &p.elem, generics, locked),
        Type::Group(g) => type_says_in(vocabulary, &g.elem, generics, locked),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if HOLDERS.contains(&name.as_str()) {
                let locked = locked || LOCKS.contains(&name.as_str());
                return type_args(last)
                    .next()
                    .and_then(|inner| type_says_in(vocabulary, inner, generics, locked));
            }
            if name == "Self" || (p.path.segments.len() == 1 && generics.contains(&name)) {
                return None;
            }
            let noun = names_state(vocabulary, &name, true)
                .filter(|n| !(locked && n.family == Family::Versioned));
            Some(noun)
        }
        Type::Tuple(_) | Type::Array(_) | Type::Slice(_) | Type::BareFn(_) | Type::Never(_) => {
            Some(None)
        }
        _ => None,
    }
}

fn type_args(segment: &syn::PathSegment) -> impl Iterator<Item = &Type> {
    let args = match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => Some(args.args.iter()),
        _ => None,
    };
    args.into_iter().flatten().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The state a container type hands out: `watch::Receiver<Arc<Config>>`,
/// `HashMap<TableId, Arc<ShardMap>>`, `Arc<DashMap<K, Lease>>`.
pub(super) fn contents_of(
    vocabulary: &Vocabulary,
    ty: &Type,
    generics: &HashSet<String>,
) -> Option<Noun> {
    match ty {
        Type::Reference(r) => contents_of(vocabulary, &r.elem, generics),
        Type::Paren(p) => contents_of(vocabulary, &p.elem, generics),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if HOLDERS.contains(&name.as_str()) && !LOCKS.contains(&name.as_str()) {
                return contents_of(vocabulary, type_args(last).next()?, generics);
            }
            if CONTAINERS.contains(&name.as_str()) {
                return type_says(vocabulary, type_args(last).last()?, generics).flatten();
            }
            None
        }
        _ => None,
    }
}

/// Field and method types declared in this file, by name.
#[derive(Default)]
pub(super) struct Declared {
    pub fields: HashMap<String, Vec<Option<Option<Noun>>>>,
    pub returns: HashMap<String, Vec<Option<Option<Noun>>>>,
    /// Fields whose type hands out a state (`config_rx: watch::Receiver<Config>`).
    pub contents: HashMap<String, Noun>,
    /// Fields of a watch channel's receiving end.
    pub watches: HashSet<String>,
}

impl Declared {
    pub fn of_file(cx: &Context<'_>) -> Declared {
        struct Fields<'v> {
            vocabulary: &'v Vocabulary,
            out: Declared,
        }
        impl<'a> Visit<'a> for Fields<'_> {
            fn visit_item_struct(&mut self, item: &'a syn::ItemStruct) {
                let generics = generic_names(&item.generics);
                for field in &item.fields {
                    if let Some(name) = &field.ident {
                        let name = name.to_string();
                        if let Some(noun) = contents_of(self.vocabulary, &field.ty, &generics) {
                            self.out.contents.insert(name.clone(), noun);
                        }
                        if is_watch_type(&field.ty) {
                            self.out.watches.insert(name.clone());
                        }
                        self.out.fields.entry(name).or_default().push(type_says(
                            self.vocabulary,
                            &field.ty,
                            &generics,
                        ));
                    }
                }
            }
        }
        let mut fields = Fields {
            vocabulary: cx.vocabulary,
            out: Declared::default(),
        };
        fields.visit_file(cx.file);
        let mut declared = fields.out;
        for function in &cx.functions {
            if let ReturnType::Type(_, ty) = &function.sig.output {
                let generics = generic_names(&function.sig.generics);
                declared
                    .returns
                    .entry(function.name().to_string())
                    .or_default()
                    .push(type_says(cx.vocabulary, ty, &generics));
            }
        }
        declared
    }

    /// What the declarations of `name` agree on, if they agree.
    pub fn agreed(declarations: Option<&Vec<Option<Option<Noun>>>>) -> Option<Option<Noun>> {
        let mut known = declarations?.iter().flatten();
        let first = known.next()?;
        let key = |n: &Option<Noun>| n.as_ref().map(|n| n.key.clone());
        known.all(|k| key(k) == key(first)).then(|| first.clone())
    }
}

/// `watch::Receiver<..>`, `Receiver<..>` from a `watch` path, behind references.
pub(super) fn is_watch_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_watch_type(&r.elem),
        Type::Path(p) => {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            matches!(segments.last().map(String::as_str), Some("Receiver"))
                && segments.iter().any(|s| s == "watch")
        }
        _ => false,
    }
}

pub(super) fn generic_names(generics: &syn::Generics) -> HashSet<String> {
    generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect()
}

/// The bindings of one function whose kind is known from a declaration or
/// from what they were bound to.
pub(super) struct Scope {
    pub bindings: HashMap<String, Kind>,
    pub generics: HashSet<String>,
    /// Parameters and typed locals whose type hands out a state.
    pub contents: HashMap<String, Noun>,
    /// Parameters and typed locals that are a watch channel's receiving end.
    pub watches: HashSet<String>,
}

impl Scope {
    pub fn of(function: &FnUnit<'_>, vocabulary: &Vocabulary) -> Scope {
        let mut scope = Scope {
            bindings: HashMap::new(),
            generics: generic_names(&function.sig.generics),
            contents: HashMap::new(),
            watches: HashSet::new(),
        };
        for input in &function.sig.inputs {
            if let FnArg::Typed(typed) = input {
                scope.bind_typed(vocabulary, &typed.pat, &typed.ty);
            }
        }
        scope
    }

    pub fn bind_typed(&mut self, vocabulary: &Vocabulary, pat: &Pat, ty: &Type) {
        let Pat::Ident(ident) = pat else { return };
        let name = ident.ident.to_string();
        if let Some(noun) = contents_of(vocabulary, ty, &self.generics) {
            self.contents.insert(name.clone(), noun);
        }
        if is_watch_type(ty) {
            self.watches.insert(name.clone());
        }
        if let Some(is) = type_says(vocabulary, ty, &self.generics) {
            let kind = match is {
                Some(noun) => Kind::State(noun),
                None => Kind::Other,
            };
            self.bindings.insert(name, kind);
        }
    }
}
