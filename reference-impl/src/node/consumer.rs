//! One node's instance of a consumer.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use super::{ConsumerSpec, Journal, NodeEvent};
use crate::broker::{AssignmentId, Consumer, QuitReason};

/// A consumer instance on one node, created from one assignment.
pub struct NodeConsumer {
    key: String,
    node: usize,
    assignment: AssignmentId,
    spec: ConsumerSpec,
    closed: AtomicBool,
    leader: AtomicBool,
    quit: CancellationToken,
    /// Why it was stopped; set once, before `quit` fires.
    quit_reason: std::sync::OnceLock<QuitReason>,
    journal: Journal,
}

impl NodeConsumer {
    pub(super) fn new(
        key: String,
        node: usize,
        assignment: AssignmentId,
        spec: ConsumerSpec,
        leader: bool,
        journal: Journal,
    ) -> NodeConsumer {
        NodeConsumer {
            key,
            node,
            assignment,
            spec,
            closed: AtomicBool::new(false),
            leader: AtomicBool::new(leader),
            quit: CancellationToken::new(),
            quit_reason: std::sync::OnceLock::new(),
            journal,
        }
    }

    pub fn node(&self) -> usize {
        self.node
    }

    /// The identity of the assignment this instance was created from.
    pub fn assignment_id(&self) -> AssignmentId {
        self.assignment
    }

    pub fn spec(&self) -> ConsumerSpec {
        self.spec
    }

    pub fn key_str(&self) -> &str {
        &self.key
    }

    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }

    pub(super) fn is_leader_flag(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    pub(super) fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
    }

    /// Closes the instance and fires its quit signal with `reason` (the
    /// first one given). Returns whether it was open until now.
    pub(super) fn stop(&self, reason: QuitReason) -> bool {
        let _ = self.quit_reason.set(reason);
        let was_open = !self.closed.swap(true, Ordering::SeqCst);
        self.quit.cancel();
        was_open
    }
}

impl fmt::Debug for NodeConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeConsumer")
            .field("key", &self.key)
            .field("node", &self.node)
            .field("assignment", &self.assignment)
            .field("open", &self.is_open())
            .finish()
    }
}

impl Consumer for NodeConsumer {
    type Key = String;
    /// An in-memory delete (it only records the event and stops the instance).
    const DELETE_MAY_BLOCK: bool = false;

    fn key(&self) -> &String {
        &self.key
    }

    fn assignment(&self) -> Option<AssignmentId> {
        Some(self.assignment)
    }

    fn is_closed(&self) -> bool {
        !self.is_open()
    }

    fn is_leader(&self) -> bool {
        self.is_leader_flag()
    }

    async fn quit(&self) -> QuitReason {
        self.quit.cancelled().await;
        self.quit_reason
            .get()
            .copied()
            .unwrap_or(QuitReason::Closed)
    }

    fn delete_locally(&self) {
        self.journal.record(NodeEvent::DeletedLocally {
            node: self.node,
            key: self.key.clone(),
            assignment: self.assignment,
        });
        self.stop(QuitReason::Closed);
    }
}
