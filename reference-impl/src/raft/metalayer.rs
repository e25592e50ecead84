//! One node's view of the raft metalayer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use openraft::{Raft, ServerState};
use tokio::task::JoinSet;

use super::store::StateMachine;
use super::{Command, TypeConfig};
use crate::broker::{AssignmentId, Metalayer, ProposeError};

/// The metalayer as one raft node sees it: its applied assignments, its
/// leadership, and proposals as `client_write`s on its raft.
pub struct RaftMetalayer {
    id: u64,
    raft: Raft<TypeConfig>,
    machine: StateMachine,
    /// Set by the node's leadership probe.
    ready: AtomicBool,
    /// Proposals waiting for their commit (bounded by `proposal_timeout`).
    proposals: Mutex<JoinSet<()>>,
    proposal_timeout: Duration,
}

impl RaftMetalayer {
    pub(super) fn new(
        id: u64,
        raft: Raft<TypeConfig>,
        machine: StateMachine,
        proposal_timeout: Duration,
    ) -> RaftMetalayer {
        RaftMetalayer {
            id,
            raft,
            machine,
            ready: AtomicBool::new(false),
            proposals: Mutex::new(JoinSet::new()),
            proposal_timeout,
        }
    }

    /// Whether this node is the raft leader, as far as it knows.
    pub fn leads(&self) -> bool {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics.state == ServerState::Leader && metrics.current_leader == Some(self.id)
    }

    pub(super) fn set_ready(&self, ready: bool) {
        let was = self.ready.swap(ready, Ordering::AcqRel);
        if was != ready {
            tracing::debug!(node = self.id, ready, "raft metalayer readiness changed");
        }
    }

    fn proposals(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.proposals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops waiting for the proposals still in flight.
    pub(super) fn abort_proposals(&self) {
        self.proposals().abort_all();
    }
}

impl Metalayer<String> for RaftMetalayer {
    fn is_clustered(&self) -> bool {
        true
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn assignment(&self, key: &String) -> Option<AssignmentId> {
        self.machine.assignment(key)
    }

    fn forward_delete_proposal(
        &self,
        key: &String,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError> {
        if !self.leads() {
            return Err(ProposeError::Rejected(
                "not the raft leader: only the leader's reaper proposes".to_owned(),
            ));
        }
        let raft = self.raft.clone();
        let command = Command::Delete {
            key: key.clone(),
            assignment,
        };
        let (node, key, timeout) = (self.id, key.clone(), self.proposal_timeout);
        let mut proposals = self.proposals();
        while proposals.try_join_next().is_some() {}
        proposals.spawn(async move {
            match tokio::time::timeout(timeout, raft.client_write(command)).await {
                Ok(Ok(reply)) => tracing::debug!(node, consumer = %key, %assignment,
                    applied = %reply.data, "raft: delete proposal committed"),
                Ok(Err(error)) => tracing::debug!(node, consumer = %key, %assignment, %error,
                    "raft: delete proposal not committed"),
                Err(_) => tracing::debug!(node, consumer = %key, %assignment, ?timeout,
                    "raft: delete proposal not committed in time"),
            }
        });
        Ok(())
    }
}
