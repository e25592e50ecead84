//! The floors the linter is measured against (see bench/run.py): read every
//! file the linter would lint under a directory, and optionally parse each
//! with `syn` (span locations on, as the linter has them), on one thread.
//!
//! Usage: parse_floor read|parse DIR

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: parse_floor read|parse DIR");
        std::process::exit(2);
    };
    let parse = match mode.as_str() {
        "read" => false,
        "parse" => true,
        other => {
            eprintln!("unknown mode `{other}`: expected `read` or `parse`");
            std::process::exit(2);
        }
    };
    let files: Vec<PathBuf> = lifecycle_lint::cli::rust_files_under(std::path::Path::new(dir));
    let started = Instant::now();
    let (mut bytes, mut parsed, mut failed) = (0usize, 0usize, 0usize);
    for path in &files {
        let Ok(text) = std::fs::read(path) else {
            continue;
        };
        bytes += text.len();
        if parse {
            match std::str::from_utf8(&text).ok().map(syn::parse_file) {
                Some(Ok(file)) => {
                    parsed += 1;
                    drop(file);
                }
                _ => failed += 1,
            }
            proc_macro2::extra::invalidate_current_thread_spans();
        }
    }
    println!(
        "{} files, {bytes} bytes, {parsed} parsed, {failed} not parsed, {:.3} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
}
