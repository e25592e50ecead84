//! The `cargo-lifecycle-lint` command, built inside this test package so that
//! its end-to-end tests can run it (see Cargo.toml).

fn main() -> std::process::ExitCode {
    lifecycle_lint::cli::run(std::env::args_os())
}
