//! The metalayer as a node's reaper sees it.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{Journal, NodeEvent};
use crate::broker::{AssignmentId, Metalayer, ProposeError};

/// The backend's metalayer, with every delete proposal journaled and, on
/// demand, held back before it reaches the backend (fault injection: a
/// proposal stuck on its way, as a slow link or a busy leader would hold it).
pub struct NodeMetalayer<M> {
    backend: Arc<M>,
    node: usize,
    journal: Journal,
    /// `Some` while holding: the proposals held so far, in order.
    held: Mutex<Option<Vec<(String, AssignmentId)>>>,
}

impl<M: Metalayer<String>> NodeMetalayer<M> {
    pub(super) fn new(backend: Arc<M>, node: usize, journal: Journal) -> NodeMetalayer<M> {
        NodeMetalayer {
            backend,
            node,
            journal,
            held: Mutex::new(None),
        }
    }

    /// The backend's own metalayer.
    pub fn backend(&self) -> &Arc<M> {
        &self.backend
    }

    fn held(&self) -> MutexGuard<'_, Option<Vec<(String, AssignmentId)>>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn hold(&self) {
        self.held().get_or_insert_with(Vec::new);
    }

    pub(super) fn release(&self) {
        let held = self.held().take().unwrap_or_default();
        for (key, assignment) in held {
            let forwarded = self.backend.forward_delete_proposal(&key, assignment);
            self.journal.record(NodeEvent::Released {
                node: self.node,
                key,
                assignment,
                forwarded,
            });
        }
    }
}

impl<M: Metalayer<String>> Metalayer<String> for NodeMetalayer<M> {
    fn is_clustered(&self) -> bool {
        self.backend.is_clustered()
    }

    fn is_ready(&self) -> bool {
        self.backend.is_ready()
    }

    fn assignment(&self, key: &String) -> Option<AssignmentId> {
        self.backend.assignment(key)
    }

    fn forward_delete_proposal(
        &self,
        key: &String,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError> {
        let mut held = self.held();
        let forwarded = match held.as_mut() {
            Some(queue) => {
                queue.push((key.clone(), assignment));
                None
            }
            None => Some(self.backend.forward_delete_proposal(key, assignment)),
        };
        // Recorded under the lock, so a release cannot be journaled before it.
        self.journal.record(NodeEvent::Proposed {
            node: self.node,
            key: key.clone(),
            assignment,
            forwarded: forwarded.clone(),
        });
        drop(held);
        forwarded.unwrap_or(Ok(()))
    }
}
