//! Runs the rules over one parsed file (or one function, for the proc-macro).

use syn::{File, Item, ItemFn};

use crate::facts::CrateFacts;
use crate::finding::Finding;
use crate::macro_bodies::MacroBodies;
use crate::rules::{Rule, RULES};
use crate::syntax::{functions, has_quorum_gated_delete, FnUnit};
use crate::vocabulary::Vocabulary;

/// What a check runs with.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    pub vocabulary: &'a Vocabulary,
    /// Facts about the whole crate (see [`CrateFacts::collect`]).
    pub facts: &'a CrateFacts,
    /// The rules to run; all of [`RULES`] by default.
    pub rules: &'a [Rule],
    /// Treat every function as a lifecycle function (the proc-macro does:
    /// the user said so by annotating it).
    pub all_functions_are_lifecycle: bool,
}

impl<'a> Options<'a> {
    pub fn new(vocabulary: &'a Vocabulary, facts: &'a CrateFacts) -> Options<'a> {
        Options {
            vocabulary,
            facts,
            rules: RULES,
            all_functions_are_lifecycle: false,
        }
    }
}

/// Everything a rule's `check` sees about the file under analysis.
pub struct Context<'a> {
    pub file: &'a File,
    /// Parsed macro bodies; rules look inside macros through this.
    pub bodies: &'a MacroBodies,
    /// Every function with a body in the file, nested ones included, except
    /// test code (`#[test]`-like functions and `#[cfg(test)]` modules): tests
    /// delete on every exit, sleep in loops and compare by pointer on purpose.
    pub functions: Vec<FnUnit<'a>>,
    pub vocabulary: &'a Vocabulary,
    pub facts: &'a CrateFacts,
    all_functions_are_lifecycle: bool,
}

impl<'a> Context<'a> {
    /// Whether every function is checked as a lifecycle function (the
    /// proc-macro's case: the user annotated it).
    pub fn all_functions_are_lifecycle(&self) -> bool {
        self.all_functions_are_lifecycle
    }

    /// Whether `function` manages a lifecycle (deletes, reaps, expires ...):
    /// by its name, by a delete-like call in its body, or because it carries
    /// `#[quorum_gated_delete]`.
    pub fn is_lifecycle(&self, function: &FnUnit<'a>) -> bool {
        self.all_functions_are_lifecycle
            || has_quorum_gated_delete(function.attrs)
            || self.vocabulary.is_lifecycle(&function.name().to_string())
            || crate::syntax::any_expr(function.body, self.bodies, |e| {
                crate::syntax::callee_name(e).is_some_and(|name| self.vocabulary.is_delete(&name))
            })
    }
}

/// Runs the configured rules over one file. Findings come in rule order;
/// front ends sort them by location.
pub fn check_file(file: &File, options: &Options<'_>) -> Vec<Finding> {
    let bodies = MacroBodies::parse(file);
    let cx = Context {
        file,
        bodies: &bodies,
        functions: functions(file).into_iter().filter(|f| !f.is_test).collect(),
        vocabulary: options.vocabulary,
        facts: options.facts,
        all_functions_are_lifecycle: options.all_functions_are_lifecycle,
    };
    let mut findings = Vec::new();
    for rule in options.rules {
        (rule.check)(&cx, &mut findings);
    }
    #[cfg(feature = "span-locations")]
    if !options.all_functions_are_lifecycle {
        annotated::recheck(&cx, options, &mut findings);
    }
    findings
}

/// Runs the rules over a single function as a lifecycle function: what
/// `#[quorum_gated_delete]` does at compile time.
pub fn check_function(function: &ItemFn, options: &Options<'_>) -> Vec<Finding> {
    let file = File {
        shebang: None,
        attrs: Vec::new(),
        items: vec![Item::Fn(function.clone())],
    };
    check_file(
        &file,
        &Options {
            all_functions_are_lifecycle: true,
            ..*options
        },
    )
}

/// Functions annotated `#[quorum_gated_delete(..)]` are checked exactly as
/// the proc-macro checks them: alone, with their own `allow(..)` and
/// vocabulary arguments. Their findings from the file-wide pass are replaced
/// by that check's, so the CLI and the compiler report the same thing.
/// (Needs span positions to tell which findings lie inside the function.)
#[cfg(feature = "span-locations")]
mod annotated {
    use syn::spanned::Spanned;

    use super::*;
    use crate::gated::GatedArgs;

    pub(super) fn recheck(cx: &Context<'_>, options: &Options<'_>, findings: &mut Vec<Finding>) {
        for function in &cx.functions {
            let Some(attr) = function
                .attrs
                .iter()
                .find(|a| has_quorum_gated_delete(std::slice::from_ref(a)))
            else {
                continue;
            };
            // Arguments the macro rejects fail the build; the CLI reports the
            // same errors (as `invalid_suppression`: they are the function's
            // suppressions and words), and the function keeps the file-wide
            // findings.
            let args = match GatedArgs::from_attribute(attr) {
                Ok(args) => args,
                Err(errors) => {
                    findings.extend(errors.into_iter().map(|error| {
                        Finding::new(
                            &crate::rules::invalid_suppression::INFO,
                            error.span(),
                            format!("`#[quorum_gated_delete(..)]` argument the compiler rejects: {error}"),
                            "fix the argument as the error says: the proc-macro fails the build on it",
                        )
                    }));
                    continue;
                }
            };
            let start = function.sig.span().start();
            let end = function.body.span().end();
            findings.retain(|f| !(start <= f.span.start() && f.span.end() <= end));
            let alone = ItemFn {
                attrs: function
                    .attrs
                    .iter()
                    .filter(|a| *a != attr)
                    .cloned()
                    .collect(),
                vis: syn::Visibility::Inherited,
                sig: function.sig.clone(),
                block: Box::new(function.body.clone()),
            };
            let vocabulary = args.vocabulary(options.vocabulary);
            let own = check_function(
                &alone,
                &Options {
                    vocabulary: &vocabulary,
                    ..*options
                },
            );
            findings.extend(own.into_iter().filter(|f| !args.allows(f.rule.id)));
        }
    }
}
