//! The pre-filter must never change findings: every file of this repository
//! (rule fixtures, the real-bug benchmark's shapes, examples, the linter's
//! own sources, the macro's UI cases, the reaper) is linted with all rules
//! over the whole file, and as the CLI lints it: only the rules the
//! pre-filter picks, over the file narrowed to the items they can need
//! (`lifecycle_lint::items`), and, when that finds anything, over the whole
//! file again (a rule may stay quiet because of an item it does not need).
//! The findings must be identical; so must those of the picked rules over
//! the whole file (`--parse-all`). So the narrowed file must find something
//! wherever the whole file does: no item a finding depends on may be
//! skipped.
//!
//! `LIFECYCLE_LINT_PREFILTER_CORPUS=/some/dir` adds a directory of real code
//! (e.g. a cargo registry's `src/`), for a larger check by hand.

use std::path::{Path, PathBuf};

use lifecycle_lint::items;
use lifecycle_lint::prefilter::Prefilter;
use lifecycle_lint::{check_file, CrateFacts, Options, Rule, Vocabulary, RULES};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

type Found = Vec<(&'static str, usize, usize, String)>;

fn findings(
    file: &syn::File,
    vocabulary: &Vocabulary,
    facts: &CrateFacts,
    rules: &[Rule],
) -> Found {
    let options = Options {
        rules,
        ..Options::new(vocabulary, facts)
    };
    let mut found: Found = check_file(file, &options)
        .into_iter()
        .map(|f| {
            (
                f.rule.id,
                f.span.start().line,
                f.span.start().column,
                f.message,
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn the_prefilter_never_changes_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut files = Vec::new();
    for dir in [
        "lint",
        "tests",
        "examples",
        "macros",
        "reference-impl",
        "bench/realbugs/fixtures",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    if let Some(extra) = std::env::var_os("LIFECYCLE_LINT_PREFILTER_CORPUS") {
        rust_files(Path::new(&extra), &mut files);
    }
    let vocabulary = Vocabulary::default();
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect();
    let mut facts = CrateFacts::default();
    for (_, text) in &sources {
        if let Ok(file) = syn::parse_file(text) {
            facts.merge(CrateFacts::of_file(&file, &vocabulary));
        }
    }
    let prefilter = Prefilter::new(RULES, &vocabulary, &facts);
    let facts_filter =
        Prefilter::for_needs(&[CrateFacts::NEEDS], &vocabulary, &CrateFacts::default());
    let (mut compared, mut skipped, mut with_findings, mut narrowed) = (0, 0, 0, 0);
    // Files whose kept items alone found something else than the whole file.
    let mut confirmed = 0;
    let (mut bytes_parsed, mut bytes_kept) = (0usize, 0usize);
    // Bytes of the items that hold a trigger themselves, and of declarations.
    let (mut bytes_triggered, mut bytes_declared) = (0usize, 0usize);
    for (path, text) in &sources {
        let Ok(file) = syn::parse_file(text) else {
            continue;
        };
        let all = findings(&file, &vocabulary, &facts, RULES);
        let set = prefilter.rules_for(text);
        let picked: Vec<Rule> = RULES
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(*i))
            .map(|(_, r)| *r)
            .collect();
        // What `--parse-all` runs: the picked rules over the whole file.
        let picked_over_whole = if picked.is_empty() {
            Vec::new()
        } else {
            findings(&file, &vocabulary, &facts, &picked)
        };
        assert_eq!(
            all,
            picked_over_whole,
            "{}: the rules the pre-filter picks changed the findings over the whole file",
            path.display()
        );
        skipped += usize::from(picked.is_empty());
        with_findings += usize::from(!all.is_empty());
        let all_facts_ok = {
            // The facts the file gives from its `Drop` items alone are its facts.
            let of_whole = CrateFacts::of_file(&file, &vocabulary);
            let facts_matches = facts_filter.matches(text);
            let wanted = facts_filter.rules_of(&facts_matches, text);
            let of_items = match items::narrowed(text, &facts_filter, &facts_matches, wanted) {
                Some(narrow) => syn::parse_file(&narrow)
                    .map(|f| CrateFacts::of_file(&f, &vocabulary))
                    .unwrap_or_else(|_| of_whole.clone()),
                None => of_whole.clone(),
            };
            of_whole == of_items
        };
        assert!(
            all_facts_ok,
            "{}: the item split changed the facts",
            path.display()
        );
        let filtered = if picked.is_empty() {
            Vec::new()
        } else {
            bytes_parsed += text.len();
            if let Some(split) = items::split(text) {
                let leaves = split.leaves();
                let ranges: Vec<_> = leaves.iter().map(|i| i.range.clone()).collect();
                if let Some(sets) = prefilter.rules_per_range(text, &ranges) {
                    for (leaf, s) in leaves.iter().zip(sets) {
                        if leaf.kind == items::Kind::Declaration {
                            bytes_declared += leaf.range.len();
                        } else if !s.and(set).is_empty() {
                            bytes_triggered += leaf.range.len();
                        }
                    }
                }
            }
            match items::narrowed(text, &prefilter, &prefilter.matches(text), set) {
                Some(narrow) => match syn::parse_file(&narrow) {
                    Ok(narrow_file) => {
                        narrowed += 1;
                        bytes_kept += narrow.bytes().filter(|b| *b != b' ').count();
                        let of_items = findings(&narrow_file, &vocabulary, &facts, &picked);
                        if of_items.is_empty() {
                            of_items
                        } else {
                            // The CLI confirms them over the whole file.
                            confirmed += usize::from(of_items != picked_over_whole);
                            picked_over_whole.clone()
                        }
                    }
                    // A cut in the wrong place: the pipeline parses the whole file.
                    Err(_) => findings(&file, &vocabulary, &facts, &picked),
                },
                None => {
                    bytes_kept += text.bytes().filter(|b| *b != b' ').count();
                    findings(&file, &vocabulary, &facts, &picked)
                }
            }
        };
        assert_eq!(
            all,
            filtered,
            "{}: the pre-filter or the item split changed the findings",
            path.display()
        );
        compared += 1;
        proc_macro2::extra::invalidate_current_thread_spans();
    }
    assert!(
        compared > 200 && with_findings > 60,
        "corpus too small: {compared} files, {with_findings} with findings"
    );
    assert!(skipped > 0, "the pre-filter skipped nothing");
    assert!(narrowed > 0, "the item split narrowed nothing");
    eprintln!(
        "{compared} files compared, {with_findings} with findings, {skipped} skipped by the pre-filter, \
         {narrowed} narrowed to their items: {bytes_kept} of {bytes_parsed} bytes (not counting spaces) kept; \
         {bytes_triggered} bytes in items with a trigger, {bytes_declared} in declarations; \
         {confirmed} corrected by the whole file"
    );
}
