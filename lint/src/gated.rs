//! The arguments of `#[quorum_gated_delete(...)]`, shared by the proc-macro
//! and the CLI so both read an annotated function the same way.
//!
//! ```text
//! #[quorum_gated_delete]
//! #[quorum_gated_delete(allow(timer_leak, reason = "the sleep is the retry backoff"))]
//! #[quorum_gated_delete(delete = "^zap_consumer$", propose = "^raft_submit$", log = "^audit$")]
//! ```
//!
//! `allow(..)` takes rule IDs and a required `reason`. `delete`, `propose`
//! and `log` add a regex to that vocabulary for this function (matched on
//! snake_case identifiers, like the defaults).

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Attribute, LitStr, Meta};

use crate::rules::syntax_rules;
use crate::vocabulary::{Combine, Vocabulary, Word};

/// The vocabularies the attribute may extend.
const WORD_KEYS: [Word; 3] = [Word::Delete, Word::Propose, Word::Log];

/// Parsed, validated attribute arguments.
#[derive(Debug, Clone, Default)]
pub struct GatedArgs {
    allowed: Vec<String>,
    words: Vec<(Word, String)>,
}

impl GatedArgs {
    /// Parses the tokens inside `#[quorum_gated_delete(...)]`.
    pub fn parse(tokens: TokenStream) -> syn::Result<GatedArgs> {
        let mut args = GatedArgs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("allow") {
                let mut rules = Vec::new();
                let mut reason: Option<LitStr> = None;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("reason") {
                        reason = Some(inner.value()?.parse()?);
                        return Ok(());
                    }
                    let id = inner
                        .path
                        .get_ident()
                        .map(|i| i.to_string())
                        .unwrap_or_default();
                    if !syntax_rules().any(|r| r.info.id == id) {
                        let name = path_text(&inner.path);
                        return Err(inner.error(match crate::rules::suggestion(&name) {
                            Some(meant) if syntax_rules().any(|r| r.info.id == meant) => {
                                format!("unknown rule `{name}`; did you mean `{meant}`?")
                            }
                            _ => format!("unknown rule `{name}`; known rules: {}", rule_ids()),
                        }));
                    }
                    rules.push(id);
                    Ok(())
                })?;
                match reason {
                    Some(reason) if !reason.value().trim().is_empty() => {}
                    Some(reason) => {
                        return Err(syn::Error::new(
                            reason.span(),
                            "the reason must say why the rule does not apply here",
                        ))
                    }
                    None => {
                        // The user's own rules in the example, not a fixed one.
                        let named = if rules.is_empty() {
                            "RULE".to_string()
                        } else {
                            rules.join(", ")
                        };
                        return Err(meta.error(format!(
                            "`allow(..)` needs a reason: `allow({named}, reason = \"why this is fine here\")`"
                        )));
                    }
                }
                if rules.is_empty() {
                    return Err(meta.error("`allow(..)` names no rule"));
                }
                args.allowed.extend(rules);
                return Ok(());
            }
            let key = path_text(&meta.path);
            let Some(word) = WORD_KEYS.into_iter().find(|w| w.key() == key) else {
                return Err(meta.error(format!(
                    "unknown argument `{key}`; expected `allow(RULE, .., reason = \"..\")`, `delete = \"REGEX\"`, `propose = \"REGEX\"` or `log = \"REGEX\"`"
                )));
            };
            let pattern: LitStr = meta.value()?.parse()?;
            if let Err(e) = regex::Regex::new(&pattern.value()) {
                return Err(syn::Error::new(
                    pattern.span(),
                    format!("invalid regex for `{key}`: {e}"),
                ));
            }
            args.words.push((word, pattern.value()));
            Ok(())
        });
        parser.parse2(tokens)?;
        Ok(args)
    }

    /// Reads the arguments of an attribute found in source (`#[quorum_gated_delete]`
    /// with or without a list).
    pub fn from_attribute(attr: &Attribute) -> syn::Result<GatedArgs> {
        match &attr.meta {
            Meta::Path(_) => Ok(GatedArgs::default()),
            Meta::List(list) => GatedArgs::parse(list.tokens.clone()),
            Meta::NameValue(nv) => Err(syn::Error::new_spanned(
                nv,
                "expected `#[quorum_gated_delete]` or `#[quorum_gated_delete(...)]`",
            )),
        }
    }

    /// Whether the user allowed `rule_id` for this function.
    pub fn allows(&self, rule_id: &str) -> bool {
        self.allowed.iter().any(|r| r == rule_id)
    }

    /// `base` extended with this function's vocabulary arguments.
    pub fn vocabulary(&self, base: &Vocabulary) -> Vocabulary {
        let mut vocabulary = base.clone();
        for (word, pattern) in &self.words {
            vocabulary
                .set(*word, pattern, Combine::Extend)
                .expect("patterns are validated when parsed");
        }
        vocabulary
    }

    pub fn is_default(&self) -> bool {
        self.allowed.is_empty() && self.words.is_empty()
    }
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The rules the attribute can allow: those that read syntax (the macro sees no comments).
fn rule_ids() -> String {
    syntax_rules()
        .map(|r| r.info.id)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn error(tokens: TokenStream) -> String {
        GatedArgs::parse(tokens).unwrap_err().to_string()
    }

    #[test]
    fn parses_allow_with_reason_and_vocabulary_extensions() {
        let args = GatedArgs::parse(quote!(
            allow(deferred_delete, reason = "fixture"),
            delete = "^zap$"
        ))
        .unwrap();
        assert!(args.allows("deferred_delete") && !args.allows("timer_leak"));
        let vocabulary = args.vocabulary(&Vocabulary::default());
        assert!(vocabulary.is_delete("zap") && vocabulary.is_delete("delete"));
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        assert!(error(quote!(allow(deferred_delete))).contains("needs a reason"));
        assert!(error(quote!(allow(deferred_delete, reason = " "))).contains("must say why"));
        assert!(error(quote!(allow(no_such_rule, reason = "x")))
            .contains("unknown rule `no_such_rule`"));
        assert!(error(quote!(remove = "x")).contains("unknown argument `remove`"));
        assert!(error(quote!(delete = "(")).contains("invalid regex for `delete`"));
        assert!(error(quote!(delete)).contains("expected `=`"));
    }
}
