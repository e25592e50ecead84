//! What the broker implements: its consumers and its metalayer.

use std::fmt;
use std::future::Future;
use std::hash::Hash;

/// The identity of one consumer assignment, given by the metalayer when it
/// commits the assignment (for instance the raft index of the entry that
/// created it).
///
/// A consumer deleted and re-created with the same name and configuration gets
/// a new identity, so comparing identities — never pointers, never whole
/// assignment values — tells "the assignment I was created from" apart from
/// "a new consumer that happens to look the same" (ABA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssignmentId {
    created_at_index: u64,
}

impl AssignmentId {
    /// The identity of the assignment created by the metalayer entry at `index`.
    pub const fn from_raft_index(index: u64) -> AssignmentId {
        AssignmentId {
            created_at_index: index,
        }
    }

    /// The metalayer index that created the assignment.
    pub const fn raft_index(self) -> u64 {
        self.created_at_index
    }

    /// Whether `self` and `other` name the same assignment.
    pub fn same_identity(self, other: AssignmentId) -> bool {
        self.created_at_index == other.created_at_index
    }
}

impl fmt::Display for AssignmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.created_at_index)
    }
}

/// One local instance of a consumer, as the broker holds it.
///
/// Every replica of a consumer has its own instance; the reaper only acts on
/// the instance it was handed at [`Reaper::register`](crate::Reaper::register),
/// so `delete_locally` must delete *this* instance — never "whatever consumer is
/// called `key` now", which may already be a re-created one.
pub trait Consumer: Send + Sync + 'static {
    /// The consumer's name as the metalayer knows it (account, stream, name).
    type Key: Clone + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static;

    fn key(&self) -> &Self::Key;

    /// The identity of the assignment this instance was created from; `None`
    /// for a consumer the metalayer does not manage (a direct consumer).
    fn assignment(&self) -> Option<AssignmentId>;

    /// Whether this instance has already been stopped.
    fn is_closed(&self) -> bool;

    /// Whether this replica currently leads the consumer. Only the leader
    /// reaps (activity is only seen there).
    fn is_leader(&self) -> bool;

    /// Resolves once this instance has been stopped, with why — normally
    /// [`QuitReason::AssignmentRemoved`], by the metalayer's apply path after
    /// the delete committed. Must resolve at once (with the same reason) if it
    /// has already been stopped.
    ///
    /// Only `AssignmentRemoved` ends a waiting delete as
    /// [`DeletedByMetalayer`](crate::Outcome::DeletedByMetalayer); for any
    /// other reason the reaper keeps the consumer: if the metalayer still
    /// holds its assignment, it goes on proposing that assignment's delete.
    fn quit(&self) -> impl Future<Output = QuitReason> + Send + '_;

    /// Whether [`delete_locally`](Consumer::delete_locally) may block: touch
    /// the disk, wait on a lock another thread holds for long, call out over
    /// the network. `true` (the default) runs it on tokio's blocking pool
    /// (`spawn_blocking`), at most
    /// [`Config::max_local_deletes`](crate::Config::max_local_deletes) at once,
    /// from the run's own task, so a slow delete holds up only its own
    /// consumer. Set it to `false` only for a delete that is quick and
    /// in-memory: it then runs inline, possibly on the reaper's driver task
    /// (no task, no thread hop: the cheapest path for a mass expiry).
    const DELETE_MAY_BLOCK: bool = true;

    /// Stops and deletes this instance locally, without the metalayer. A
    /// blocking call (there is no async form): see
    /// [`DELETE_MAY_BLOCK`](Consumer::DELETE_MAY_BLOCK) for where it runs.
    fn delete_locally(&self);
}

/// Why a consumer instance was stopped (what its [`Consumer::quit`] says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuitReason {
    /// The metalayer applied the removal of this instance's assignment (the
    /// reaper's delete, or any other removal of that identity). The only
    /// reason a waiting delete counts as committed.
    AssignmentRemoved,
    /// The server, or this replica of the consumer, is shutting down: the
    /// consumer itself lives on (its assignment stays in the metalayer).
    ServerShutdown,
    /// Stopped for any other reason — an error, the broker closing it, a
    /// local delete — while its assignment may still exist.
    Closed,
}

impl fmt::Display for QuitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuitReason::AssignmentRemoved => "assignment removed",
            QuitReason::ServerShutdown => "server shutdown",
            QuitReason::Closed => "closed",
        })
    }
}

/// The broker's view of the replicated metadata layer.
pub trait Metalayer<K>: Send + Sync + 'static {
    /// Whether this server runs in clustered mode at all.
    fn is_clustered(&self) -> bool;

    /// Whether the metalayer can take a proposal now (it has a leader and this
    /// server's view is current).
    fn is_ready(&self) -> bool;

    /// The identity of the assignment the metalayer currently holds for `key`.
    fn assignment(&self, key: &K) -> Option<AssignmentId>;

    /// Hands a "delete consumer `key`" proposal to the metalayer leader.
    ///
    /// Must not block: forward it and return. The proposal carries the
    /// identity, and applying it must delete the assignment only if it still
    /// has that identity (a compare-and-delete), so a late commit of an old
    /// proposal cannot delete a re-created consumer. `Ok` means forwarded, not
    /// committed: the commit shows up as the consumer's
    /// [`quit`](Consumer::quit) signal.
    fn forward_delete_proposal(
        &self,
        key: &K,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError>;
}

/// Why a proposal could not be forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// There is no metalayer leader to forward to.
    NoLeader,
    /// The metalayer refused the proposal (queue full, shutting down, ...).
    Rejected(String),
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NoLeader => f.write_str("no metalayer leader"),
            ProposeError::Rejected(why) => write!(f, "rejected: {why}"),
        }
    }
}

impl std::error::Error for ProposeError {}
