//! The comments of Rust source text, found by a small lexer that knows
//! where comments cannot be: inside string, byte-string, raw-string and
//! character literals (so `"http://x"` holds no comment). syn drops
//! comments, so suppressions are read from the text.

/// Which way a comment points, as with attributes: `//!` and `/*!` are inner
/// (they describe what encloses them); every other comment is outer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Outer,
    Inner,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment<'t> {
    /// The text between the opener (`//`, `///`, `//!`, `/*`, ...) and the
    /// end of the line or the closing `*/`.
    pub body: &'t str,
    pub style: Style,
    /// Byte range of the whole comment, opener included.
    pub start: usize,
    pub end: usize,
    /// Code precedes it on its line.
    pub trailing: bool,
}

pub fn comments(text: &str) -> Vec<Comment<'_>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let mut code_on_line = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                code_on_line = false;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let (style, opener) = match (bytes.get(i + 2), bytes.get(i + 3)) {
                    (Some(b'!'), _) => (Style::Inner, 3),
                    (Some(b'/'), next) if next != Some(&b'/') => (Style::Outer, 3),
                    _ => (Style::Outer, 2),
                };
                found.push(Comment {
                    body: &text[i + opener..end],
                    style,
                    start: i,
                    end,
                    trailing: code_on_line,
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(bytes, i);
                let style = if bytes.get(i + 2) == Some(&b'!') {
                    Style::Inner
                } else {
                    Style::Outer
                };
                let opener =
                    2 + usize::from(matches!(bytes.get(i + 2), Some(b'!' | b'*')) && end - i > 4);
                let close = if end - i >= opener + 2 && text[..end].ends_with("*/") {
                    end - 2
                } else {
                    end
                };
                found.push(Comment {
                    body: &text[i + opener..close],
                    style,
                    start: i,
                    end,
                    trailing: code_on_line,
                });
                if text[i..end].contains('\n') {
                    code_on_line = false;
                }
                i = end;
            }
            b'"' => {
                i = quoted_end(bytes, i + 1, b'"');
                code_on_line = true;
            }
            b'\'' => {
                i = char_or_lifetime_end(text, i);
                code_on_line = true;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | 0x80.. => {
                let start = i;
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                if matches!(word, "r" | "br" | "cr") {
                    if let Some(end) = raw_string_end(bytes, i) {
                        i = end;
                    }
                } else if matches!(word, "b" | "c") && bytes.get(i) == Some(&b'"') {
                    i = quoted_end(bytes, i + 1, b'"');
                } else if word == "b" && bytes.get(i) == Some(&b'\'') {
                    i = quoted_end(bytes, i + 1, b'\'');
                }
                code_on_line = true;
            }
            _ => {
                i += 1;
                code_on_line = true;
            }
        }
    }
    found
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The end of a (nested) block comment starting at `start`, or the end of the text.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Just past the `close` that ends a literal whose body starts at `i`,
/// honouring backslash escapes.
fn quoted_end(bytes: &[u8], mut i: usize, close: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == close => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// After `r`/`br`/`cr` at `i`: the end of a raw string `#*"..."#*`, or `None`
/// when this is a raw identifier (`r#type`) or not a raw string at all.
fn raw_string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut hashes = 0;
    while bytes.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while i < bytes.len() {
        let closing_hashes = bytes.get(i + 1..i + 1 + hashes);
        if bytes[i] == b'"' && closing_hashes.is_some_and(|h| h.iter().all(|&b| b == b'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(bytes.len())
}

/// At a `'`: the end of a character literal (`'x'`, `'\n'`, `'é'`), or just
/// past the quote of a lifetime or label (`'a`, `'outer:`).
fn char_or_lifetime_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(start + 1) == Some(&b'\\') {
        return quoted_end(bytes, start + 1, b'\'');
    }
    let Some(c) = text[start + 1..].chars().next() else {
        return text.len();
    };
    let after = start + 1 + c.len_utf8();
    if bytes.get(after) == Some(&b'\'') {
        after + 1
    } else {
        start + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(text: &str) -> Vec<(&str, Style, bool)> {
        comments(text)
            .into_iter()
            .map(|c| (c.body, c.style, c.trailing))
            .collect()
    }

    #[test]
    fn finds_line_block_doc_and_trailing_comments() {
        let text = "//! inner\n/// outer doc\nfn f() { // trailing\n    /* block /* nested */ still */ x();\n}\n";
        assert_eq!(
            bodies(text),
            [
                (" inner", Style::Inner, false),
                (" outer doc", Style::Outer, false),
                (" trailing", Style::Outer, true),
                (" block /* nested */ still ", Style::Outer, false),
            ]
        );
    }

    #[test]
    fn comment_markers_inside_literals_are_not_comments() {
        let text = concat!(
            "let a = \"http://x // no\";\n",
            "let b = r#\"// no \"quoted\" /* no */\"#;\n",
            "let c = b\"//\\\"//\"; let d = '/'; let e = '\\''; let f = b'\"';\n",
            "fn g<'a>(x: &'a str) -> &'a str { x } // yes\n",
            "let r#match = \"\\\\\"; // also yes\n",
        );
        assert_eq!(
            bodies(text),
            [
                (" yes", Style::Outer, true),
                (" also yes", Style::Outer, true)
            ]
        );
    }

    #[test]
    fn unterminated_literals_and_comments_end_at_the_end_of_the_text() {
        assert_eq!(bodies("/* open"), [(" open", Style::Outer, false)]);
        assert!(bodies("\"open // not a comment").is_empty());
        assert!(bodies("r##\"open").is_empty());
    }
}
