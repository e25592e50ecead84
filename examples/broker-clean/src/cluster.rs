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
#[derive(Debug, Clone)]
pub struct ConsumerAssignment {
    pub stream: String,
    pub name: String,
    /// Raised each time a consumer with this name is created again.
    pub generation: u64,
    /// The servers that replicate it.
    pub group: Vec<String>,
}

impl ConsumerAssignment {
    /// Whether both describe the same incarnation of the same consumer,
    /// wherever its replicas run and however the value was obtained.
    pub fn same_identity(&self, other: &ConsumerAssignment) -> bool {
        self.generation == other.generation
            && self.stream == other.stream
            && self.name == other.name
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    AddConsumer {
        stream: String,
        name: String,
        group: Vec<String>,
    },
    DeleteConsumer {
        name: String,
        generation: u64,
    },
    RenewLease {
        id: u64,
    },
    RevokeLease {
        id: u64,
        revision: u64,
    },
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

    /// Applies a committed entry on this server. This is the one place a
    /// clustered consumer is deleted: after the metalayer agreed.
    pub fn apply(&self, committed: Proposal, registry: &ConsumerRegistry) {
        match committed {
            Proposal::AddConsumer {
                stream,
                name,
                group,
            } => {
                let mut assignments = self.assignments.lock().unwrap();
                let generation = assignments.get(&name).map_or(1, |ca| ca.generation + 1);
                let ca = Arc::new(ConsumerAssignment {
                    stream,
                    name: name.clone(),
                    generation,
                    group,
                });
                assignments.insert(name.clone(), Arc::clone(&ca));
                if let Some(consumer) = registry.get(&name) {
                    consumer.set_assignment(Some(ca));
                }
            }
            Proposal::DeleteConsumer { name, generation } => {
                let mut assignments = self.assignments.lock().unwrap();
                // A delete proposed for an earlier incarnation must not
                // remove the consumer that replaced it.
                if assignments
                    .get(&name)
                    .is_some_and(|ca| ca.generation == generation)
                {
                    assignments.remove(&name);
                    drop(assignments);
                    registry.delete_consumer(&name);
                }
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

    /// Whether `ca` is still the assignment the metalayer holds: the same
    /// incarnation, even if the value was re-created by a snapshot.
    pub fn is_current(&self, ca: &ConsumerAssignment) -> bool {
        let assignments = self.assignments.lock().unwrap();
        let current = assignments.get(&ca.name);
        current.is_some_and(|current| current.same_identity(ca))
    }

    /// Removes a consumer cluster-wide (its stream lost interest in it).
    /// Only proposes: every server, this one included, deletes its copy
    /// when it applies the committed entry.
    pub fn remove_consumer_assignment(&self, ca: &ConsumerAssignment) -> Result<(), ClusterError> {
        if !self.is_leader() {
            return Err(ClusterError::NotLeader);
        }
        self.forward_proposal(Proposal::delete(ca))?;
        debug!(consumer = %ca.name, generation = ca.generation, "delete proposal forwarded");
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
