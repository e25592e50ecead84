//! Span → file position mapping (needs proc-macro2's `span-locations`).

use proc_macro2::{LineColumn, Span};

/// A position in a file: 1-based line and column (in characters, so a tab
/// or a multi-byte character counts as one), and the byte offset.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Region {
    pub start: Position,
    pub end: Position,
}

impl Region {
    pub fn len(&self) -> usize {
        self.end.offset.saturating_sub(self.start.offset)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Maps proc-macro2 line/column pairs of one source text to positions.
pub struct LineIndex<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> LineIndex<'t> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    pub fn region(&self, span: Span) -> Region {
        Region {
            start: self.position(span.start()),
            end: self.position(span.end()),
        }
    }

    /// The position of a byte offset (clamped to the text, and back to a
    /// character boundary).
    pub fn position_of_offset(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        Position {
            line,
            column: self.text[line_start..offset].chars().count() + 1,
            offset,
        }
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &'t str {
        let start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// proc-macro2 lines are 1-based, columns 0-based in characters.
    pub fn position(&self, at: LineColumn) -> Position {
        let line = at.line.clamp(1, self.line_starts.len());
        let line_start = self.line_starts[line - 1];
        let line_end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let line_text = &self.text[line_start..line_end];
        let column_bytes = line_text
            .char_indices()
            .nth(at.column)
            .map_or(line_text.len(), |(i, _)| i);
        Position {
            line,
            column: at.column + 1,
            offset: line_start + column_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_offsets_count_bytes() {
        let text = "fn a() {}\n\tlet é = x;\r\n";
        let index = LineIndex::new(text);
        let at = index.position(LineColumn { line: 2, column: 7 });
        assert_eq!((at.line, at.column), (2, 8));
        assert_eq!(&text[at.offset..at.offset + 1], "=");
        assert_eq!(index.position_of_offset(at.offset), at);
        assert_eq!(index.line_text(2), "\tlet é = x;");
        assert_eq!(index.line_text(9), "");
    }
}
