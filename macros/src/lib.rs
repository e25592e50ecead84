//! `#[quorum_gated_delete]`: lifecycle-lint's rules applied to one function
//! at compile time.
//!
//! Put it on the function that deletes an inactive consumer (or anything
//! whose deletion must wait for consensus). The function is expanded
//! unchanged — zero runtime cost, same signature, attributes and spans — and
//! every finding of the rule engine becomes a compile error at the offending
//! span. It is the same engine `cargo lifecycle-lint` runs (not a copy), and
//! the CLI treats annotated functions exactly like this macro does.
//!
//! ```ignore
//! use lifecycle_macros::quorum_gated_delete;
//!
//! #[quorum_gated_delete]
//! async fn delete_not_active(&self, consumer: &Consumer) -> Outcome { /* ... */ }
//!
//! // Rules can be allowed with a reason; vocabularies extended with a regex:
//! #[quorum_gated_delete(allow(timer_leak, reason = "the sleep is the retry backoff"), delete = "^zap_consumer$")]
//! fn reap(&self) { /* ... */ }
//! ```
//!
//! A proc-macro sees only the function it annotates, so one check needs the
//! CLI: a local guard whose type's `Drop` deletes, with that `impl Drop`
//! elsewhere in the crate, is reported by `cargo lifecycle-lint` only.

use proc_macro::TokenStream;
use proc_macro2::{Ident, Span, TokenStream as TokenStream2, TokenTree};

use lifecycle_lint::gated::GatedArgs;
use lifecycle_lint::{check_function, CrateFacts, Finding, Level, Options, Vocabulary};

/// Fails the build if the annotated function breaks the quorum-gated delete
/// contract; see the crate documentation.
#[proc_macro_attribute]
pub fn quorum_gated_delete(args: TokenStream, input: TokenStream) -> TokenStream {
    expand(args.into(), input.into()).into()
}

/// The input, unchanged, followed by one `compile_error!` per problem.
/// Input that is not an item at all (the attribute on a closure or another
/// expression) is replaced by the error alone: appending an item-position
/// `compile_error!` to an expression would only add confusing parse errors.
fn expand(args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let is_item = syn::parse2::<syn::Item>(input.clone()).is_ok();
    let mut output = if is_item {
        input.clone()
    } else {
        TokenStream2::new()
    };
    if let Err(errors) = check(args, input) {
        output.extend(errors.to_compile_error());
    }
    output
}

fn check(args: TokenStream2, input: TokenStream2) -> syn::Result<()> {
    let args = GatedArgs::parse(args)?;
    let function = parse_function(input)?;
    // `Vocabulary::default()` is compiled once per compiler process and
    // shared; rustc keeps a proc-macro loaded for the whole crate.
    let vocabulary = args.vocabulary(&Vocabulary::default());
    let facts = CrateFacts::default();
    let findings = check_function(&function, &Options::new(&vocabulary, &facts));
    let mut errors: Option<syn::Error> = None;
    // The macro has no configuration to opt in with: it checks the rules
    // that are on by default, as the CLI does without configuration.
    let reported = findings
        .iter()
        .filter(|f| f.rule.default_level != Level::Allow && !args.allows(f.rule.id));
    for error in reported.map(finding_error) {
        match &mut errors {
            Some(all) => all.combine(error),
            None => errors = Some(error),
        }
    }
    errors.map_or(Ok(()), Err)
}

/// One compile error per finding, underlining the offending code from its
/// first token to its last. On stable Rust a proc-macro can emit errors
/// only, each at one place (`proc_macro::Diagnostic`, with notes and help,
/// is nightly-only), so the labels and the help are lines of the message,
/// each label with the line and column it points at.
fn finding_error(finding: &Finding) -> syn::Error {
    let mut message = format!("[{}] {}", finding.rule.id, finding.message);
    for label in &finding.labels {
        message.push_str(&format!(
            "\nnote: {}{}",
            label.message,
            position(label.span)
        ));
    }
    message.push_str(&format!("\nhelp: {}", finding.help));
    spanning_error(finding.span, finding.last, message)
}

/// `syn::Error::new_spanned` underlines from the first token it is given to
/// the last: the way to a range where spans cannot be joined.
fn spanning_error(first: Span, last: Span, message: String) -> syn::Error {
    let ends: TokenStream2 = [Ident::new("first", first), Ident::new("last", last)]
        .into_iter()
        .map(TokenTree::Ident)
        .collect();
    syn::Error::new_spanned(ends, message)
}

/// ` (line L, column C)` where the compiler tells span positions to
/// proc-macros (Rust 1.88 and later), nothing where it does not.
fn position(span: Span) -> String {
    let start = span.start();
    if start.line == 0 {
        return String::new();
    }
    format!(" (line {}, column {})", start.line, start.column + 1)
}

/// Accepts anything with a function body: free functions, `async fn`,
/// methods and trait default methods all parse as `syn::ItemFn`.
fn parse_function(input: TokenStream2) -> syn::Result<syn::ItemFn> {
    syn::parse2::<syn::ItemFn>(input.clone()).map_err(|_| {
        let found = match syn::parse2::<syn::Item>(input.clone()) {
            Ok(item) => describe(&item),
            Err(_) => "something that is not an item",
        };
        let span = input.into_iter().next().map_or_else(proc_macro2::Span::call_site, |t| t.span());
        syn::Error::new(
            span,
            format!("#[quorum_gated_delete] goes on a function with a body (fn, async fn, method or trait default method), not on {found}"),
        )
    })
}

fn describe(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Impl(_) => "an impl block (put it on the method)",
        syn::Item::Trait(_) => "a trait (put it on a method with a default body)",
        syn::Item::Mod(_) => "a module",
        syn::Item::Const(_) | syn::Item::Static(_) => "a constant or static",
        syn::Item::Verbatim(_) => "a function without a body",
        _ => "this item",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn a_clean_function_expands_to_exactly_its_input() {
        let input = quote! {
            /// Deletes the consumer once the metalayer has committed.
            #[inline]
            pub async fn delete_not_active(&self, c: &Consumer) -> Outcome {
                match self.meta.propose_delete(c.key()).await {
                    Ok(()) => Outcome::Proposed,
                    Err(e) => { tracing::warn!(%e, "proposal failed; retrying"); self.rearm(c); Outcome::Rearmed }
                }
            }
        };
        assert_eq!(
            expand(TokenStream2::new(), input.clone()).to_string(),
            input.to_string()
        );
    }

    #[test]
    fn a_finding_is_appended_as_a_compile_error_after_the_unchanged_input() {
        let input = quote! {
            fn reap(c: &Consumer) {
                let _g = scopeguard::guard((), |_| c.delete());
                meta.forward_proposal(c.key());
            }
        };
        let output = expand(TokenStream2::new(), input.clone()).to_string();
        assert!(output.starts_with(&input.to_string()));
        assert!(output.contains("compile_error"), "{output}");
        assert!(output.contains("[deferred_delete]"), "{output}");
    }
}
