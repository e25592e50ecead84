//! Property tests over generated Rust (the fuzz targets' generator, see
//! `fuzzkit/`): the invariants of `lifecycle_lint_fuzzkit::lint_and_check`
//! (regions inside the file and on code, JSON and SARIF parse, escaped
//! output) on every case, and the same output across runs and thread counts.

mod support;

use arbitrary::Unstructured;
use proptest::prelude::*;

fn generated(seed: &[u8]) -> Vec<u8> {
    lifecycle_lint_fuzzkit::source_file(&mut Unstructured::new(seed))
        .expect("any input generates a file")
}

/// The generator must keep producing code the rules have something to say
/// about, or the region checks above pass on files without findings. Over
/// a fixed set of 200 generated files (the same every run), at least a
/// quarter must have a finding, and every lifecycle rule must fire.
#[test]
fn generated_rust_yields_findings_of_every_rule() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (cases, mut with_findings) = (200, 0);
    let mut rules = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..cases {
        let seed: Vec<u8> = (0..64 + next() % 1024).map(|_| next() as u8).collect();
        let outputs = lifecycle_lint_fuzzkit::lint_and_check("src/reaper.rs", &generated(&seed));
        let json: serde_json::Value = serde_json::from_str(&outputs.json).unwrap();
        let findings = json["findings"].as_array().unwrap();
        with_findings += usize::from(!findings.is_empty());
        for finding in findings {
            *rules
                .entry(finding["rule"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    eprintln!("{with_findings} of {cases} generated files have findings: {rules:?}");
    assert!(
        with_findings * 4 >= cases,
        "only {with_findings} of {cases} generated files have a finding: {rules:?}"
    );
    for rule in lifecycle_lint::rules::Group::Lifecycle.rules() {
        assert!(
            rules.contains_key(rule.info.id),
            "no generated file has a {} finding: {rules:?}",
            rule.info.id
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Generated Rust always parses (else the generator would only test the
    /// parser's error path) and keeps every invariant.
    #[test]
    fn generated_rust_parses_and_keeps_the_invariants(seed in prop::collection::vec(any::<u8>(), 0..2048)) {
        let outputs = lifecycle_lint_fuzzkit::lint_and_check("src/reaper.rs", &generated(&seed));
        let json: serde_json::Value = serde_json::from_str(&outputs.json).unwrap();
        prop_assert_eq!(&json["errors"], &serde_json::json!([]), "{}", String::from_utf8_lossy(&generated(&seed)));
    }

    /// Broken files (generated Rust with bytes overwritten) are reported as
    /// problems with positions inside them, never a panic.
    #[test]
    fn damaged_rust_keeps_the_invariants(
        seed in prop::collection::vec(any::<u8>(), 0..1024),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut source = generated(&seed);
        for (at, byte) in damage {
            let at = at.index(source.len());
            source[at] = byte;
        }
        lifecycle_lint_fuzzkit::lint_and_check("src/reaper.rs", &source);
    }

    /// The shortcuts never change findings: generated files (two of them in
    /// one, with a stretch of items no rule looks at between them, so the
    /// item split has items to leave out) give the same findings with the
    /// pre-filter and the item split as with every rule over the whole file.
    #[test]
    fn shortcuts_never_change_findings(
        a in prop::collection::vec(any::<u8>(), 0..1024),
        b in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut source = generated(&a);
        source.extend_from_slice(
            b"\n/// Irrelevant to every rule.\nfn plain(x: u32) -> u32 { let s = \"} { sleep(\"; x + s.len() as u32 }\n\
              mod quiet { pub struct Q<'a>(&'a str); impl Q<'_> { fn get(&self) -> char { '}' } } }\n",
        );
        source.extend_from_slice(&generated(&b));
        let with = shortcut_findings(&source, true);
        let without = shortcut_findings(&source, false);
        prop_assert_eq!(with, without, "{}", String::from_utf8_lossy(&source));
    }

}

/// The findings (rule, region, message) of one file, with or without the
/// pre-filter and the item split.
fn shortcut_findings(source: &[u8], shortcuts: bool) -> Vec<(String, String, String)> {
    let settings = lifecycle_lint::cli::Settings {
        vocabulary: lifecycle_lint::Vocabulary::default(),
        levels: lifecycle_lint::cli::Levels::default(),
        jobs: 1,
        prefilter: shortcuts,
        parse_all: false,
        named_files: Default::default(),
        cache_dir: None,
        progress: false,
    };
    let analysis = lifecycle_lint::cli::analyze_source("src/reaper.rs", source, &settings);
    analysis
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.id.to_string(),
                format!("{:?}", f.region),
                f.message.clone(),
            )
        })
        .collect()
}

proptest! {
    // Each case runs the command 11 times.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The same tree gives byte-identical output in every format, run after
    /// run, on one thread or two.
    #[test]
    fn output_is_the_same_across_runs_and_thread_counts(
        seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..1024), 1..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            let module = dir.path().join(format!("m{}", i % 3));
            std::fs::create_dir_all(&module).unwrap();
            std::fs::write(module.join(format!("f{i}.rs")), generated(seed)).unwrap();
        }
        for format in ["human", "short", "json", "sarif", "github"] {
            let args = |jobs: &'static str| [".", "--format", format, "--color", "always", "-q", "-j", jobs];
            let first = support::lint(dir.path(), &args("1"));
            prop_assert!(first.code <= 1, "{}", first.stderr);
            let runs: &[&str] = if format == "json" { &["1", "2"] } else { &["2"] };
            for &jobs in runs {
                let again = support::lint(dir.path(), &args(jobs));
                prop_assert_eq!(first.code, again.code);
                prop_assert_eq!(&first.stdout, &again.stdout, "{} with -j{}", format, jobs);
            }
        }
    }
}
