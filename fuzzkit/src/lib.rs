//! What the fuzz targets (`fuzz/`) and the property tests
//! (`tests/tests/properties.rs`) share: a generator of Rust source from
//! arbitrary bytes ([`source_file`]) and the pipeline's invariants
//! ([`lint_and_check`]), so both hold the linter to the same promises.

mod generate;
mod invariants;

pub use generate::source_file;
pub use invariants::{lint_and_check, Outputs};
