//! Consumer assignments and the metalayer: the replicated log that decides
//! which consumers exist cluster-wide. A change is *proposed*, and takes
//! effect when the committed entry is applied on every server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tracing::debug;

use crate::registry::ConsumerRegistry;

/// Where a consumer runs, as agreed by the metalayer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerAssignment {
    pub stream: String,
    pub name: String,
    /// Raised each time a consumer with this name is created again.
    pub generation: u64,
    /// The servers that replicate it.
    pub group: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    AddConsumer(ConsumerAssignment),
    DeleteConsumer { name: String, generation: u64 },
    RenewLease { id: u64 },
    RevokeLease { id: u64, revision: u64 },
}

impl Proposal {
    pub fn delete(ca: &ConsumerAssignment) -> Proposal {
        let (name, generation) = (ca.name.clone(), ca.generation);
        Proposal::DeleteConsumer { name, generation }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    NotLeader,
    NoQuorum,
    Closed,
}

/// This server's handle on the meta group.
#[derive(Debug)]
pub struct Metalayer {
    assignments: Mutex<HashMap<String, Arc<ConsumerAssignment>>>,
    proposals: mpsc::Sender<Proposal>,
    leader: AtomicBool,
}

impl Metalayer {
    pub fn new(proposals: mpsc::Sender<Proposal>, leader: bool) -> Metalayer {
        let assignments = Mutex::new(HashMap::new());
        let leader = AtomicBool::new(leader);
        Metalayer {
            assignments,
            proposals,
            leader,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
    }

    pub fn consumer_assignment(&self, name: &str) -> Option<Arc<ConsumerAssignment>> {
        self.assignments.lock().unwrap().get(name).cloned()
    }

    /// Queues a proposal for the meta leader: `Ok` means queued, not committed.
    pub fn forward_proposal(&self, proposal: Proposal) -> Result<(), ClusterError> {
        self.proposals.try_send(proposal).map_err(|err| match err {
            TrySendError::Full(_) => ClusterError::NoQuorum,
            TrySendError::Closed(_) => ClusterError::Closed,
        })
    }

    /// Like [`Metalayer::forward_proposal`], waiting for room in the queue.
    pub async fn submit_proposal(&self, proposal: Proposal) -> Result<(), ClusterError> {
        let sent = self.proposals.send(proposal).await;
        sent.map_err(|_| ClusterError::Closed)
    }

    /// Applies a committed entry on this server.
    pub fn apply(&self, committed: Proposal, registry: &ConsumerRegistry) {
        match committed {
            Proposal::AddConsumer(ca) => {
                let ca = Arc::new(ca);
                let mut assignments = self.assignments.lock().unwrap();
                assignments.insert(ca.name.clone(), Arc::clone(&ca));
                if let Some(consumer) = registry.get(&ca.name) {
                    consumer.set_assignment(Some(ca));
                }
            }
            Proposal::DeleteConsumer { name, .. } => {
                self.assignments.lock().unwrap().remove(&name);
                registry.delete_consumer(&name);
            }
            Proposal::RenewLease { .. } | Proposal::RevokeLease { .. } => {}
        }
    }

    /// Replaces every assignment by a snapshot's (on restart, or when this
    /// server fell too far behind the log).
    pub fn install_snapshot(&self, snapshot: Vec<ConsumerAssignment>) {
        let fresh = snapshot
            .into_iter()
            .map(|ca| (ca.name.clone(), Arc::new(ca)));
        *self.assignments.lock().unwrap() = fresh.collect();
    }

    /// Whether `ca` is still the assignment the metalayer holds.
    ///
    /// Lifecycle bug (`pointer_value_comparison`): after a snapshot install
    /// every assignment is a new allocation, so an unchanged assignment reads
    /// as replaced and callers treat a live consumer as orphaned.
    pub fn is_current(&self, ca: &Arc<ConsumerAssignment>) -> bool {
        let assignments = self.assignments.lock().unwrap();
        let current = assignments.get(&ca.name);
        current.is_some_and(|current| Arc::ptr_eq(current, ca)) // expect: pointer_value_comparison
    }

    /// Removes a consumer cluster-wide (its stream lost interest in it).
    ///
    /// Lifecycle bug (`deferred_delete`): the local delete is armed before
    /// the proposal and runs on every exit — when this server is not the
    /// leader, when the queue is full, and when the proposal is merely
    /// queued. The consumer is gone here while the metalayer agreed to
    /// nothing: the other replicas keep it, and if the proposal is lost it
    /// is a ghost until a restart.
    pub fn remove_consumer_assignment(
        &self,
        registry: &ConsumerRegistry,
        ca: &ConsumerAssignment,
    ) -> Result<(), ClusterError> {
        let _local = scopeguard::guard(ca.name.clone(), |name| registry.delete_consumer(&name)); // expect: deferred_delete
        if !self.is_leader() {
            return Err(ClusterError::NotLeader);
        }
        self.forward_proposal(Proposal::delete(ca))?;
        debug!(consumer = %ca.name, "delete proposal forwarded");
        Ok(())
    }
}

/// The cluster as this server sees it: no metalayer until it has joined the
/// meta group and a leader was elected.
#[derive(Debug, Default)]
pub struct ClusterHandle {
    pub meta: Mutex<Option<Arc<Metalayer>>>,
}

impl ClusterHandle {
    pub fn metalayer(&self) -> Option<Arc<Metalayer>> {
        self.meta.lock().unwrap().clone()
    }
}
