//! Rule groups, as clippy has them: a name that sets the level of several
//! rules at once (`-W nursery`, `[rules] nursery = "warn"`), and the
//! spelling help ("did you mean") for rule and group names.

use super::{Rule, RULES};

/// The group a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The lifecycle checks, on by default: each kept there only while its
    /// precision on application code holds (README, "Measured on real code").
    Lifecycle,
    /// Lifecycle checks whose findings are not yet right often enough to be
    /// on by default (their measured precision is in their `--explain`):
    /// off unless a project opts in.
    Nursery,
    /// Checks about the run itself: suppression comments and files the
    /// parser cannot read.
    Meta,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::Lifecycle, Group::Nursery, Group::Meta];

    /// The name used on the command line and in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Group::Lifecycle => "lifecycle",
            Group::Nursery => "nursery",
            Group::Meta => "meta",
        }
    }

    /// One line for `--list-rules` and `--explain GROUP`.
    pub fn summary(self) -> &'static str {
        match self {
            Group::Lifecycle => "lifecycle bugs, on by default",
            Group::Nursery => {
                "lifecycle checks not yet precise enough on real code to be on by default (opt in with `-W nursery`)"
            }
            Group::Meta => "suppression comments and files that cannot be read",
        }
    }

    pub fn rules(self) -> impl Iterator<Item = &'static Rule> {
        RULES.iter().filter(move |r| r.info.group == self)
    }
}

/// What a name on the command line or in configuration stands for.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    Rule(&'static Rule),
    Group(Group),
    /// `all`: every rule.
    All,
}

impl Selection {
    pub fn rules(self) -> Vec<&'static Rule> {
        match self {
            Selection::Rule(rule) => vec![rule],
            Selection::Group(group) => group.rules().collect(),
            Selection::All => RULES.iter().collect(),
        }
    }
}

/// The rule, group or `all` that `name` names exactly.
pub fn select(name: &str) -> Option<Selection> {
    if name == "all" {
        return Some(Selection::All);
    }
    if let Some(rule) = super::rule(name) {
        return Some(Selection::Rule(rule));
    }
    Group::ALL
        .into_iter()
        .find(|g| g.name() == name)
        .map(Selection::Group)
}

/// The known name closest to a mistyped one (`timer-leak`, `Timer_Leak`,
/// `timer_leek`), if one is close enough to be what was meant.
pub fn suggestion(name: &str) -> Option<&'static str> {
    let normal = name.trim().to_ascii_lowercase().replace('-', "_");
    let names = RULES
        .iter()
        .map(|r| r.info.id)
        .chain(Group::ALL.into_iter().map(Group::name))
        .chain(["all"]);
    names
        .map(|known| (edit_distance(&normal, known), known))
        .filter(|&(distance, known)| distance <= (known.len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_in_exactly_one_group_and_all_covers_them() {
        let grouped: usize = Group::ALL.into_iter().map(|g| g.rules().count()).sum();
        assert_eq!(grouped, RULES.len());
        assert_eq!(Selection::All.rules().len(), RULES.len());
    }

    #[test]
    fn names_select_rules_groups_and_all() {
        assert!(
            matches!(select("timer_leak"), Some(Selection::Rule(r)) if r.info.id == "timer_leak")
        );
        assert!(matches!(
            select("nursery"),
            Some(Selection::Group(Group::Nursery))
        ));
        let meta: Vec<_> = select("meta")
            .unwrap()
            .rules()
            .iter()
            .map(|r| r.info.id)
            .collect();
        assert_eq!(
            meta,
            [
                "unused_suppression",
                "invalid_suppression",
                "unparsable_file"
            ]
        );
        assert!(matches!(select("all"), Some(Selection::All)));
        assert!(select("timer-leak").is_none());
    }

    #[test]
    fn near_misses_get_the_name_that_was_meant() {
        assert_eq!(suggestion("timer-leak"), Some("timer_leak"));
        assert_eq!(suggestion("Timer_Leak"), Some("timer_leak"));
        assert_eq!(suggestion("deferred_delet"), Some("deferred_delete"));
        assert_eq!(suggestion("nursey"), Some("nursery"));
        assert_eq!(
            suggestion("pointer_value_comparision"),
            Some("pointer_value_comparison")
        );
        assert_eq!(suggestion("frobnicate"), None);
        assert_eq!(suggestion("x"), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
