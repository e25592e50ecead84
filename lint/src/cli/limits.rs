//! Limits that keep hostile files from exhausting memory or the stack.
//!
//! `syn` parses recursively, and the rules and the tree's destructor walk the
//! tree recursively, so a file nested deeply enough overflows any stack and
//! aborts the process. Before parsing, the tokens are scanned (iteratively:
//! proc-macro2's lexer and token streams use no recursion) for an upper
//! estimate of the syntax tree's depth; a file above [`MAX_NESTING`] is
//! reported instead of parsed. Worker threads have a stack big enough for
//! any file below it (`analyze::WORKER_STACK_BYTES`; the tests in
//! `analyze.rs` lint the deepest accepted file of each construct).

use proc_macro2::{Delimiter, LineColumn, Spacing, TokenStream, TokenTree};

/// The biggest file linted. The largest `.rs` file among 453 crates of a
/// cargo registry (unicode-width's tables) is 1.5 MB; parsing costs about 75
/// bytes of syntax tree per byte of source, so a 10 MiB file already takes
/// ~750 MB per worker thread.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// The deepest [`nesting_estimate`] linted. Among the 26,539 files of 453
/// crates of a cargo registry the deepest scores 773 (a macro's table of
/// 256 colors), the next 482 (a sum of 50 method chains). The estimate
/// overcounts most code several times over; what it must bound is the worst
/// case, a chain of one construct (`((((`, `Vec<Vec<`, `!!!!`), at up to
/// ~30 KB of stack per level in a debug build.
pub const MAX_NESTING: usize = 3000;

/// The tokens of a file's text (after a `#!` line, as `syn::parse_file`
/// skips it; line numbers are kept).
pub fn lex(text: &str) -> Result<TokenStream, proc_macro2::LexError> {
    without_shebang(text).parse()
}

/// How deeply a file's syntax tree may nest, and where: the estimate and
/// the token at which it is reached.
#[derive(Debug, Clone, Copy)]
pub struct Nesting {
    pub depth: usize,
    pub at: LineColumn,
}

/// An upper estimate of how deeply the syntax tree of `tokens` nests.
///
/// Every level of the tree (and of the parser's recursion) owns at least one
/// token, nested either inside a delimiter (`(`, `[`, `{`) or after the
/// tokens before it in the same expression: `!!!!x`, `a = b = c`,
/// `|| || x`, `Vec<Vec<u8>>`. So the estimate is, at the deepest token, the
/// sum over its enclosing delimiters of the tokens of the current run inside
/// each. A run ends at `;`, at `,` (except for generics left open:
/// `A<K, A<K, ..>>` nests past its commas), and after a braced block followed
/// by the next item or statement.
pub fn nesting_estimate(tokens: &TokenStream) -> Nesting {
    let mut frames = vec![Frame::new(tokens.clone())];
    let mut outer = 0; // the sum of the runs of the enclosing frames
    let mut deepest = Nesting {
        depth: 0,
        at: LineColumn { line: 1, column: 0 },
    };
    while let Some(frame) = frames.last_mut() {
        let Some(tree) = frame.tokens.next() else {
            frames.pop();
            if let Some(parent) = frames.last() {
                outer -= parent.run;
            }
            continue;
        };
        let follows_block = std::mem::replace(&mut frame.after_block, false);
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ';' => frame.end_run(0),
            TokenTree::Punct(p) if p.as_char() == ',' => frame.end_run(frame.open_angles),
            // After a block, anything but an operator or `else`/`as` starts the
            // next statement, item or match arm.
            TokenTree::Ident(word) if follows_block && word != "else" && word != "as" => {
                frame.end_run(0)
            }
            TokenTree::Group(_) | TokenTree::Literal(_) if follows_block => frame.end_run(0),
            // `#` only starts an attribute, and attributes are siblings.
            TokenTree::Punct(p) if p.as_char() == '#' => frame.end_run(0),
            _ => {}
        }
        frame.run += 1;
        if outer + frame.run > deepest.depth {
            deepest = Nesting {
                depth: outer + frame.run,
                at: tree.span().start(),
            };
        }
        match tree {
            TokenTree::Punct(p) => {
                let arrow = matches!(frame.previous_joint, Some('-' | '='));
                match p.as_char() {
                    '<' => frame.open_angles += 1,
                    '>' if !arrow => frame.open_angles = frame.open_angles.saturating_sub(1),
                    _ => {}
                }
                frame.previous_joint = (p.spacing() == Spacing::Joint).then_some(p.as_char());
            }
            TokenTree::Group(group) => {
                frame.previous_joint = None;
                frame.after_block = group.delimiter() == Delimiter::Brace;
                outer += frame.run;
                frames.push(Frame::new(group.stream()));
            }
            _ => frame.previous_joint = None,
        }
    }
    deepest
}

/// The tokens of one delimited group being scanned.
struct Frame {
    tokens: proc_macro2::token_stream::IntoIter,
    /// Tokens since the run began.
    run: usize,
    /// `<` not yet closed by `>` in this group.
    open_angles: usize,
    /// The previous token, if it was a joint punctuation (`-` of `->`).
    previous_joint: Option<char>,
    /// The previous token was a `{ .. }` group.
    after_block: bool,
}

impl Frame {
    fn new(stream: TokenStream) -> Frame {
        Frame {
            tokens: stream.into_iter(),
            run: 0,
            open_angles: 0,
            previous_joint: None,
            after_block: false,
        }
    }

    fn end_run(&mut self, carried: usize) {
        self.run = carried;
        if carried == 0 {
            self.open_angles = 0;
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

    #[test]
    fn counts_delimiters_and_chains_within_one_expression() {
        let parens = |n: usize| format!("fn f() {{ {}1{}; }}", "(".repeat(n), ")".repeat(n));
        assert!(estimate(&parens(100)) - estimate(&parens(0)) >= 100);
        let nots = |n: usize| format!("fn f() {{ let x = {}a; }}", "!".repeat(n));
        assert!(estimate(&nots(500)) >= 500);
        let generics = |n: usize| format!("type T = {}u8{};", "A<K, ".repeat(n), ">".repeat(n));
        assert!(estimate(&generics(300)) >= 300);
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
        assert_eq!((deepest.at.line, deepest.at.column), (2, 12));
        assert!(lex("#![allow(unused)]\nfn f() {}")
            .unwrap()
            .to_string()
            .starts_with('#'));
    }
}
