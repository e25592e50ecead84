//! What one run of the gated delete ended with.

use std::fmt;

use crate::broker::AssignmentId;

/// The end of one run of the gated delete for one consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Deleted here without the metalayer, because there was nothing to
    /// coordinate.
    DeletedLocally { reason: LocalReason },
    /// The metalayer committed the delete and its apply path stopped the
    /// consumer (its quit signal fired).
    DeletedByMetalayer,
    /// The instance was already closed (not by the metalayer's delete) while
    /// the metalayer still held its assignment: the reaper proposed deleting
    /// the assignment and the metalayer removed it. Nothing was deleted
    /// locally.
    AssignmentDeletedAfterClose,
    /// The assignment was removed or replaced while this instance stayed open:
    /// it was deleted locally, with a warning.
    ForcedAfterAssignmentChange { change: AssignmentChange },
    /// The consumer was already closed and the metalayer no longer holds its
    /// assignment: nothing left to do (and no retrying forever for a quit
    /// signal that will not come).
    StoppedConsumerClosed,
    /// The reaper is shutting down: nothing was deleted.
    StoppedShutdown,
    /// This replica no longer leads the consumer; the new leader reaps.
    StoppedLostLeadership,
    /// The broker unregistered the consumer while the delete was running.
    StoppedUnregistered,
    /// Nothing was deleted and the consumer's check is queued again, so an
    /// expired consumer is never forgotten.
    Rearmed { reason: RearmReason },
}

/// Why a consumer was deleted without the metalayer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalReason {
    /// The server is not clustered.
    Standalone,
    /// The consumer was not created from an assignment.
    NotAssigned,
    /// The metalayer holds no assignment for it.
    NoAssignment,
}

/// How the assignment changed under a waiting delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentChange {
    /// The metalayer no longer holds an assignment for the key.
    Gone,
    /// The key now belongs to another assignment (the consumer was re-created).
    Replaced { by: AssignmentId },
}

impl fmt::Display for AssignmentChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignmentChange::Gone => f.write_str("gone"),
            AssignmentChange::Replaced { by } => write!(f, "replaced by {by}"),
        }
    }
}

/// Why the check was queued again instead of finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RearmReason {
    /// Clustered, but the metalayer cannot take a proposal yet.
    MetalayerUnavailable,
    /// `max_attempts` proposals went unanswered; the slot is handed back and
    /// the consumer is checked again later.
    NotCommitted,
    /// The consumer was active again before the next proposal.
    ActiveAgain,
    /// The delete panicked (in the broker's code); try again later.
    Panicked,
}

impl Outcome {
    pub fn deleted_locally(reason: LocalReason) -> Outcome {
        Outcome::DeletedLocally { reason }
    }

    pub fn forced(change: AssignmentChange) -> Outcome {
        Outcome::ForcedAfterAssignmentChange { change }
    }

    pub fn rearmed(reason: RearmReason) -> Outcome {
        Outcome::Rearmed { reason }
    }

    /// A short stable name, used as the `outcome` field of log records.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::DeletedLocally { .. } => "deleted_locally",
            Outcome::DeletedByMetalayer => "deleted_by_metalayer",
            Outcome::AssignmentDeletedAfterClose => "assignment_deleted_after_close",
            Outcome::ForcedAfterAssignmentChange { .. } => "forced_after_assignment_change",
            Outcome::StoppedConsumerClosed => "stopped_consumer_closed",
            Outcome::StoppedShutdown => "stopped_shutdown",
            Outcome::StoppedLostLeadership => "stopped_lost_leadership",
            Outcome::StoppedUnregistered => "stopped_unregistered",
            Outcome::Rearmed { .. } => "rearmed",
        }
    }

    /// Whether this instance is gone after the outcome.
    pub fn deleted(&self) -> bool {
        matches!(
            self,
            Outcome::DeletedLocally { .. }
                | Outcome::DeletedByMetalayer
                | Outcome::AssignmentDeletedAfterClose
                | Outcome::ForcedAfterAssignmentChange { .. }
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::DeletedLocally { reason } => write!(f, "deleted locally ({reason:?})"),
            Outcome::ForcedAfterAssignmentChange { change } => {
                write!(f, "forcibly deleted locally (assignment {change})")
            }
            Outcome::Rearmed { reason } => write!(f, "re-armed ({reason:?})"),
            other => f.write_str(other.name()),
        }
    }
}

/// One finished run of the gated delete, as observers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<K> {
    pub key: K,
    /// The identity of the instance's assignment, if it had one.
    pub assignment: Option<AssignmentId>,
    /// Proposals forwarded by this run.
    pub proposals: u32,
    pub outcome: Outcome,
}
