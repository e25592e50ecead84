//! A file's top-level items, found by a fast lexer, without `syn`.
//!
//! Most of a file that mentions `sleep` or `return` is irrelevant to every
//! rule: the pre-filter's words lie in one or two functions. [`split`] cuts a
//! file's text into its top-level items (and the items of inline modules,
//! recursively) with a lexer that knows just enough Rust to never be fooled
//! by what it skips: string, raw string, byte and C string literals, chars
//! against lifetimes and labels, nested block comments, doc comments, and the
//! nesting of `()`, `[]` and `{}`. [`blank`] then replaces the text of the
//! items nobody needs with spaces, keeping every line break and the number of
//! characters on every line, so `syn` parses only what matters and every
//! span keeps its exact line and column.
//!
//! An item's extent runs from the end of the item before it (or of its
//! scope's inner attributes) to its own end: comments, doc comments and
//! attributes before an item belong to it, so blanking an item never leaves
//! a doc comment without its item. Where the lexer cannot tell (an
//! unterminated literal or comment, an unbalanced delimiter, a cargo-script
//! front matter), [`split`] returns `None` and the caller parses the whole
//! text. A cut in the wrong place cannot go unnoticed either: the half of an
//! item that remains does not parse, and the caller then parses the whole
//! text (see `cli/analyze.rs`).

use std::collections::HashSet;
use std::ops::Range;

use crate::prefilter::{Matches, Prefilter, RuleSet};

/// What an item is, as far as choosing the items to parse needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Small declarations that rules read file-wide (imports, type aliases,
    /// `mod x;`, anything unrecognised): always kept.
    Declaration,
    /// `struct`, `enum`, `union`: kept when a kept item mentions any of its
    /// words (its name, a field, a variant, a field's type).
    Type,
    /// Functions, impls, traits, consts and statics, foreign blocks, macro
    /// invocations and `macro_rules!`: kept when they hold a trigger, or
    /// define a name a kept item mentions.
    Code,
    /// `mod name { .. }`: kept when one of its items is.
    InlineMod,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Byte range in the text, attributes and comments before it included.
    pub range: Range<usize>,
    pub kind: Kind,
    /// The items of an inline module's body.
    pub children: Vec<Item>,
    /// Byte range of an inline module's body, between its braces.
    pub body: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Open(u8),
    Close(u8),
    Semi,
    Pound,
    Bang,
    /// A literal, a lifetime or label, or a punctuation character.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The tokens that matter for item structure; `None` when the text does not lex.
fn lex(text: &str) -> Option<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::with_capacity(text.len() / 6);
    let mut i = 0;
    // `syn::parse_file` skips a first line `#!...` that is not an inner attribute.
    if text.starts_with("#!") && !text[2..].trim_start().starts_with('[') {
        i = text.find('\n').unwrap_or(text.len());
    }
    let char_at = |i: usize| text[i..].chars().next();
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i)?;
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1)?;
                tokens.push(Token {
                    tok: Tok::Other,
                    start,
                    end: i,
                });
                continue;
            }
            b'\'' => {
                i = skip_quote(text, i)?;
                tokens.push(Token {
                    tok: Tok::Other,
                    start,
                    end: i,
                });
                continue;
            }
            b'0'..=b'9' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Other,
                    start,
                    end: i,
                });
                continue;
            }
            _ => {}
        }
        let c = char_at(i)?;
        if is_ident_start(c) {
            let mut end = i + c.len_utf8();
            while let Some(c) = text[end..].chars().next().filter(|c| is_ident_continue(*c)) {
                end += c.len_utf8();
            }
            let word = &text[i..end];
            let next = bytes.get(end).copied();
            // Literal prefixes: r"..", r#".."#, b"..", b'..', br"..", c"..", cr"..".
            let raw = matches!(word, "r" | "br" | "cr")
                && (next == Some(b'"')
                    || (next == Some(b'#') && {
                        let hashes = bytes[end..].iter().take_while(|&&b| b == b'#').count();
                        bytes.get(end + hashes) == Some(&b'"')
                    }));
            if raw {
                i = skip_raw_string(bytes, end)?;
            } else if matches!(word, "b" | "c") && next == Some(b'"') {
                i = skip_string(bytes, end + 1)?;
            } else if word == "b" && next == Some(b'\'') {
                i = skip_quote(text, end)?;
            } else if word == "r"
                && next == Some(b'#')
                && char_at(end + 1).is_some_and(is_ident_start)
            {
                // A raw identifier, `r#type`.
                let mut e = end + 1;
                while let Some(c) = text[e..].chars().next().filter(|c| is_ident_continue(*c)) {
                    e += c.len_utf8();
                }
                i = e;
                tokens.push(Token {
                    tok: Tok::Ident,
                    start: end + 1,
                    end: e,
                });
                continue;
            } else {
                i = end;
                tokens.push(Token {
                    tok: Tok::Ident,
                    start,
                    end,
                });
                continue;
            }
            tokens.push(Token {
                tok: Tok::Other,
                start,
                end: i,
            });
            continue;
        }
        let tok = match b {
            b'(' | b'[' | b'{' => Tok::Open(b),
            b')' | b']' | b'}' => Tok::Close(b),
            b';' => Tok::Semi,
            b'#' => Tok::Pound,
            b'!' => Tok::Bang,
            _ => Tok::Other,
        };
        i += c.len_utf8();
        tokens.push(Token { tok, start, end: i });
    }
    Some(tokens)
}

/// The end of a (nested) block comment starting at `i`.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The end of a string whose contents start at `i` (after the opening `"`).
fn skip_string(bytes: &[u8], mut i: usize) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end of a raw string whose `#`s (or `"`) start at `i`.
fn skip_raw_string(bytes: &[u8], i: usize) -> Option<usize> {
    let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
    if bytes.get(i + hashes) != Some(&b'"') {
        return None;
    }
    let mut j = i + hashes + 1;
    while j < bytes.len() {
        if bytes[j] == b'"'
            && bytes.len() >= j + 1 + hashes
            && bytes[j + 1..j + 1 + hashes].iter().all(|&b| b == b'#')
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    None
}

/// At a `'` (index `i`): the end of a char literal, or of a lifetime or label.
fn skip_quote(text: &str, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let after = i + 1;
    if bytes.get(after) == Some(&b'\\') {
        // An escaped char: '\n', '\'', '\x7f', '\u{1F600}'.
        let mut j = after + 2;
        while j < bytes.len() && bytes[j] != b'\'' && bytes[j] != b'\n' {
            j += 1;
        }
        return (bytes.get(j) == Some(&b'\'')).then_some(j + 1);
    }
    let c = text[after..].chars().next()?;
    let next = after + c.len_utf8();
    if bytes.get(next) == Some(&b'\'') {
        return Some(next + 1);
    }
    if !is_ident_start(c) {
        // Not a char and not a lifetime: let the parser decide.
        return None;
    }
    let mut end = next;
    while let Some(c) = text[end..].chars().next().filter(|c| is_ident_continue(*c)) {
        end += c.len_utf8();
    }
    Some(end)
}

/// Words that start an item (after its attributes): a `}` that returns to
/// the scope's level ends an item only where one of them (or `#`, a macro
/// call, the scope's end or a `;`) follows, so `{ N }` in `impl A<{ N }>` or
/// a block in `const X: u8 = { 1 } + 1;` does not cut the item.
const ITEM_WORDS: &[&str] = &[
    "pub",
    "fn",
    "impl",
    "struct",
    "enum",
    "union",
    "mod",
    "use",
    "const",
    "static",
    "type",
    "trait",
    "extern",
    "unsafe",
    "async",
    "macro_rules",
    "auto",
    "default",
    "safe",
];

/// Splits `text` into its top-level items; `None` when it cannot be sure of
/// the cuts (the caller then parses the whole text).
pub fn split(text: &str) -> Option<Items> {
    if has_front_matter(text) {
        return None;
    }
    let tokens = lex(text)?;
    let mut at = 0;
    let items = scope(text, &tokens, &mut at, 0)?;
    (at == tokens.len()).then_some(Items { items, tokens })
}

/// A text's items, with the tokens they were found from.
#[derive(Debug)]
pub struct Items {
    pub items: Vec<Item>,
    tokens: Vec<Token>,
}

impl Items {
    /// The items that are not inline modules, inline modules' items
    /// included, in order: what [`ranges_to_blank`] asks `needed` about.
    pub fn leaves(&self) -> Vec<&Item> {
        let mut leaves = Vec::new();
        flatten(&self.items, &mut leaves);
        leaves
    }
}

fn flatten<'i>(items: &'i [Item], out: &mut Vec<&'i Item>) {
    for item in items {
        if item.kind == Kind::InlineMod {
            flatten(&item.children, out);
        } else {
            out.push(item);
        }
    }
}

/// A cargo-script front matter (`---` after an optional `#!` line): rustc
/// skips it, and the caller blanks it; here the whole text is parsed.
fn has_front_matter(text: &str) -> bool {
    let mut lines = text.lines();
    let mut line = lines.next();
    if line.is_some_and(|l| l.starts_with("#!") && !l[2..].trim_start().starts_with('[')) {
        line = lines.next();
    }
    while let Some(l) = line {
        if l.trim().is_empty() {
            line = lines.next();
            continue;
        }
        return l.starts_with("---");
    }
    false
}

/// The items of a scope starting at token `*at` (after an opening `{` when
/// inside a module), up to its closing `}` (left unconsumed) or the end.
fn scope(text: &str, tokens: &[Token], at: &mut usize, nesting: usize) -> Option<Vec<Item>> {
    if nesting > 64 {
        return None;
    }
    // Inner attributes belong to the scope, not to its first item.
    while tokens.get(*at).map(|t| t.tok) == Some(Tok::Pound)
        && tokens.get(*at + 1).map(|t| t.tok) == Some(Tok::Bang)
        && tokens.get(*at + 2).map(|t| t.tok) == Some(Tok::Open(b'['))
    {
        *at = skip_group(tokens, *at + 2)?;
    }
    let mut start = if *at > 0 { tokens[*at - 1].end } else { 0 };
    let mut items = Vec::new();
    loop {
        match tokens.get(*at) {
            None => return (nesting == 0).then_some(items),
            Some(t) if t.tok == Tok::Close(b'}') => {
                return (nesting > 0).then_some(items);
            }
            Some(_) => {}
        }
        let first = *at;
        let (kind, mod_body) = classify(text, tokens, first);
        if let Some(open) = mod_body {
            let mut inner = open + 1;
            let children = scope(text, tokens, &mut inner, nesting + 1)?;
            let close = tokens.get(inner)?;
            let body = tokens[open].end..close.start;
            *at = inner + 1;
            // `mod m { .. };` is not Rust, but a `;` would belong here.
            let end = close.end;
            items.push(Item {
                range: start..end,
                kind: Kind::InlineMod,
                children,
                body,
            });
            start = end;
            continue;
        }
        let end = item_end(text, tokens, at)?;
        items.push(Item {
            range: start..end,
            kind,
            children: Vec::new(),
            body: 0..0,
        });
        start = end;
    }
}

/// The index just past the group opening at token `open`.
fn skip_group(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Consumes one item from token `*at`; returns its end offset.
fn item_end(text: &str, tokens: &[Token], at: &mut usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut closers: Vec<u8> = Vec::new();
    while let Some(t) = tokens.get(*at) {
        *at += 1;
        match t.tok {
            Tok::Open(b) => {
                depth += 1;
                closers.push(match b {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                });
            }
            Tok::Close(b) => {
                if closers.pop()? != b {
                    return None;
                }
                depth -= 1;
                if depth == 0 && b == b'}' && ends_here(text, tokens, *at) {
                    return Some(t.end);
                }
            }
            Tok::Semi if depth == 0 => return Some(t.end),
            _ => {}
        }
    }
    // The text ended inside an item (or an item without an end): let the
    // parser decide.
    None
}

/// Whether the token at `next` can start a new item (or end the scope).
fn ends_here(text: &str, tokens: &[Token], next: usize) -> bool {
    match tokens.get(next) {
        None => true,
        Some(t) => match t.tok {
            Tok::Close(b'}') | Tok::Pound => true,
            Tok::Ident => {
                let word = &text[t.start..t.end];
                ITEM_WORDS.contains(&word)
                    || tokens.get(next + 1).is_some_and(|n| n.tok == Tok::Bang)
            }
            _ => false,
        },
    }
}

/// The item's kind, and for an inline module the index of its `{`.
fn classify(text: &str, tokens: &[Token], mut i: usize) -> (Kind, Option<usize>) {
    let word = |i: usize| {
        tokens
            .get(i)
            .filter(|t| t.tok == Tok::Ident)
            .map(|t| &text[t.start..t.end])
    };
    // Outer attributes.
    while tokens.get(i).map(|t| t.tok) == Some(Tok::Pound)
        && tokens.get(i + 1).map(|t| t.tok) == Some(Tok::Open(b'['))
    {
        match skip_group(tokens, i + 1) {
            Some(next) => i = next,
            None => return (Kind::Declaration, None),
        }
    }
    // Visibility and qualifiers.
    loop {
        match word(i) {
            Some("pub") => {
                i += 1;
                if tokens.get(i).map(|t| t.tok) == Some(Tok::Open(b'(')) {
                    match skip_group(tokens, i) {
                        Some(next) => i = next,
                        None => return (Kind::Declaration, None),
                    }
                }
            }
            Some("unsafe" | "async" | "default" | "safe" | "auto") => i += 1,
            Some("extern") => {
                i += 1;
                if word(i).is_none()
                    && tokens.get(i).is_some_and(|t| t.tok == Tok::Other)
                    && text[tokens[i].start..].starts_with('"')
                {
                    i += 1;
                }
                if word(i) == Some("crate") {
                    return (Kind::Declaration, None);
                }
                if word(i).is_none() {
                    // A foreign block, `extern "C" { .. }`: it defines its functions.
                    return (Kind::Code, None);
                }
            }
            _ => break,
        }
    }
    match word(i) {
        Some("fn" | "impl" | "trait" | "macro_rules") => (Kind::Code, None),
        Some("const") if word(i + 1) == Some("fn") => (Kind::Code, None),
        Some("const" | "static") => (Kind::Code, None),
        Some("struct" | "enum" | "union") => (Kind::Type, None),
        Some("mod") => {
            if word(i + 1).is_some() && tokens.get(i + 2).map(|t| t.tok) == Some(Tok::Open(b'{')) {
                (Kind::InlineMod, Some(i + 2))
            } else {
                (Kind::Declaration, None)
            }
        }
        Some(_) if tokens.get(i + 1).map(|t| t.tok) == Some(Tok::Bang) => (Kind::Code, None),
        // A macro call by path: `tokio::task_local! { .. }`.
        Some(_) if is_macro_path(text, tokens, i) => (Kind::Code, None),
        _ => (Kind::Declaration, None),
    }
}

/// `a::b::c!` starting at token `i`.
fn is_macro_path(text: &str, tokens: &[Token], mut i: usize) -> bool {
    loop {
        if tokens.get(i).map(|t| t.tok) != Some(Tok::Ident) {
            return false;
        }
        i += 1;
        match tokens.get(i) {
            Some(t) if t.tok == Tok::Bang => return true,
            Some(t)
                if &text[t.start..t.end] == ":"
                    && tokens
                        .get(i + 1)
                        .is_some_and(|n| &text[n.start..n.end] == ":") =>
            {
                i += 2
            }
            _ => return false,
        }
    }
}

/// The tokens of `text[range]`.
fn tokens_in<'k>(tokens: &'k [Token], range: &Range<usize>) -> &'k [Token] {
    let from = tokens.partition_point(|t| t.start < range.start);
    let to = tokens.partition_point(|t| t.end <= range.end);
    &tokens[from..to.max(from)]
}

/// The identifiers of `tokens` (literals and comments are not tokens here).
fn idents<'t>(text: &'t str, tokens: &[Token]) -> Vec<&'t str> {
    tokens
        .iter()
        .filter(|t| t.tok == Tok::Ident)
        .map(|t| &text[t.start..t.end])
        .collect()
}

/// Words no item defines.
const KEYWORDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "union",
    "macro_rules",
];

/// The names an item defines: the identifier after every `fn`, `const`,
/// `static`, `struct`, `enum`, `union`, `type`, `trait`, `mod` or
/// `macro_rules!` in it, and the identifiers of every `impl` header outside
/// angle brackets (its trait and type: `Drop`, `Guard` of `impl<T> Drop for
/// Guard<T>`). Over-approximate on purpose: a name too many keeps an item more.
fn defined<'t>(text: &'t str, tokens: &[Token]) -> Vec<&'t str> {
    let word = |t: &Token| &text[t.start..t.end];
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        i += 1;
        if t.tok != Tok::Ident {
            continue;
        }
        match word(t) {
            "fn" | "const" | "static" | "struct" | "enum" | "union" | "type" | "trait" | "mod" => {
                if let Some(next) = tokens.get(i).filter(|n| n.tok == Tok::Ident) {
                    out.push(word(next));
                }
            }
            "macro_rules" => {
                if let Some(next) = tokens.get(i + 1).filter(|n| n.tok == Tok::Ident) {
                    out.push(word(next));
                }
            }
            "impl" => {
                let (names, end) = impl_header(text, tokens, i);
                out.extend(names);
                i = end;
            }
            _ => {}
        }
    }
    out.retain(|w| !KEYWORDS.contains(w));
    out
}

/// The identifiers of an `impl` header outside angle brackets, keywords
/// included (`impl<T> Drop for Guard<T>`: `Drop`, `for`, `Guard`), from the
/// token after `impl` up to its body or `where`; and where the walk stopped.
fn impl_header<'t>(text: &'t str, tokens: &[Token], mut i: usize) -> (Vec<&'t str>, usize) {
    let word = |t: &Token| &text[t.start..t.end];
    let mut names = Vec::new();
    let mut angle = 0usize;
    while let Some(h) = tokens.get(i) {
        match h.tok {
            Tok::Open(b'{') | Tok::Semi => break,
            Tok::Ident if word(h) == "where" => break,
            Tok::Ident if angle == 0 => names.push(word(h)),
            Tok::Other if word(h) == "<" => angle += 1,
            // `->` in `impl Fn() -> T for ..` closes nothing.
            Tok::Other
                if word(h) == ">"
                    && !(i > 0 && word(&tokens[i - 1]) == "-" && tokens[i - 1].end == h.start) =>
            {
                angle = angle.saturating_sub(1)
            }
            _ => {}
        }
        i += 1;
    }
    (names, i)
}

/// `T` of an item `impl<..> Drop for a::T<..> { .. }` (the last name of its
/// self type outside angle brackets, as rules name the type).
fn drop_impl_type<'t>(text: &'t str, tokens: &[Token]) -> Option<&'t str> {
    // Past the outer attributes to the first identifier: `impl`, or a
    // qualifier before it (`unsafe impl`).
    let mut i = 0;
    while tokens.get(i).map(|t| t.tok) == Some(Tok::Pound) {
        i = skip_group(tokens, i + 1)?;
    }
    while tokens.get(i).is_some_and(|t| {
        t.tok == Tok::Ident && matches!(&text[t.start..t.end], "unsafe" | "default")
    }) {
        i += 1;
    }
    let first = tokens.get(i)?;
    if first.tok != Tok::Ident || &text[first.start..first.end] != "impl" {
        return None;
    }
    let (names, _) = impl_header(text, tokens, i + 1);
    let after = names.windows(2).position(|w| w == ["Drop", "for"])? + 2;
    names[after..]
        .iter()
        .rev()
        .find(|name| !KEYWORDS.contains(name))
        .copied()
}

/// `tokens` without the attributes among them (`#[..]`, `#![..]`).
fn without_attributes(tokens: &[Token]) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let bang = usize::from(tokens.get(i + 1).is_some_and(|t| t.tok == Tok::Bang));
        if tokens[i].tok == Tok::Pound
            && tokens.get(i + 1 + bang).map(|t| t.tok) == Some(Tok::Open(b'['))
        {
            if let Some(next) = skip_group(tokens, i + 1 + bang) {
                i = next;
                continue;
            }
        }
        out.push(tokens[i]);
        i += 1;
    }
    out
}

/// The names by which a rule can look a `struct`, `enum` or `union` up: its
/// own name, its fields (`name:`, in variants too) and its variants. Not
/// the types of its fields: rules read a type's definition by its name
/// (`TypesOfFile`) or by a field's name (`Declared::of_file`), never by a
/// field's type, so a kept item that mentions `u8` keeps no struct with a
/// `u8` field. `tokens` are without attributes.
fn type_defines<'t>(text: &'t str, tokens: &[Token]) -> Vec<&'t str> {
    let word = |i: usize| tokens.get(i).map_or("", |t| &text[t.start..t.end]);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut is_enum = false;
    for (i, t) in tokens.iter().enumerate() {
        match t.tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => depth = depth.saturating_sub(1),
            Tok::Ident if depth == 0 && matches!(word(i), "struct" | "enum" | "union") => {
                is_enum = word(i) == "enum";
                if tokens.get(i + 1).is_some_and(|n| n.tok == Tok::Ident) {
                    out.push(word(i + 1));
                }
            }
            Tok::Ident => {
                // `name:` but not a path's `name::`.
                let field = word(i + 1) == ":"
                    && !(word(i + 2) == ":" && tokens[i + 2].start == tokens[i + 1].end);
                let variant = is_enum
                    && depth == 1
                    && tokens.get(i + 1).is_none_or(|n| {
                        matches!(n.tok, Tok::Open(_) | Tok::Close(_))
                            || matches!(word(i + 1), "," | "=")
                    });
                if field || variant {
                    out.push(word(i));
                }
            }
            _ => {}
        }
    }
    out
}

/// Which items to parse: every [`Kind::Declaration`], every item `needed`
/// says holds a trigger, every item defining a name that a kept item
/// mentions (its callees, consts, the impls of its types, transitively),
/// every item mentioning the type of a kept `impl Drop for T` (the rules
/// on drops read where `T` is built and registered, which names nothing
/// the `Drop` mentions), and the inline modules around kept items. Returns the byte ranges to
/// blank, or `None` when everything is kept.
///
/// `needed[i]` says whether leaf `i` (of [`Items::leaves`]) holds a trigger.
pub fn ranges_to_blank(text: &str, split: &Items, needed: &[bool]) -> Option<Vec<Range<usize>>> {
    let (items, tokens) = (&split.items[..], &split.tokens);
    let leaves = split.leaves();
    let spans: Vec<&[Token]> = leaves
        .iter()
        .map(|item| tokens_in(tokens, &item.range))
        .collect();
    // What each leaf mentions and defines. A type's attributes name nothing
    // a rule looks up (`repr(C)`, `derive(Debug)`): they are neither its
    // names nor its mentions, or one kept `#[repr(C)]` struct would keep
    // every other one, and every `impl Debug`.
    let (words, defines): (Vec<Vec<&str>>, Vec<Vec<&str>>) = leaves
        .iter()
        .zip(&spans)
        .map(|(item, t)| match item.kind {
            Kind::Type => {
                let t = without_attributes(t);
                (idents(text, &t), type_defines(text, &t))
            }
            _ => (idents(text, t), defined(text, t)),
        })
        .unzip();
    let dropped_types: Vec<Option<&str>> = leaves
        .iter()
        .zip(&spans)
        .map(|(item, t)| match item.kind {
            Kind::Code => drop_impl_type(text, t),
            _ => None,
        })
        .collect();
    let mut kept: Vec<bool> = leaves
        .iter()
        .zip(needed)
        .map(|(item, needed)| item.kind == Kind::Declaration || *needed)
        .collect();
    let mut mentioned: HashSet<&str> = HashSet::new();
    // Types whose kept `Drop` impl is read with every item that mentions
    // the type: how it is built and registered is wherever it is built.
    let mut with_users: HashSet<&str> = HashSet::new();
    let mut added: Vec<usize> = (0..leaves.len())
        .filter(|&i| kept[i] && leaves[i].kind == Kind::Code)
        .collect();
    while !added.is_empty() {
        for i in added.drain(..) {
            mentioned.extend(words[i].iter().copied());
            with_users.extend(dropped_types[i]);
        }
        for i in 0..leaves.len() {
            if !kept[i]
                && (defines[i].iter().any(|name| mentioned.contains(name))
                    || words[i].iter().any(|word| with_users.contains(word)))
            {
                kept[i] = true;
                added.push(i);
            }
        }
    }
    if kept.iter().all(|k| *k) {
        return None;
    }
    let kept_ranges: Vec<Range<usize>> = leaves
        .iter()
        .zip(&kept)
        .filter(|(_, k)| **k)
        .map(|(item, _)| item.range.clone())
        .collect();
    let mut blank = Vec::new();
    fn walk(items: &[Item], kept: &[Range<usize>], blank: &mut Vec<Range<usize>>) {
        for item in items {
            // `kept` is sorted and its ranges do not overlap.
            let first = kept.partition_point(|k| k.start < item.range.start);
            let holds_kept = kept.get(first).is_some_and(|k| k.end <= item.range.end);
            if !holds_kept {
                blank.push(item.range.clone());
            } else if item.kind == Kind::InlineMod {
                walk(&item.children, kept, blank);
            }
        }
    }
    walk(items, &kept_ranges, &mut blank);
    Some(blank)
}

/// `text` with the items that none of the `wanted` rules (by index in
/// `prefilter`'s list, whose [`Matches`] over `text` are given) can need
/// blanked out, ready to parse in place of `text`; `None` when every item
/// is kept, the file mentions `quorum_gated_delete`, or the lexer cannot be
/// sure of the cuts: then the whole text is to be parsed. If the result
/// does not parse, parse `text`.
pub fn narrowed(
    text: &str,
    prefilter: &Prefilter,
    matches: &Matches,
    wanted: RuleSet,
) -> Option<String> {
    let split = split(text)?;
    let ranges: Vec<Range<usize>> = split.leaves().iter().map(|i| i.range.clone()).collect();
    let sets = prefilter.rules_per_range_of(matches, text, &ranges)?;
    let needed: Vec<bool> = sets.iter().map(|s| !s.and(wanted).is_empty()).collect();
    let blank_ranges = ranges_to_blank(text, &split, &needed)?;
    Some(blank(text, &blank_ranges))
}

/// `text` with every character of `ranges` but line breaks replaced by a
/// space: lines and the character count of every line stay, so line and
/// column of every span in the rest are those of the original text (byte
/// offsets are not: map positions through the original text).
pub fn blank(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        out.push_str(&text[at..range.start]);
        out.extend(text[range.clone()].chars().map(|c| match c {
            '\n' | '\r' => c,
            _ => ' ',
        }));
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'t>(text: &'t str, items: &[Item]) -> Vec<&'t str> {
        items.iter().map(|i| text[i.range.clone()].trim()).collect()
    }

    #[test]
    fn splits_at_item_ends_and_keeps_attributes_and_comments_with_the_next_item() {
        let text = "#![allow(x)]\n//! crate doc\nuse a::{b, c};\n/// doc\n#[derive(Clone)]\nstruct S { a: u8 }\nfn f() { g() }\nconst X: u8 = { 1 } + 2;\nimpl A<{ N }> for B {}\nm! { x }\nm!(y);\n";
        let items = split(text).unwrap().items;
        assert_eq!(
            texts(text, &items),
            [
                "//! crate doc\nuse a::{b, c};",
                "/// doc\n#[derive(Clone)]\nstruct S { a: u8 }",
                "fn f() { g() }",
                "const X: u8 = { 1 } + 2;",
                "impl A<{ N }> for B {}",
                "m! { x }",
                "m!(y);",
            ]
        );
        let kinds: Vec<Kind> = items.iter().map(|i| i.kind).collect();
        use Kind::*;
        assert_eq!(kinds, [Declaration, Type, Code, Code, Code, Code, Code]);
        // The inner attribute lies before every item.
        assert!(items[0].range.start >= "#![allow(x)]".len());
    }

    #[test]
    fn literals_and_comments_hide_their_braces() {
        let text = concat!(
            "fn a() { let s = \"}\\\"}\"; let r = r#\"}\"# ; let b = b\"}\"; }\n",
            "fn b<'a>(x: &'a str) -> char { '}' }\n",
            "fn c() { let q = '\\''; let u = '\\u{7d}'; 'outer: loop { break 'outer; } }\n",
            "/* } /* nested } */ still comment } */ fn d() {}\n",
            "// } line comment\nfn e() { let x = br##\"}\"#}\"##; let c = c\"}\"; let y = 'é'; }\n",
            "fn r#match() { r#type(); }\n",
        );
        let items = split(text).unwrap().items;
        assert_eq!(items.len(), 6, "{:?}", texts(text, &items));
        assert!(texts(text, &items)[3].ends_with("fn d() {}"));
        assert!(texts(text, &items)[4].starts_with("// } line comment"));
    }

    #[test]
    fn inline_modules_are_split_recursively() {
        let text = "mod outer {\n    #![allow(x)]\n    fn a() {}\n    mod inner { fn b() {} }\n}\nmod decl;\n";
        let items = split(text).unwrap().items;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, Kind::InlineMod);
        assert_eq!(
            texts(text, &items[0].children),
            ["fn a() {}", "mod inner { fn b() {} }"]
        );
        assert_eq!(texts(text, &items[0].children[1].children), ["fn b() {}"]);
        assert_eq!(items[1].kind, Kind::Declaration);
    }

    #[test]
    fn refuses_what_it_cannot_be_sure_of() {
        for text in [
            "fn a() { \"unterminated }",
            "fn a() { /* unterminated }",
            "fn a() { ( }",
            "fn a() {} }",
            "fn a() { }  fn b(",
            "---\n[package]\n---\nfn main() {}\n",
        ] {
            assert!(split(text).is_none(), "{text}");
        }
        assert!(split("#!/usr/bin/env run-cargo-script\nfn main() {}\n").is_some());
    }

    #[test]
    fn keeps_items_with_triggers_their_callees_and_declarations() {
        let text = "use x::Y;\nstruct S;\nstruct Unused { field: u8 }\nconst PERIOD: u64 = 5;\nconst OTHER: u64 = 6;\nfn helper() {}\nfn unrelated() { other() }\nimpl S { fn tick(&self) { helper(); sleep(PERIOD) } }\nmod m { fn far() {} fn sleepy() { sleep(1) } }\n";
        let items = split(text).unwrap();
        let needed: Vec<bool> = items
            .leaves()
            .iter()
            .map(|i| text[i.range.clone()].contains("sleep"))
            .collect();
        let blank_ranges = ranges_to_blank(text, &items, &needed).unwrap();
        let blanked = blank(text, &blank_ranges);
        assert!(blanked.contains("use x::Y;"));
        assert!(blanked.contains("struct S;"));
        assert!(!blanked.contains("Unused"));
        assert!(blanked.contains("const PERIOD"));
        assert!(!blanked.contains("OTHER"));
        assert!(blanked.contains("fn helper() {}"));
        assert!(!blanked.contains("unrelated"));
        assert!(blanked.contains("fn sleepy()"));
        assert!(!blanked.contains("far"));
        assert!(blanked.contains("mod m {"));
        assert_eq!(blanked.lines().count(), text.lines().count());
        for (a, b) in blanked.lines().zip(text.lines()) {
            assert_eq!(a.chars().count(), b.chars().count());
        }
        assert!(syn::parse_file(&blanked).is_ok());
        // Everything needed: nothing to blank.
        let all = vec![true; items.leaves().len()];
        assert_eq!(ranges_to_blank(text, &items, &all), None);
    }

    #[test]
    fn a_kept_drop_keeps_every_item_that_mentions_its_type() {
        let text = concat!(
            "struct Entry { key: String }\n",
            "fn register(map: &Map, key: &str) -> Entry { map.insert(key); Entry { key: key.into() } }\n",
            "fn unrelated() { other() }\n",
            "impl<T: Send> std::ops::Drop for a::Entry<T> where T: Sync { fn drop(&mut self) { self.map.remove(&self.key); } }\n",
        );
        let items = split(text).unwrap();
        let needed: Vec<bool> = items
            .leaves()
            .iter()
            .map(|i| text[i.range.clone()].contains("Drop"))
            .collect();
        let blanked = blank(text, &ranges_to_blank(text, &items, &needed).unwrap());
        assert!(
            blanked.contains("fn register"),
            "the builder of a dropped type"
        );
        assert!(!blanked.contains("unrelated"));
        let leaf = |n: usize| tokens_in(&items.tokens, &items.leaves()[n].range);
        assert_eq!(drop_impl_type(text, leaf(3)), Some("Entry"));
        assert_eq!(drop_impl_type(text, leaf(1)), None);
        let other = "impl<T: Drop> Clone for Holder<T> {}";
        let other_items = split(other).unwrap();
        assert_eq!(
            drop_impl_type(other, &other_items.tokens),
            None,
            "a bound is no Drop impl"
        );
    }

    #[test]
    fn a_type_is_kept_by_its_name_fields_and_variants_not_by_its_attributes_or_field_types() {
        let text = concat!(
            "#[repr(C)]\n#[derive(Debug)]\nstruct Raw { x: u8 }\n",
            "#[repr(C)]\nstruct ByField { ticks: u8 }\n",
            "enum State { Open, Closed(u8) }\n",
            "#[derive(Debug)]\nstruct Named(u8);\n",
            "impl core::fmt::Debug for Other { fn fmt(&self) {} }\n",
            "fn tick(r: &mut Raw2) { let n: u8 = r.ticks; if s == Closed(n) { sleep(n) } }\n",
        );
        let items = split(text).unwrap();
        let needed: Vec<bool> = items
            .leaves()
            .iter()
            .map(|i| text[i.range.clone()].contains("sleep"))
            .collect();
        let blanked = blank(text, &ranges_to_blank(text, &items, &needed).unwrap());
        assert!(
            !blanked.contains("Raw {"),
            "a field's type is no name of it"
        );
        assert!(blanked.contains("struct ByField"), "a field is");
        assert!(blanked.contains("enum State"), "a variant is");
        assert!(!blanked.contains("Named"));
        assert!(!blanked.contains("Other"), "a derive names nothing");
        assert!(syn::parse_file(&blanked).is_ok());
    }

    #[test]
    fn blanking_keeps_lines_and_columns_of_multibyte_text() {
        let text = "fn a() { \"é€😀\" } fn b() { x }\n";
        let items = split(text).unwrap().items;
        let blanked = blank(text, &[items[0].range.clone()]);
        assert_eq!(blanked.chars().count(), text.chars().count());
        let file = syn::parse_file(&blanked).unwrap();
        let syn::Item::Fn(b) = &file.items[0] else {
            panic!()
        };
        let column = text.chars().position(|c| c == 'x').unwrap();
        let x = b.block.stmts[0].clone();
        let span = syn::spanned::Spanned::span(&x).start();
        assert_eq!((span.line, span.column), (1, column));
    }
}
