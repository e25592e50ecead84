//! Skip what cannot match: decide from the raw text which rules can fire.
//!
//! Each rule states, as [`Needs`], words a file must contain for the rule
//! to have anything to report: literal words, the words of a vocabulary, or
//! the names of the crate's deleting `Drop` types. [`Prefilter`] compiles all
//! of them into one Aho-Corasick automaton and answers, per file, which
//! rules to run. A file no rule needs is not parsed at all. Literal words
//! match exactly as written (Windows bindings are full of `Sleep` and
//! `TIMEOUT`, which no rule looks for); vocabulary words match ASCII
//! case-insensitively, since the vocabularies match snake_cased identifiers
//! and `ConsumerAssignment` contains `assignment` only that way.
//!
//! Needs are necessary conditions, never heuristics: a rule's needs must hold
//! for every file in which it can report. When a vocabulary's words cannot
//! be derived (a user pattern like `.*`), the need is taken as always met.
//! `lint/tests/prefilter.rs` checks that results never change. A file that
//! mentions `quorum_gated_delete` (one more pattern of the automaton) runs
//! every rule: the annotated functions in it are checked as the proc-macro
//! checks them, without the words.
//!
//! [`Prefilter::rules_per_range`] answers which rules read each of a file's
//! items (see [`crate::items`]), from each rule's item needs
//! ([`Rule::item_needs`]: its needs, unless it reads items that hold none
//! of them); [`Prefilter::matches`] searches a text once for both questions.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

use crate::facts::CrateFacts;
use crate::rules::Rule;
use crate::vocabulary::{Vocabulary, Word};

/// One word a rule may need.
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    /// This text, exactly, where it starts a word: not right after a letter
    /// or digit (`at(` in `at(t)`, `crossbeam::at(t)`, not in `format(`; `_`
    /// counts as a boundary, so `recv_timeout` holds `timeout`).
    Word(&'static str),
    /// This text, exactly, anywhere.
    Text(&'static str),
    /// A match of this regex: for shapes that whitespace may split
    /// (`return ;`, `as *const`). Searched only when the rule's other groups
    /// are met, so it costs little.
    Regex(&'static str),
    /// Any word of this vocabulary.
    Vocabulary(Word),
    /// The name of any type whose `Drop` deletes (from [`CrateFacts`]).
    DeletingDropType,
}

/// What a file must contain for a rule to fire: for every group, at least
/// one of its triggers (a conjunction of disjunctions).
#[derive(Debug, Clone, Copy)]
pub struct Needs(pub &'static [&'static [Trigger]]);

impl Needs {
    /// For rules the engine never reports (the suppression rules, which the
    /// CLI reports from comments): no file needs them parsed.
    pub const NEVER: Needs = Needs(&[&[]]);
}

/// The rules a file needs, as a bit set over the prefilter's rule list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleSet(u64);

impl RuleSet {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
    /// The rules in both sets.
    pub fn and(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 & other.0)
    }
}

/// What a pattern's match must also satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Check {
    exact_case: bool,
    word_start: bool,
}

const EXACT_WORD: Check = Check {
    exact_case: true,
    word_start: true,
};
const EXACT_TEXT: Check = Check {
    exact_case: true,
    word_start: false,
};
const ANY_CASE: Check = Check {
    exact_case: false,
    word_start: false,
};

/// A trigger resolved to the automaton: always met, or met by any of these pattern ids.
#[derive(Debug, Clone)]
enum Resolved {
    Always,
    /// Any automaton pattern of this bit mask over pattern ids, or any of
    /// these regexes.
    AnyOf {
        mask: Vec<u64>,
        regexes: Vec<usize>,
    },
}

/// A set of pattern ids, one bit each.
fn bits(ids: impl IntoIterator<Item = usize>, patterns: usize) -> Vec<u64> {
    let mut out = vec![0u64; patterns.div_ceil(64)];
    for id in ids {
        out[id / 64] |= 1 << (id % 64);
    }
    out
}

fn intersects(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).any(|(a, b)| a & b != 0)
}

#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// Per pattern: how a match must look beyond the automaton's
    /// case-insensitive match.
    checks: Vec<Check>,
    /// Per pattern: its text as given (for exact-case checks).
    exact: Vec<String>,
    regexes: Vec<regex::Regex>,
    /// Per rule: its groups, each resolved.
    rules: Vec<Vec<Resolved>>,
    /// Per rule: the groups an item must meet for the rule to read it, once
    /// the file meets its groups in `rules` (see [`Rule::item_needs`]).
    item_rules: Vec<Vec<Resolved>>,
    /// The pattern id of `quorum_gated_delete`.
    quorum: usize,
    /// Every rule has a group only words can meet: a text without a match
    /// meets no rule.
    words_needed: bool,
    /// The same for the item needs: an item without a match is read by no
    /// rule (most of a file's items).
    item_words_needed: bool,
    /// When every rule has a group only regexes can meet: texts (exact
    /// case) one of which each of those regexes' matches contains, and
    /// `quorum_gated_delete`. A text holding none of them meets no rule and
    /// is not searched at all (the facts pass: most files hold no `Drop`).
    gate: Option<Vec<String>>,
}

/// Where a [`Prefilter`]'s patterns matched in one text (see
/// [`Prefilter::matches`]).
#[derive(Debug)]
pub struct Matches {
    /// (pattern id, start byte) of every match that passed its checks.
    found: Vec<(usize, usize)>,
    /// `quorum_gated_delete` is among them.
    quorum: bool,
}

impl Prefilter {
    /// Builds the automaton for `rules` with the vocabulary and facts in force.
    /// `rules` may hold at most 64 rules.
    pub fn new(rules: &[Rule], vocabulary: &Vocabulary, facts: &CrateFacts) -> Prefilter {
        let needs: Vec<Needs> = rules.iter().map(|r| r.needs).collect();
        let item_needs: Vec<Needs> = rules.iter().map(|r| r.item_needs).collect();
        Prefilter::build(&needs, &item_needs, vocabulary, facts)
    }

    /// Builds the automaton for any list of needs (at most 64), each of
    /// which an item must meet as a file does: [`CrateFacts::NEEDS`] for the
    /// first pass.
    pub fn for_needs(
        all_needs: &[Needs],
        vocabulary: &Vocabulary,
        facts: &CrateFacts,
    ) -> Prefilter {
        Prefilter::build(all_needs, all_needs, vocabulary, facts)
    }

    fn build(
        all_needs: &[Needs],
        item_needs: &[Needs],
        vocabulary: &Vocabulary,
        facts: &CrateFacts,
    ) -> Prefilter {
        assert!(all_needs.len() <= 64, "a RuleSet holds 64 entries");
        assert_eq!(all_needs.len(), item_needs.len(), "item needs per rule");
        let mut regexes: Vec<regex::Regex> = Vec::new();
        let mut regex_ids_by_pattern: HashMap<&str, usize> = HashMap::new();
        // Over a thousand patterns (a vocabulary's words with and without
        // their underscores): found by hash, not by a scan of those so far.
        let mut patterns: Vec<(String, Check)> = Vec::new();
        let mut ids: HashMap<(String, Check), usize> = HashMap::new();
        let mut id_of = |text: String, check: Check| -> usize {
            let text = if check.exact_case {
                text
            } else {
                text.to_ascii_lowercase()
            };
            *ids.entry((text, check)).or_insert_with_key(|pattern| {
                patterns.push(pattern.clone());
                patterns.len() - 1
            })
        };
        let mut grouped_ids = Vec::with_capacity(2 * all_needs.len());
        for needs in all_needs.iter().chain(item_needs) {
            let mut groups = Vec::new();
            for group in needs.0 {
                let mut ids = Vec::new();
                let mut regex_ids = Vec::new();
                let mut always = false;
                for trigger in *group {
                    match trigger {
                        Trigger::Word(text) => ids.push(id_of(text.to_string(), EXACT_WORD)),
                        Trigger::Text(text) => ids.push(id_of(text.to_string(), EXACT_TEXT)),
                        // Compiled and searched once, however many needs name it
                        // (a rule's item needs repeat its file needs).
                        Trigger::Regex(pattern) => {
                            let id = *regex_ids_by_pattern.entry(*pattern).or_insert_with(|| {
                                regexes.push(
                                    regex::Regex::new(pattern).expect("built-in trigger regex"),
                                );
                                regexes.len() - 1
                            });
                            regex_ids.push(id);
                        }
                        Trigger::Vocabulary(word) => {
                            match vocabulary_words(vocabulary.pattern(*word)) {
                                Some(words) => {
                                    ids.extend(words.into_iter().map(|w| id_of(w, ANY_CASE)))
                                }
                                None => always = true,
                            }
                        }
                        Trigger::DeletingDropType => ids.extend(
                            facts
                                .deleting_drop_types()
                                .map(|t| id_of(t.to_string(), EXACT_WORD)),
                        ),
                    }
                }
                // The pattern ids; a mask once the number of patterns is known.
                groups.push((!always).then_some((ids, regex_ids)));
            }
            grouped_ids.push(groups);
        }
        let gate = gate_texts(all_needs);
        let quorum = id_of("quorum_gated_delete".to_string(), EXACT_TEXT);
        let mut resolved_rules: Vec<Vec<Resolved>> = grouped_ids
            .into_iter()
            .map(|groups| {
                groups
                    .into_iter()
                    .map(|group| match group {
                        None => Resolved::Always,
                        Some((ids, regexes)) => Resolved::AnyOf {
                            mask: bits(ids, patterns.len()),
                            regexes,
                        },
                    })
                    .collect()
            })
            .collect();
        let item_rules = resolved_rules.split_off(all_needs.len());
        // A DFA: every file is searched (overlapping, case-insensitive), and
        // with a few hundred patterns the default (a contiguous NFA) made the
        // search the largest single cost of a run (13% of `-j1`, perf); the
        // DFA's tables stay under a megabyte.
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns.iter().map(|(text, _)| text.as_str()))
            .expect("literal patterns always build");
        Prefilter {
            automaton,
            checks: patterns.iter().map(|(_, check)| *check).collect(),
            exact: patterns.iter().map(|(text, _)| text.clone()).collect(),
            regexes,
            words_needed: words_needed(&resolved_rules),
            item_words_needed: words_needed(&item_rules),
            rules: resolved_rules,
            item_rules,
            quorum,
            gate,
        }
    }

    /// The rules (by index in the list given to [`Prefilter::new`]) whose needs `text` meets.
    pub fn rules_for(&self, text: &str) -> RuleSet {
        self.rules_of(&self.matches(text), text)
    }

    /// The automaton's matches over `text`, found once: a file's rules
    /// ([`Prefilter::rules_of`]) and its items' rules
    /// ([`Prefilter::rules_per_range_of`]) are both answered from them, so a
    /// parsed file is searched once, not once per question.
    pub fn matches(&self, text: &str) -> Matches {
        let mut found = Vec::new();
        let mut quorum = false;
        if let Some(gate) = &self.gate {
            if !gate.iter().any(|t| text.contains(t.as_str())) {
                return Matches { found, quorum };
            }
        }
        self.each_match(text, |id, start| {
            quorum |= id == self.quorum;
            found.push((id, start));
        });
        Matches { found, quorum }
    }

    /// [`Prefilter::rules_for`] from `text`'s [`Matches`].
    pub fn rules_of(&self, matches: &Matches, text: &str) -> RuleSet {
        // A `#[quorum_gated_delete]` function is checked as the macro checks
        // it: every rule, as a lifecycle function, whatever words it holds
        // (and its arguments are checked too).
        if matches.quorum {
            return self.all();
        }
        if matches.found.is_empty() && self.words_needed {
            return RuleSet::default();
        }
        let seen = bits(matches.found.iter().map(|&(id, _)| id), self.checks.len());
        self.decide(&self.rules, &seen, |r| self.regexes[r].is_match(text))
    }

    /// Every rule.
    fn all(&self) -> RuleSet {
        RuleSet(if self.rules.len() == 64 {
            u64::MAX
        } else {
            (1 << self.rules.len()) - 1
        })
    }

    /// For each of `ranges` (sorted, not overlapping) of `text`, the rules
    /// whose item needs the range's text meets: those that read it, if the
    /// whole text meets their needs. `None` when `text` mentions
    /// `quorum_gated_delete` (then every rule reads every function, see
    /// [`Prefilter::rules_for`]).
    pub fn rules_per_range(&self, text: &str, ranges: &[Range<usize>]) -> Option<Vec<RuleSet>> {
        self.rules_per_range_of(&self.matches(text), text, ranges)
    }

    /// [`Prefilter::rules_per_range`] from `text`'s [`Matches`].
    pub fn rules_per_range_of(
        &self,
        matches: &Matches,
        text: &str,
        ranges: &[Range<usize>],
    ) -> Option<Vec<RuleSet>> {
        if matches.quorum {
            return None;
        }
        let mut found: Vec<Vec<usize>> = vec![Vec::new(); ranges.len()];
        for &(id, start) in &matches.found {
            let i = ranges.partition_point(|r| r.end <= start);
            if ranges.get(i).is_some_and(|r| r.start <= start) {
                found[i].push(id);
            }
        }
        // Each regex searched at most once over the whole text, when some
        // range first asks; a range meets it when a match overlaps it. That
        // is never less than a search of the range's own text: a match there
        // starts inside the range, where the whole text's search either
        // finds one too or is inside a match that overlaps the range (items
        // start after a `}`, `;` or `{`, so `^` and `\b` hold the same).
        let mut hits: Vec<Option<Vec<Range<usize>>>> = vec![None; self.regexes.len()];
        let mut seen = vec![0u64; self.checks.len().div_ceil(64)];
        Some(
            ranges
                .iter()
                .zip(&found)
                .map(|(range, ids)| {
                    if ids.is_empty() && self.item_words_needed {
                        return RuleSet::default();
                    }
                    seen.iter_mut().for_each(|w| *w = 0);
                    for &id in ids {
                        seen[id / 64] |= 1 << (id % 64);
                    }
                    self.decide(&self.item_rules, &seen, |r| {
                        let hits = hits[r].get_or_insert_with(|| {
                            self.regexes[r].find_iter(text).map(|m| m.range()).collect()
                        });
                        let i = hits.partition_point(|m| m.end <= range.start);
                        hits.get(i).is_some_and(|m| m.start < range.end)
                    })
                })
                .collect(),
        )
    }

    /// Calls `found(pattern, start)` for every match that passes its checks.
    fn each_match(&self, text: &str, mut found: impl FnMut(usize, usize)) {
        let bytes = text.as_bytes();
        // Overlapping search: a shorter word inside a longer one counts too.
        for m in self.automaton.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            let check = self.checks[id];
            let starts_word = m.start() == 0 || !bytes[m.start() - 1].is_ascii_alphanumeric();
            let case_ok = !check.exact_case || self.exact[id].as_bytes() == &bytes[m.range()];
            if case_ok && (!check.word_start || starts_word) {
                found(id, m.start());
            }
        }
    }

    /// The rules whose groups the `seen` patterns (a bit set) and the
    /// regexes `regex_met` accepts meet.
    fn decide(
        &self,
        rules: &[Vec<Resolved>],
        seen: &[u64],
        mut regex_met: impl FnMut(usize) -> bool,
    ) -> RuleSet {
        let mut set = 0u64;
        for (index, groups) in rules.iter().enumerate() {
            // Automaton words first; regexes only if everything else holds.
            let words_met = groups.iter().all(|group| match group {
                Resolved::Always => true,
                Resolved::AnyOf { mask, regexes, .. } => {
                    !regexes.is_empty() || intersects(mask, seen)
                }
            });
            let met = words_met
                && groups.iter().all(|group| match group {
                    Resolved::Always => true,
                    Resolved::AnyOf { mask, regexes, .. } => {
                        intersects(mask, seen) || regexes.iter().any(|&r| regex_met(r))
                    }
                });
            if met {
                set |= 1 << index;
            }
        }
        RuleSet(set)
    }
}

/// Whether every rule has a group that only automaton words can meet.
fn words_needed(rules: &[Vec<Resolved>]) -> bool {
    rules.iter().all(|groups| {
        groups
            .iter()
            .any(|g| matches!(g, Resolved::AnyOf { regexes, .. } if regexes.is_empty()))
    })
}

/// The texts of [`Prefilter::gate`]: for each rule, the literals of the
/// regexes of a group that has only regexes (a group with no trigger at
/// all is never met: it adds none); `None` when some rule has no such group
/// or one of its regexes implies no literal.
fn gate_texts(all_needs: &[Needs]) -> Option<Vec<String>> {
    let mut texts = vec!["quorum_gated_delete".to_string()];
    for needs in all_needs {
        let group = needs
            .0
            .iter()
            .find(|group| group.iter().all(|t| matches!(t, Trigger::Regex(_))))?;
        for trigger in *group {
            let Trigger::Regex(pattern) = trigger else {
                unreachable!("a group of regexes")
            };
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(pattern)
                .ok()?;
            texts.extend(necessary_literals(&hir)?);
        }
    }
    Some(texts)
}

/// Texts of which every identifier matching `pattern` (a vocabulary regex,
/// matched against snake_case forms) contains one, ASCII case-insensitively,
/// as written in the source. `None` when no finite set is implied.
///
/// The snake_case form differs from the source only by lowercase and by the
/// `_`s it inserts at case changes (`RemoveConsumer` → `remove_consumer`), so
/// a literal of the regex appears in the source with some of its `_`s
/// removed: every such variant is a pattern.
fn vocabulary_words(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let literals = necessary_literals(&hir)?;
    Some(
        literals
            .iter()
            .flat_map(|l| underscore_variants(&l.to_ascii_lowercase()))
            .collect(),
    )
}

/// Literals (exact case) one of which every match of `hir` contains.
fn necessary_literals(hir: &Hir) -> Option<Vec<String>> {
    if let Some(literals) = affix_literals(hir) {
        return Some(literals);
    }
    match hir.kind() {
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(necessary_literals(branch)?);
            }
            Some(all)
        }
        // A match of a sequence contains a match of each part: any part's
        // literals will do; take the part whose shortest literal is longest.
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(necessary_literals)
            .max_by_key(|literals| literals.iter().map(String::len).min().unwrap_or(0)),
        HirKind::Capture(capture) => necessary_literals(&capture.sub),
        _ => None,
    }
}

/// The prefixes of `hir` if they are a finite set of non-empty literals,
/// else its suffixes, else `None`.
fn affix_literals(hir: &Hir) -> Option<Vec<String>> {
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut extractor = Extractor::new();
        extractor
            .kind(kind)
            .limit_total(4096)
            .limit_literal_len(64)
            .limit_class(64);
        let seq = extractor.extract(hir);
        let Some(literals) = seq.literals() else {
            continue;
        };
        let texts: Option<Vec<String>> = literals
            .iter()
            .map(|l| std::str::from_utf8(l.as_bytes()).ok().map(str::to_string))
            .collect();
        // An empty literal (or one of only `_`s) would match everywhere.
        if let Some(texts) =
            texts.filter(|t| !t.is_empty() && t.iter().all(|t| t.chars().any(|c| c != '_')))
        {
            return Some(texts);
        }
    }
    None
}

/// `remove_consumer` → `remove_consumer`, `removeconsumer`; leading and
/// trailing `_`s are dropped first (a boundary in the pattern, not a letter).
fn underscore_variants(literal: &str) -> Vec<String> {
    let core = literal.trim_matches('_');
    let parts: Vec<&str> = core.split('_').collect();
    if parts.len() > 5 {
        // Too many variants: fall back to the longest part alone.
        return vec![parts
            .iter()
            .max_by_key(|p| p.len())
            .unwrap_or(&core)
            .to_string()];
    }
    let mut variants = vec![parts[0].to_string()];
    for part in &parts[1..] {
        variants = variants
            .into_iter()
            .flat_map(|v| [format!("{v}_{part}"), format!("{v}{part}")])
            .collect();
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_words_from_the_default_vocabularies() {
        let v = Vocabulary::default();
        let delete = vocabulary_words(v.pattern(Word::Delete)).expect("finite");
        for word in [
            "delete",
            "purge",
            "reap",
            "remove_consumer",
            "removeconsumer",
            "revoke_lease",
        ] {
            assert!(delete.iter().any(|w| w == word), "{word} in {delete:?}");
        }
        let lifecycle = vocabulary_words(v.pattern(Word::Lifecycle)).expect("finite");
        assert!(lifecycle.iter().any(|w| w == "inactive"), "{lifecycle:?}");
    }

    #[test]
    fn words_match_where_they_start_a_word_and_vocabularies_inside_identifiers() {
        use crate::rules::rule;
        let prefilter = Prefilter::new(
            &[*rule("timer_leak").unwrap()],
            &Vocabulary::default(),
            &CrateFacts::default(),
        );
        assert!(prefilter
            .rules_for("let t = crossbeam_channel::at(deadline);")
            .contains(0));
        assert!(prefilter.rules_for("rx.recv_timeout(d)").contains(0));
        assert!(!prefilter
            .rules_for("let s = format!(\"{x}\"); v.repeat(3);")
            .contains(0));
        let prefilter = Prefilter::new(
            &[*rule("silent_early_return").unwrap()],
            &Vocabulary::default(),
            &CrateFacts::default(),
        );
        assert!(prefilter
            .rules_for("fn f(&self) { if x { return; } self.RemoveConsumer(k) }")
            .contains(0));
        assert!(!prefilter
            .rules_for("fn f(&self) { if x { return; } self.map.get(k) }")
            .contains(0));
    }

    #[test]
    fn a_text_without_the_literals_of_a_regex_only_group_is_not_searched() {
        let facts = Prefilter::for_needs(
            &[CrateFacts::NEEDS],
            &Vocabulary::default(),
            &CrateFacts::default(),
        );
        let gate = facts.gate.as_ref().expect("the facts need `Drop for`");
        assert!(gate.iter().any(|t| t.starts_with("Drop")), "{gate:?}");
        let deleting_drop = "impl Drop for C { fn drop(&mut self) { delete_consumer(self) } }";
        assert!(!facts.rules_for(deleting_drop).is_empty());
        let no_drop = "fn f(c: C) { delete_consumer(c) }";
        assert!(facts.matches(no_drop).found.is_empty());
        assert!(facts.rules_for(no_drop).is_empty());
        // The lint rules have no such group: no gate.
        let rules = Prefilter::new(
            crate::rules::RULES,
            &Vocabulary::default(),
            &CrateFacts::default(),
        );
        assert!(rules.gate.is_none());
    }

    #[test]
    fn a_pattern_without_words_is_always_met() {
        assert_eq!(vocabulary_words(".*"), None);
        assert_eq!(vocabulary_words(r"^\w+$"), None);
    }
}
