//! Limits that keep hostile files from exhausting memory or the stack.
//!
//! `syn` parses recursively, and the rules and the tree's destructor walk the
//! tree recursively, so a file nested deeply enough overflows any stack and
//! aborts the process. Before parsing, the tokens are scanned (iteratively:
//! proc-macro2's lexer and token streams use no recursion) for upper
//! estimates of the syntax tree's depth; a file above [`MAX_NESTING`] or
//! [`MAX_CHAIN`] is reported instead of parsed. Worker threads have a stack big enough for
//! any file below it (`analyze::WORKER_STACK_BYTES`; the tests in
//! `analyze.rs` lint the deepest accepted file of each construct).

use proc_macro2::{Delimiter, LineColumn, Spacing, TokenStream, TokenTree};

/// The biggest file linted. The largest `.rs` file among 453 crates of a
/// cargo registry (unicode-width's tables) is 1.5 MB; parsing costs about 75
/// bytes of syntax tree per byte of source, so a 10 MiB file already takes
/// ~750 MB per worker thread.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// The most recursive levels linted: delimiters, prefix operators,
/// right-associative operators, generics, keywords that open an expression
/// (`!!!!x`, `a = b = c`, `|| || x`, `Vec<Vec<u8>>`, `((x))`). Each costs
/// the parser, the rules and the destructor up to ~30 KB of stack in a debug
/// build. Real code stays far below: the deepest of 48,958 files (a cargo
/// registry and the sweep's vendored crates) scores 125, in anyhow's macros.
pub const MAX_NESTING: usize = 3000;

/// The longest left-deep chain linted: binary operators, method calls, `?`,
/// casts, `else if` (`a + b + c`, `x.f().g()`). syn parses these in a loop,
/// but the tree they build is as deep as the chain and is walked
/// recursively, at up to ~2 KB of stack per level in a debug build. The
/// longest chain of those 48,958 files is 732, a match on character ranges
/// (`'a'..='b' | ..`) in unicode-normalization's tables.
pub const MAX_CHAIN: usize = 50_000;

/// The tokens of a file's text (after a `#!` line, as `syn::parse_file`
/// skips it; line numbers are kept).
pub fn lex(text: &str) -> Result<TokenStream, proc_macro2::LexError> {
    without_shebang(text).parse()
}

/// Upper estimates of how deeply a file's syntax tree nests, each with the
/// token where it is reached.
#[derive(Debug, Clone, Copy)]
pub struct Nesting {
    /// Recursive levels (see [`MAX_NESTING`]).
    pub depth: usize,
    pub depth_at: LineColumn,
    /// Left-deep levels (see [`MAX_CHAIN`]).
    pub chain: usize,
    pub chain_at: LineColumn,
}

impl Nesting {
    /// `at`'s position is looked up only for a new maximum: a span's
    /// line and column cost a search of the source map, and most tokens
    /// set no maximum.
    fn record(&mut self, depth: usize, chain: usize, at: proc_macro2::Span) {
        if depth > self.depth {
            self.depth = depth;
            self.depth_at = at.start();
        }
        if chain > self.chain {
            self.chain = chain;
            self.chain_at = at.start();
        }
    }

    /// Why the file cannot be parsed safely, and where, if it cannot.
    pub fn excess(&self) -> Option<(String, LineColumn)> {
        if self.depth > MAX_NESTING {
            Some((
                format!(
                    "about {} nested levels of brackets, prefix operators, assignments or generics here (the limit is {MAX_NESTING})",
                    self.depth
                ),
                self.depth_at,
            ))
        } else if self.chain > MAX_CHAIN {
            Some((
                format!(
                    "a chain of about {} operators or method calls here (the limit is {MAX_CHAIN})",
                    self.chain
                ),
                self.chain_at,
            ))
        } else {
            None
        }
    }
}

/// Keywords that open a construct extending to the right (`return x`,
/// `move || x`, `let`, item headers): not operands, one recursive level.
const OPENING_KEYWORDS: &[&str] = &[
    "async", "box", "break", "const", "continue", "dyn", "enum", "extern", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "type", "unsafe", "use", "where", "while", "yield",
];

/// Upper estimates of how deeply the syntax tree of `tokens` nests.
///
/// Every level of the tree owns a token. Recursive levels are counted at
/// the tokens that open them: a delimiter, a prefix operator, an
/// assignment, a `<`, a keyword such as `return`. Within one delimiter
/// they add up along a run of tokens, and a binary operator (an operator
/// after an operand) goes back to the level of the last right-extending
/// construct (`=`, `<`, a closure, a keyword) before it, while adding one
/// to the chain. A run ends at `;`, `=>`, an attribute, at `,` (except for
/// generics left open: `A<K, A<K, ..>>` nests past its commas), and after
/// a braced block followed by the next item, statement or arm. The estimate
/// at a token is the sum over its enclosing delimiters.
pub fn nesting_estimate(tokens: &TokenStream) -> Nesting {
    let start = LineColumn { line: 1, column: 0 };
    let mut nesting = Nesting {
        depth: 0,
        depth_at: start,
        chain: 0,
        chain_at: start,
    };
    let mut frames = vec![Frame::new(tokens.clone())];
    // The sums over the enclosing frames.
    let (mut outer_depth, mut outer_chain) = (0, 0);
    let mut operator = String::new();
    while let Some(frame) = frames.last_mut() {
        let Some(tree) = frame.tokens.next() else {
            frames.pop();
            if let Some(parent) = frames.last() {
                outer_depth -= parent.depth + 1;
                outer_chain -= parent.chain;
            }
            continue;
        };
        let follows_block = std::mem::replace(&mut frame.after_block, false);
        let at = tree.span();
        let mut record = |frame: &Frame| {
            nesting.record(outer_depth + frame.depth, outer_chain + frame.chain, at);
        };
        match &tree {
            TokenTree::Punct(p) => {
                operator.push(p.as_char());
                if p.spacing() == Spacing::Joint {
                    continue;
                }
                for_each_operator(&operator, |piece| {
                    frame.operator(piece);
                    record(frame);
                });
                operator.clear();
            }
            other => {
                for_each_operator(&operator, |piece| {
                    frame.operator(piece);
                    record(frame);
                });
                operator.clear();
                // Compared in place: `Ident::to_string` would allocate for
                // every identifier of the file.
                let word = match other {
                    TokenTree::Ident(word) => Some(word),
                    _ => None,
                };
                let is = |keyword: &str| word.is_some_and(|w| w == keyword);
                let continues = is("else") || is("as");
                if follows_block && !continues {
                    frame.end_run(0);
                }
                if is("else") {
                    // `else if` chains: left-deep, each `if` starts afresh.
                    frame.depth = 0;
                    frame.base = 0;
                    frame.chain += 1;
                    frame.operand = false;
                } else if is("as") {
                    frame.binary();
                } else if word.is_some_and(|w| OPENING_KEYWORDS.iter().any(|k| w == k)) {
                    frame.opens();
                } else {
                    frame.operand = true;
                }
            }
        }
        record(frame);
        if let TokenTree::Group(group) = tree {
            frame.after_block = group.delimiter() == Delimiter::Brace;
            outer_depth += frame.depth + 1;
            outer_chain += frame.chain;
            frames.push(Frame::new(group.stream()));
        }
    }
    nesting
}

/// Calls `each` with the operators of punctuation written together
/// (`!!x`, `&&&x`, `?;`), split as Rust splits them, longest first.
fn for_each_operator(mut joined: &str, mut each: impl FnMut(&str)) {
    const LONGEST_FIRST: &[&str] = &[
        "<<=", ">>=", "...", "..=", "::", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=",
        "-=", "*=", "/=", "%=", "^=", "&=", "|=", "<<", ">>", "..",
    ];
    while let Some(first) = joined.chars().next() {
        let length = LONGEST_FIRST
            .iter()
            .find(|op| joined.starts_with(*op))
            .map_or(first.len_utf8(), |op| op.len());
        each(&joined[..length]);
        joined = &joined[length..];
    }
}

/// The tokens of one delimited group being scanned.
struct Frame {
    tokens: proc_macro2::token_stream::IntoIter,
    /// Recursive levels opened in the current run.
    depth: usize,
    /// The depth a binary operator returns to: that of the last
    /// right-extending construct.
    base: usize,
    /// Left-deep levels in the current run.
    chain: usize,
    /// `<` not yet closed by `>` in this group.
    open_angles: usize,
    /// The previous token ends an operand, so an operator now is binary.
    operand: bool,
    /// The previous token was a `{ .. }` group.
    after_block: bool,
}

impl Frame {
    fn new(stream: TokenStream) -> Frame {
        Frame {
            tokens: stream.into_iter(),
            depth: 0,
            base: 0,
            chain: 0,
            open_angles: 0,
            operand: false,
            after_block: false,
        }
    }

    fn end_run(&mut self, open_angles: usize) {
        self.open_angles = open_angles;
        self.depth = open_angles;
        self.base = open_angles;
        self.chain = 0;
        self.operand = false;
    }

    /// A construct that extends to the right: a binary operator after it
    /// stays inside it.
    fn opens(&mut self) {
        self.depth += 1;
        self.base = self.depth;
        self.operand = false;
    }

    fn binary(&mut self) {
        self.depth = self.base;
        self.chain += 1;
        self.operand = false;
    }

    fn operator(&mut self, operator: &str) {
        let prefix = !self.operand;
        match operator {
            ";" | "=>" => self.end_run(0),
            "," => self.end_run(self.open_angles),
            // `#` only starts an attribute, and attributes are siblings.
            "#" => self.end_run(0),
            "::" | "->" => self.operand = false,
            // A lifetime: an operand follows.
            "'" => self.operand = false,
            "<" => {
                self.open_angles += 1;
                self.opens();
            }
            ">" | ">>" => {
                let closed = operator.len();
                self.open_angles = self.open_angles.saturating_sub(closed);
                self.operand = true;
            }
            "." | "?" if !prefix => {
                self.chain += 1;
                self.operand = operator == "?";
            }
            ".." | "..=" => {
                self.depth += 1;
                self.operand = false;
            }
            "|" | "||" if prefix => self.opens(),
            op if op.ends_with('=') && !matches!(op, "==" | "!=" | "<=" | ">=") => self.opens(),
            // `&&x` is two references.
            "&&" if prefix => {
                self.depth += 2;
                self.operand = false;
            }
            _ if prefix => {
                self.depth += 1;
                self.operand = false;
            }
            _ => self.binary(),
        }
    }
}

/// `syn::parse_file` skips a leading `#!` line that is not an inner attribute.
fn without_shebang(text: &str) -> &str {
    if text.starts_with("#!") && !text[2..].trim_start().starts_with('[') {
        text.find('\n').map_or("", |end| &text[end..])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(text: &str) -> usize {
        nesting_estimate(&lex(text).expect("lexes")).depth
    }

    fn chain(text: &str) -> usize {
        nesting_estimate(&lex(text).expect("lexes")).chain
    }

    #[test]
    fn counts_delimiters_and_chains_within_one_expression() {
        let parens = |n: usize| format!("fn f() {{ {}1{}; }}", "(".repeat(n), ")".repeat(n));
        assert!(estimate(&parens(100)) - estimate(&parens(0)) >= 100);
        let nots = |n: usize| format!("fn f() {{ let x = {}a; }}", "!".repeat(n));
        assert!(estimate(&nots(500)) >= 500);
        let generics = |n: usize| format!("type T = {}u8{};", "A<K, ".repeat(n), ">".repeat(n));
        assert!(estimate(&generics(300)) >= 300);
        let assignments = |n: usize| format!("fn f() {{ {}1; }}", "a + b = ".repeat(n));
        assert!(estimate(&assignments(300)) >= 300);
        let closures = |n: usize| format!("fn f() {{ let g = {}1; }}", "move |x| x + ".repeat(n));
        assert!(estimate(&closures(300)) >= 300);
        let sums = |n: usize| format!("fn f() {{ let x = a{}; }}", " + !a".repeat(n));
        assert!(estimate(&sums(300)) < 10 && chain(&sums(300)) >= 300);
        let methods = |n: usize| format!("fn f() {{ x{}; }}", ".a()?".repeat(n));
        assert!(estimate(&methods(300)) < 10 && chain(&methods(300)) >= 600);
    }

    #[test]
    fn siblings_do_not_add_up() {
        let items = "fn f() { g(); }\n".repeat(5000);
        assert!(estimate(&items) < 20, "{}", estimate(&items));
        let table = format!(
            "const T: [(u32, u32); 5000] = [{}];",
            "(1, 2), ".repeat(5000)
        );
        assert!(estimate(&table) < 30, "{}", estimate(&table));
        let statements = format!("fn f() {{ {} }}", "if a { b(); } x += 1;".repeat(3000));
        assert!(estimate(&statements) < 30, "{}", estimate(&statements));
        let arrows = format!(
            "fn f() -> u8 {{ 1 }}\n{}",
            "fn g<T>(t: T) -> Vec<T> { vec![t] }\n".repeat(200)
        );
        assert!(estimate(&arrows) < 30, "{}", estimate(&arrows));
    }

    #[test]
    fn a_shebang_is_skipped_keeping_line_numbers() {
        let tokens = lex("#!/usr/bin/env run-cargo-script\nfn f() { (((1))) }").unwrap();
        let deepest = nesting_estimate(&tokens);
        assert_eq!((deepest.depth_at.line, deepest.depth_at.column), (2, 12));
        assert!(lex("#![allow(unused)]\nfn f() {}")
            .unwrap()
            .to_string()
            .starts_with('#'));
    }
}
