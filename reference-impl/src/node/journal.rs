//! What happened on the nodes of one cluster, in order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::broker::{AssignmentId, ProposeError};
use crate::outcome::Report;

/// One thing that happened on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node applied a new assignment and made its instance.
    Created {
        node: usize,
        key: String,
        assignment: AssignmentId,
        /// Whether this node leads it (its reaper tracks it).
        leader: bool,
    },
    /// The assignment was re-placed: this node now leads it (`leader`) or
    /// no longer does.
    Placed {
        node: usize,
        key: String,
        assignment: AssignmentId,
        leader: bool,
    },
    /// The node's reaper proposed deleting `assignment`.
    Proposed {
        node: usize,
        key: String,
        assignment: AssignmentId,
        /// `None`: held back by fault injection; otherwise what forwarding returned.
        forwarded: Option<Result<(), ProposeError>>,
    },
    /// A held proposal was forwarded after all.
    Released {
        node: usize,
        key: String,
        assignment: AssignmentId,
        forwarded: Result<(), ProposeError>,
    },
    /// The node applied the removal of `assignment` (`stopped`: it stopped
    /// an open instance here, firing its quit).
    Removed {
        node: usize,
        key: String,
        assignment: AssignmentId,
        stopped: bool,
    },
    /// An instance was deleted locally, without the metalayer.
    DeletedLocally {
        node: usize,
        key: String,
        assignment: AssignmentId,
    },
    /// The node gained or lost the metalayer's leadership.
    Leadership { node: usize, leader: bool },
    /// A run of the node's gated delete ended.
    Finished { node: usize, report: Report<String> },
    /// The node's reaper starts shutting down: from now on it may propose
    /// nothing.
    ShuttingDown { node: usize },
    /// The node went down (its reaper shut down, its instances stopped).
    NodeDown { node: usize },
}

/// Called with every [`NodeEvent`] as it is recorded (the demo prints them).
pub type JournalHook = Box<dyn Fn(Duration, &NodeEvent) + Send>;

/// The shared, ordered record of a cluster's [`NodeEvent`]s, timed on tokio's
/// clock from the journal's creation. [`Journal::new`] keeps every event
/// (tests, demos); a long-running node uses [`Journal::bounded`].
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: Instant,
    /// At most this many events are kept, the oldest dropped first.
    capacity: usize,
    events: Mutex<VecDeque<(Duration, NodeEvent)>>,
    hook: Mutex<Option<JournalHook>>,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal::new()
    }
}

impl Journal {
    /// A journal that keeps every event.
    pub fn new() -> Journal {
        Journal::bounded(usize::MAX)
    }

    /// A journal that keeps the latest `max_events` events (the hook still
    /// sees every one).
    pub fn bounded(max_events: usize) -> Journal {
        Journal {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                capacity: max_events,
                events: Mutex::new(VecDeque::new()),
                hook: Mutex::new(None),
            }),
        }
    }

    /// When the journal started: event times count from here.
    pub fn epoch(&self) -> Instant {
        self.inner.epoch
    }

    pub fn record(&self, event: NodeEvent) {
        let at = self.inner.epoch.elapsed();
        // The hook runs under the events lock, so printed order is recorded order.
        let mut events = lock(&self.inner.events);
        if let Some(hook) = lock(&self.inner.hook).as_ref() {
            hook(at, &event);
        }
        if events.len() >= self.inner.capacity {
            events.pop_front();
        }
        if self.inner.capacity > 0 {
            events.push_back((at, event));
        }
    }

    /// Calls `hook` with every event from now on.
    pub fn set_hook(&self, hook: JournalHook) {
        *lock(&self.inner.hook) = Some(hook);
    }

    /// The events kept, oldest first, with their time since
    /// [`epoch`](Journal::epoch).
    pub fn events(&self) -> Vec<(Duration, NodeEvent)> {
        lock(&self.inner.events).iter().cloned().collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_journal_keeps_the_latest_events_and_hooks_see_all() {
        let journal = Journal::bounded(2);
        let seen = Arc::new(Mutex::new(0));
        let counter = seen.clone();
        journal.set_hook(Box::new(move |_, _| *lock(&counter) += 1));
        for node in 0..3 {
            journal.record(NodeEvent::NodeDown { node });
        }
        let kept: Vec<NodeEvent> = journal.events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            kept,
            [
                NodeEvent::NodeDown { node: 1 },
                NodeEvent::NodeDown { node: 2 }
            ]
        );
        assert_eq!(*lock(&seen), 3);
    }
}
