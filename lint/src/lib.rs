//! The lifecycle-lint rule engine.
//!
//! The engine works on `syn` trees and `proc_macro2::Span`s only: it reads no
//! files and renders nothing, so the command-line tool (`cargo lifecycle-lint`)
//! and the `#[quorum_gated_delete]` proc-macro call exactly the same code and
//! can never disagree. Everything that touches the outside world (walking a
//! workspace, mapping spans to line/column, configuration, output formats)
//! lives in [`cli`], behind the default `cli` feature.
//!
//! ```
//! use lifecycle_lint::{check_file, CrateFacts, Options, Vocabulary};
//!
//! let file: syn::File = syn::parse_str(r#"
//!     fn reap(c: &Consumer) {
//!         let _guard = scopeguard::guard((), |_| c.delete());
//!         meta.forward_proposal(c.key())?;
//!     }
//! "#).unwrap();
//! let vocabulary = Vocabulary::default();
//! let facts = CrateFacts::collect([&file], &vocabulary);
//! let findings = check_file(&file, &Options::new(&vocabulary, &facts));
//! assert_eq!(findings[0].rule.id, "deferred_delete");
//! ```

pub mod engine;
pub mod facts;
pub mod finding;
pub mod gated;
pub mod items;
pub mod macro_bodies;
pub mod prefilter;
pub mod rules;
pub mod syntax;
pub mod vocabulary;

#[cfg(feature = "cli")]
pub mod cli;

pub use engine::{check_file, check_function, Options};
pub use facts::CrateFacts;
pub use finding::{Applicability, Edit, Extent, Finding, Fix, Label, Level, Placement};
pub use rules::{Rule, RuleInfo, RULES};
pub use vocabulary::Vocabulary;
