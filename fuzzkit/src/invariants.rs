//! The promises every run keeps, whatever the input: checked on the real
//! pipeline (`lifecycle_lint::cli::analyze_source` and the real renderers).

use std::collections::HashSet;
use std::sync::OnceLock;

use lifecycle_lint::cli::{self, Analysis, Format, Position, Region, Settings};
use lifecycle_lint::{items, Vocabulary};
use proc_macro2::{TokenStream, TokenTree};
use serde_json::Value;

/// Everything one file's analysis renders to.
#[derive(Debug, PartialEq, Eq)]
pub struct Outputs {
    pub human: String,
    pub human_color: String,
    pub short: String,
    pub json: String,
    pub sarif: String,
    pub github: String,
}

/// Lints `bytes` as the file `path` with the default settings, renders every
/// format, and panics (with what broke) unless:
/// - every finding's region and label lies inside the file, its line and
///   column agree with its byte offset, and it covers code: it is not empty,
///   starts on a token, and the text under it lexes as Rust tokens;
/// - a file with a problem is reported as one, with a position inside it;
/// - a file with findings whose text does not lex whole (only the items
///   that can matter are parsed) is reported unparsable with `--parse-all`;
/// - JSON and SARIF parse and count the same findings and problems;
/// - the GitHub output is one workflow command per finding or problem,
///   whatever the path or message holds;
/// - the human (without color) and short outputs hold no control
///   characters but newlines and tabs.
pub fn lint_and_check(path: &str, bytes: &[u8]) -> Outputs {
    // Compiling the vocabulary's regexes costs more than linting a file.
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    let settings = SETTINGS.get_or_init(|| Settings {
        vocabulary: Vocabulary::default(),
        levels: cli::Levels::default(),
        jobs: 1,
        prefilter: true,
        parse_all: false,
        named_files: Default::default(),
        cache_dir: None,
        progress: false,
    });
    let analysis = cli::analyze_source(path, bytes, settings);
    if !check_positions(&analysis, bytes) {
        check_parse_all_reports_it(path, bytes, settings);
    }
    let outputs = Outputs {
        human: cli::render(Format::Human, &analysis, false),
        human_color: cli::render(Format::Human, &analysis, true),
        short: cli::render(Format::Short, &analysis, false),
        json: cli::render(Format::Json, &analysis, false),
        sarif: cli::render(Format::Sarif, &analysis, false),
        github: cli::render(Format::Github, &analysis, false),
    };
    check_outputs(&analysis, &outputs);
    outputs
}

/// Checks every position; returns whether the text lexes whole (or has no
/// findings to check, so was not lexed).
fn check_positions(analysis: &Analysis, bytes: &[u8]) -> bool {
    assert_eq!(analysis.files_checked + analysis.problems.len(), 1);
    for problem in &analysis.problems {
        assert!(!problem.message.is_empty());
        if let Some(at) = problem.position {
            check_inside(bytes, &at, &format!("{problem:?}"));
        }
    }
    // A file the parser cannot read is one `unparsable_file` finding at the
    // error's position (its text may not even lex, or not be UTF-8).
    let (unparsable, findings): (Vec<_>, Vec<_>) = analysis
        .findings
        .iter()
        .partition(|r| r.rule.id == "unparsable_file");
    for report in &unparsable {
        let at = report.region.start;
        check_inside(bytes, &at, &format!("{report:?}"));
        if let Some(text) = analysis.sources.values().next() {
            check_position(text, &at, "unparsable_file");
        }
    }
    if findings.is_empty() {
        return true;
    }
    let Some(text) = analysis.sources.values().next() else {
        panic!("findings without their text");
    };
    let (tokens, lexes_whole) = TokenBoundaries::of(text);
    for report in findings {
        let what = format!("{} at {:?}", report.rule.id, report.region);
        check_code_region(text, &tokens, &report.region, &what);
        for (region, message) in &report.labels {
            check_code_region(
                text,
                &tokens,
                region,
                &format!("label `{message}` of {what}"),
            );
        }
    }
    lexes_whole
}

/// The promise the narrowed parse makes in return for skipping items: a
/// syntax error in any of them is reported with `--parse-all`.
fn check_parse_all_reports_it(path: &str, bytes: &[u8], settings: &Settings) {
    let settings = Settings {
        vocabulary: settings.vocabulary.clone(),
        levels: settings.levels.clone(),
        named_files: settings.named_files.clone(),
        cache_dir: settings.cache_dir.clone(),
        parse_all: true,
        ..*settings
    };
    let analysis = cli::analyze_source(path, bytes, &settings);
    assert!(
        analysis
            .findings
            .iter()
            .any(|r| r.rule.id == "unparsable_file"),
        "a file that does not lex is not reported unparsable with --parse-all"
    );
}

/// Where the file's tokens start and end (delimiters included), as
/// proc-macro2 line/column pairs: a region on code starts at a token's start
/// and ends at a token's end, never inside a comment, a literal or blank space.
/// Only the items that can matter are parsed, so a file may have findings
/// while another of its items does not lex: its boundaries are then those of
/// the text with the items that do not lex on their own blanked, as the lint
/// blanks the items it skips (lines and columns stay).
struct TokenBoundaries {
    starts: HashSet<(usize, usize)>,
    ends: HashSet<(usize, usize)>,
}

impl TokenBoundaries {
    /// The boundaries, and whether `text` lexes whole.
    fn of(text: &str) -> (TokenBoundaries, bool) {
        let mut boundaries = TokenBoundaries {
            starts: HashSet::new(),
            ends: HashSet::new(),
        };
        let (stream, lexes_whole) = match text.parse::<TokenStream>() {
            Ok(stream) => (stream, true),
            Err(_) => (Self::lexable_items(text), false),
        };
        boundaries.add(stream);
        proc_macro2::extra::invalidate_current_thread_spans();
        (boundaries, lexes_whole)
    }

    fn lexable_items(text: &str) -> TokenStream {
        let split = items::split(text)
            .expect("a file with findings that does not lex whole was split into items");
        let broken: Vec<_> = split
            .leaves()
            .iter()
            .map(|item| item.range.clone())
            .filter(|range| text[range.clone()].parse::<TokenStream>().is_err())
            .collect();
        items::blank(text, &broken)
            .parse()
            .expect("a file with findings lexes once its unlexable items are blanked")
    }

    fn add(&mut self, stream: TokenStream) {
        for tree in stream {
            let span = match &tree {
                TokenTree::Group(group) => {
                    self.add_span(group.span_open());
                    self.add_span(group.span_close());
                    self.add(group.stream());
                    group.span()
                }
                other => other.span(),
            };
            self.add_span(span);
        }
    }

    fn add_span(&mut self, span: proc_macro2::Span) {
        let (start, end) = (span.start(), span.end());
        self.starts.insert((start.line, start.column));
        self.ends.insert((end.line, end.column));
    }
}

fn check_code_region(text: &str, tokens: &TokenBoundaries, region: &Region, what: &str) {
    assert!(
        tokens
            .starts
            .contains(&(region.start.line, region.start.column - 1))
            && tokens
                .ends
                .contains(&(region.end.line, region.end.column - 1)),
        "{what}: region does not start and end on token boundaries"
    );
    check_position(text, &region.start, what);
    check_position(text, &region.end, what);
    assert!(region.start <= region.end, "{what}: ends before it starts");
    let code = &text[region.start.offset..region.end.offset];
    assert!(!code.is_empty(), "{what}: empty region");
    assert!(
        !code.starts_with(char::is_whitespace) && !code.ends_with(char::is_whitespace),
        "{what}: region {code:?} does not start and end on code"
    );
    assert!(
        code.parse::<proc_macro2::TokenStream>().is_ok(),
        "{what}: region {code:?} is not whole tokens"
    );
}

/// The position's line and column are those of its byte offset.
/// A position in a file that may not be UTF-8: on one of its lines, at most
/// one past that line's end (columns count characters, never more than the
/// line's bytes), and its offset inside the file.
fn check_inside(bytes: &[u8], at: &Position, what: &str) {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    assert!(
        (1..=lines.len()).contains(&at.line),
        "{what}: line {} outside the file's {} lines",
        at.line,
        lines.len()
    );
    let line_bytes = lines[at.line - 1].len();
    assert!(
        (1..=line_bytes + 1).contains(&at.column),
        "{what}: column {} outside line {} ({line_bytes} bytes)",
        at.column,
        at.line
    );
    assert!(
        at.offset <= bytes.len(),
        "{what}: offset {} outside the file ({} bytes)",
        at.offset,
        bytes.len()
    );
}

fn check_position(text: &str, at: &Position, what: &str) {
    assert!(
        at.offset <= text.len() && text.is_char_boundary(at.offset),
        "{what}: offset {} outside the file or inside a character",
        at.offset
    );
    let before = &text[..at.offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    assert_eq!(
        (at.line, at.column),
        (line, column),
        "{what}: line/column disagree with byte offset {}",
        at.offset
    );
}

fn check_outputs(analysis: &Analysis, outputs: &Outputs) {
    let entries = analysis.findings.len() + analysis.problems.len();

    let json: Value = serde_json::from_str(&outputs.json).expect("JSON output parses");
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(analysis.findings.len())
    );
    assert_eq!(
        json["errors"].as_array().map(Vec::len),
        Some(analysis.problems.len())
    );

    let sarif: Value = serde_json::from_str(&outputs.sarif).expect("SARIF output parses");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["results"].as_array().map(Vec::len),
        Some(analysis.findings.len())
    );
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .map(Vec::len),
        Some(analysis.problems.len())
    );

    let commands: Vec<&str> = outputs.github.split_terminator('\n').collect();
    assert_eq!(commands.len(), entries, "one workflow command per entry");
    for command in commands {
        assert!(
            command.starts_with("::error ") || command.starts_with("::warning "),
            "not a workflow command: {command:?}"
        );
        assert!(!command.contains('\r'), "carriage return in {command:?}");
        let (properties, _message) = command[2..]
            .split_once("::")
            .expect("a workflow command has properties and a message");
        assert!(!properties.contains("::"));
    }

    assert_eq!(
        outputs.short.lines().count(),
        entries,
        "one short line per entry"
    );
    for (format, text) in [("human", &outputs.human), ("short", &outputs.short)] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "control character in {format} output: {text:?}"
        );
    }
}
