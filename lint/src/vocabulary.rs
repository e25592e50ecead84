//! The words the rules look for, as regexes, in one place.
//!
//! Every pattern is matched against a *snake_case* form of an identifier
//! (`ConsumerAssignment` is seen as `consumer_assignment`), so one pattern
//! covers functions, variables and type names alike. The configuration file
//! and the `#[quorum_gated_delete(delete = "...")]` arguments extend or
//! replace these defaults through [`Vocabulary::set`].

use regex::Regex;

/// One of the vocabularies a user can override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Word {
    /// Methods and functions that delete a consumer, lease, session ...
    Delete,
    /// Calls that hand a change to the consensus layer.
    Propose,
    /// Macros and methods that log (a return after one of these is not silent).
    Log,
    /// Names of values and types that hold an assignment: a consumer or
    /// stream assignment, a lease, a placement, an ownership record.
    Assignment,
    /// Names of values and types that hold versioned, replicated state a
    /// process re-reads: cluster layouts, loglets and log segments,
    /// configurations, epochs, membership and topology, shard maps, schemas,
    /// routing tables.
    Versioned,
    /// Function names that make a function a lifecycle function.
    Lifecycle,
    /// Calls that re-arm the check that was running (so nothing is lost).
    Rearm,
}

impl Word {
    pub const ALL: [Word; 7] = [
        Word::Delete,
        Word::Propose,
        Word::Log,
        Word::Assignment,
        Word::Versioned,
        Word::Lifecycle,
        Word::Rearm,
    ];

    /// The key used in configuration files and macro arguments.
    pub fn key(self) -> &'static str {
        match self {
            Word::Delete => "delete",
            Word::Propose => "propose",
            Word::Log => "log",
            Word::Assignment => "assignment",
            Word::Versioned => "versioned",
            Word::Lifecycle => "lifecycle",
            Word::Rearm => "rearm",
        }
    }

    pub fn from_key(key: &str) -> Option<Word> {
        Word::ALL.into_iter().find(|w| w.key() == key)
    }

    fn default_pattern(self) -> &'static str {
        match self {
            // Verbs that are unambiguous on their own, or ambiguous verbs
            // (`remove`, `drop`, `unregister`, ...) only when their object is a
            // lifecycle noun: `map.remove(&k)` in an RAII guard is not a
            // consumer delete, `remove_consumer(&k)` is.
            Word::Delete => concat!(
                r"^(?:delete|destroy|purge|reap|evict|expunge)(?:_\w+)?$",
                r"|^\w+_(?:delete|destroy|purge|reap|evict)$",
                r"|^(?:remove|drop|unregister|deregister|revoke|cleanup|clean_up|tear_down|teardown|kill|stop_and_delete)",
                r"_(?:consumer|lease|session|member|subscription|subscriber|group|replica|stream|assignment|ephemeral|durable|partition|queue|topic|finalizer|node|peer|worker|client|connection|watcher)s?$",
            ),
            Word::Propose => concat!(
                r"^(?:propose|forward_proposal|forward_proposals|client_write|submit_proposal|raft_propose|propose_conf_change)$",
                r"|^propose_\w+$|^\w+_proposal$|^forward_\w*propos\w*$",
            ),
            Word::Log => concat!(
                r"^(?:trace|debug|info|warn|warning|error|event|log|notice|critical|",
                r"eprintln|eprint|println|print|",
                r"tracef|debugf|infof|warnf|errorf|noticef|log_warn|log_error|log_info)$",
            ),
            Word::Assignment => concat!(
                r"(?:^|_)(?:assignment|assignments|lease|leases|placement|placements|ownership)(?:_|$)",
                r"|^(?:ca|nca|oca|sa|nsa|osa)$",
            ),
            // One word, or a compound whose words mean nothing apart
            // (`shard_map`, `routing_table`).
            Word::Versioned => concat!(
                r"(?:^|_)(?:layout|loglet|config|configuration|cfg|conf|epoch|membership|topology|schema|segment)(?:_|$)",
                r"|(?:^|_)(?:shard_map|shard_table|routing_table|route_table|partition_table|partition_map|cluster_map|log_segment|nodes_config)(?:_|$)",
            ),
            Word::Lifecycle => concat!(
                r"(?:^|_)(?:delete|deleted|deletion|reap|reaper|reaping|expire|expired|expiry|expiration|",
                r"inactive|inactivity|idle|cleanup|clean_up|evict|eviction|remove|purge|gc|sweep|stop|",
                r"not_active)(?:_|$)",
            ),
            Word::Rearm => concat!(
                r"^(?:rearm|re_arm|requeue|re_queue|reschedule|retry_later|reset|reset_timer|",
                r"schedule|schedule_\w+|\w+_schedule|rearm_\w+|requeue_\w+|reset_\w+|",
                r"set_delete_timer|arm_\w+)$",
            ),
        }
    }
}

/// The compiled vocabularies. Cheap to share by reference across threads.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    delete: Regex,
    propose: Regex,
    log: Regex,
    assignment: Regex,
    versioned: Regex,
    lifecycle: Regex,
    rearm: Regex,
}

impl Default for Vocabulary {
    /// The built-in vocabularies. They are compiled once per process and
    /// shared: a clone of a `Regex` shares its program and caches, and a run
    /// over hundreds of crates (each with its own default configuration), or
    /// a build with a thousand `#[quorum_gated_delete]` functions, asks for
    /// them again and again.
    fn default() -> Vocabulary {
        static DEFAULT: std::sync::OnceLock<Vocabulary> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let compile = |w: Word| Regex::new(w.default_pattern()).expect("built-in pattern");
                Vocabulary {
                    delete: compile(Word::Delete),
                    propose: compile(Word::Propose),
                    log: compile(Word::Log),
                    assignment: compile(Word::Assignment),
                    versioned: compile(Word::Versioned),
                    lifecycle: compile(Word::Lifecycle),
                    rearm: compile(Word::Rearm),
                }
            })
            .clone()
    }
}

/// How a user-supplied pattern combines with the default one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Match the default words and these.
    Extend,
    /// Match only these.
    Replace,
}

impl Vocabulary {
    fn slot(&mut self, word: Word) -> &mut Regex {
        match word {
            Word::Delete => &mut self.delete,
            Word::Propose => &mut self.propose,
            Word::Log => &mut self.log,
            Word::Assignment => &mut self.assignment,
            Word::Versioned => &mut self.versioned,
            Word::Lifecycle => &mut self.lifecycle,
            Word::Rearm => &mut self.rearm,
        }
    }

    /// The pattern currently in force for `word`.
    pub fn pattern(&self, word: Word) -> &str {
        let regex = match word {
            Word::Delete => &self.delete,
            Word::Propose => &self.propose,
            Word::Log => &self.log,
            Word::Assignment => &self.assignment,
            Word::Versioned => &self.versioned,
            Word::Lifecycle => &self.lifecycle,
            Word::Rearm => &self.rearm,
        };
        regex.as_str()
    }

    /// Extends or replaces one vocabulary. On error the vocabulary is unchanged.
    pub fn set(&mut self, word: Word, pattern: &str, how: Combine) -> Result<(), regex::Error> {
        let combined = match how {
            Combine::Replace => Regex::new(pattern)?,
            Combine::Extend => {
                // Validate the user's pattern alone first, so the error text
                // points at their pattern and not at the combination.
                Regex::new(pattern)?;
                Regex::new(&format!("(?:{})|(?:{})", self.pattern(word), pattern))?
            }
        };
        *self.slot(word) = combined;
        Ok(())
    }

    fn matches(regex: &Regex, ident: &str) -> bool {
        regex.is_match(&crate::syntax::snake_case(ident))
    }

    pub fn is_delete(&self, ident: &str) -> bool {
        Self::matches(&self.delete, ident)
    }
    pub fn is_propose(&self, ident: &str) -> bool {
        Self::matches(&self.propose, ident)
    }
    pub fn is_log(&self, ident: &str) -> bool {
        Self::matches(&self.log, ident)
    }
    pub fn is_assignment(&self, ident: &str) -> bool {
        Self::matches(&self.assignment, ident)
    }
    pub fn is_versioned(&self, ident: &str) -> bool {
        Self::matches(&self.versioned, ident)
    }
    pub fn is_lifecycle(&self, ident: &str) -> bool {
        Self::matches(&self.lifecycle, ident)
    }
    pub fn is_rearm(&self, ident: &str) -> bool {
        Self::matches(&self.rearm, ident)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_words_need_a_lifecycle_object_when_the_verb_is_ambiguous() {
        let v = Vocabulary::default();
        for yes in [
            "delete",
            "delete_consumer",
            "hard_delete",
            "purge",
            "remove_consumer",
            "unregister_session",
            "reap",
        ] {
            assert!(v.is_delete(yes), "{yes}");
        }
        for no in [
            "remove",
            "drop",
            "deleted",
            "deletes_inflight",
            "unlock",
            "release",
            "is_deleted",
        ] {
            assert!(!v.is_delete(no), "{no}");
        }
    }

    #[test]
    fn assignment_words_match_type_names_and_jetstream_abbreviations() {
        let v = Vocabulary::default();
        for yes in [
            "ConsumerAssignment",
            "ca",
            "nca",
            "osa",
            "lease",
            "current_lease",
            "Placement",
        ] {
            assert!(v.is_assignment(yes), "{yes}");
        }
        for no in ["release", "cancel", "casa", "leaser_count", "Sender"] {
            assert!(!v.is_assignment(no), "{no}");
        }
    }

    #[test]
    fn versioned_words_are_whole_words_or_compounds() {
        let v = Vocabulary::default();
        for yes in [
            "ClusterLayout",
            "nodes_config",
            "Epoch",
            "shard_map",
            "RoutingTable",
            "Loglet",
            "schema",
        ] {
            assert!(v.is_versioned(yes), "{yes}");
        }
        for no in ["shard", "map", "table", "routing", "configure", "Sender"] {
            assert!(!v.is_versioned(no), "{no}");
        }
    }

    #[test]
    fn a_bad_user_pattern_is_rejected_and_changes_nothing() {
        let mut v = Vocabulary::default();
        assert!(v.set(Word::Delete, "(", Combine::Extend).is_err());
        assert!(v.is_delete("delete"));
        v.set(Word::Delete, "^zap$", Combine::Extend).unwrap();
        assert!(v.is_delete("zap") && v.is_delete("delete"));
        v.set(Word::Delete, "^zap$", Combine::Replace).unwrap();
        assert!(v.is_delete("zap") && !v.is_delete("delete"));
    }
}
