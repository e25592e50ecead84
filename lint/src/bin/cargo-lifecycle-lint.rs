//! `cargo lifecycle-lint`: see `cargo lifecycle-lint --help`.

fn main() -> std::process::ExitCode {
    lifecycle_lint::cli::run(std::env::args_os())
}
