//! The embedded metalayer: an in-process openraft cluster.
//!
//! Each node has an in-memory raft log and state machine ([`store`]); the
//! state is the consumer assignments, and an assignment's identity is the
//! index of the log entry that created it. Nodes talk over an in-process
//! network ([`network`]) that can kill nodes, cut links and stall a node's
//! replication.
//!
//! - Creating a consumer is a `client_write` of [`Command::Assign`] (a
//!   re-creation under the same name is another one: a new identity).
//! - A delete proposal is a `client_write` of [`Command::Delete`], applied as
//!   a compare-and-delete: only if the key still has the proposal's identity.
//! - Applying a removal stops the consumer's instance on every node (its quit
//!   signal fires) through the node's [`Listener`](crate::node::Listener).
//! - Consumers are led by the raft leader: only the leader's reaper tracks
//!   them and proposes; a new leader tracks them afresh.
//! - [`RaftMetalayer::is_ready`] is true while this node leads and has
//!   confirmed its leadership with a quorum recently (a probe), so an
//!   isolated old leader warns and re-arms instead of proposing into the void.

mod cluster;
mod metalayer;
mod network;
mod store;

pub use cluster::{RaftCluster, RaftClusterError, RaftSetup};
pub use metalayer::RaftMetalayer;

use std::fmt;

use crate::broker::AssignmentId;

/// An entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Creates consumer `key`, or re-creates it under a new identity if it
    /// exists (the old assignment is removed).
    Assign {
        key: String,
        inactive_threshold_ms: u64,
    },
    /// Deletes `key` only if its assignment is still `assignment`.
    Delete {
        key: String,
        assignment: AssignmentId,
    },
}

/// What applying an entry did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Applied {
    /// Not a command (a leader's blank entry, a membership change).
    #[default]
    Nothing,
    Assigned(AssignmentId),
    Deleted,
    /// The compare-and-delete found another identity, or none.
    NotDeleted {
        current: Option<AssignmentId>,
    },
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applied::Nothing => f.write_str("nothing"),
            Applied::Assigned(assignment) => write!(f, "assigned {assignment}"),
            Applied::Deleted => f.write_str("deleted"),
            Applied::NotDeleted {
                current: Some(current),
            } => {
                write!(f, "not deleted: the name now belongs to {current}")
            }
            Applied::NotDeleted { current: None } => f.write_str("not deleted: already gone"),
        }
    }
}

openraft::declare_raft_types!(
    /// The openraft types of this metalayer.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = openraft::EmptyNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);
