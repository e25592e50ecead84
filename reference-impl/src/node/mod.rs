//! A broker node over a real metalayer backend (openraft or etcd).
//!
//! Both real backends deliver what the metalayer committed the same way: one
//! [`AssignmentEvent`] per assignment created or removed, in commit order, on
//! every node. A [`Node`] does with them what a broker does: it keeps one
//! local instance per consumer ([`NodeConsumer`]), stops it (fires its quit
//! signal) when the metalayer applies its removal, and registers it with the
//! node's [`Reaper`] while this node leads it. A [`Journal`] shared by the
//! nodes of a cluster records what happened on each, for the tests'
//! invariants and the demo's narration.
//!
//! The node is the place to read how a broker wires the reaper to a real
//! metalayer; the backends (`raft`, `etcd`) only translate their engine's
//! commits into [`AssignmentEvent`]s and proposals into their engine's writes.

mod consumer;
mod journal;
mod proposals;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

pub use consumer::NodeConsumer;
pub use journal::{Journal, JournalHook, NodeEvent};
pub use proposals::NodeMetalayer;

use crate::broker::{AssignmentId, Metalayer, QuitReason};
use crate::config::Config;
use crate::reaper::{Observer, Reaper, Stats, Tracked};

/// Who leads a consumer (and so runs its reaper).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Whichever node currently leads the metalayer (the openraft backend:
    /// only the raft leader's reaper proposes).
    MetalayerLeader,
    /// The given node, named in the assignment (the etcd backend, where the
    /// metalayer's own leader is not a broker node).
    Node(usize),
}

/// A consumer's replicated configuration, as its assignment carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Idle time after which the consumer is reaped.
    pub inactive_threshold: Duration,
    pub placement: Placement,
}

/// A change the metalayer committed, delivered to every node in commit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignmentEvent {
    /// A new assignment for `key`, with the identity of the entry that created it.
    Created {
        key: String,
        assignment: AssignmentId,
        spec: ConsumerSpec,
    },
    /// The same assignment now names another leader (a failover re-placed
    /// it: the etcd backend, when the node it named lost its lease).
    Placed {
        key: String,
        assignment: AssignmentId,
        spec: ConsumerSpec,
    },
    /// `assignment` was removed: deleted, or replaced by a re-creation.
    Removed {
        key: String,
        assignment: AssignmentId,
    },
}

/// Where a backend delivers its [`AssignmentEvent`]s. It is called
/// synchronously from the apply path, before the backend's own view of the
/// assignments changes, so a consumer's quit fires no later than its
/// assignment disappears from [`Metalayer::assignment`].
pub type Listener = Arc<dyn Fn(&AssignmentEvent) + Send + Sync>;

/// The reaper a node runs.
pub type NodeReaper<M> = Reaper<NodeMetalayer<M>, NodeConsumer>;

/// One broker node: its consumer instances, its reaper, its leadership.
pub struct Node<M> {
    id: usize,
    journal: Journal,
    state: Mutex<NodeState<M>>,
}

struct NodeState<M> {
    /// The current instance of each consumer: dropped once the metalayer
    /// removes its assignment, so churn does not grow the map.
    instances: HashMap<String, Arc<NodeConsumer>>,
    /// Every instance this node made and something still holds, for the
    /// shutdown check (pruned as they are dropped).
    made: Vec<Weak<NodeConsumer>>,
    /// What the reaper tracks here (the consumers this node leads).
    tracked: HashMap<String, Tracked<NodeConsumer>>,
    /// Whether this node leads the metalayer (for `Placement::MetalayerLeader`).
    leads_metalayer: bool,
    metalayer: Option<Arc<NodeMetalayer<M>>>,
    reaper: Option<NodeReaper<M>>,
    /// The node went down: it makes no new instance and tracks nothing.
    down: bool,
}

impl<M: Metalayer<String>> Node<M> {
    /// A node with no reaper yet: deliver its [`listener`](Node::listener) to
    /// the backend, then [`start`](Node::start) it with the backend's
    /// metalayer (the two refer to each other).
    pub fn new(id: usize, journal: Journal) -> Arc<Node<M>> {
        Arc::new(Node {
            id,
            journal,
            state: Mutex::new(NodeState {
                instances: HashMap::new(),
                made: Vec::new(),
                tracked: HashMap::new(),
                leads_metalayer: false,
                metalayer: None,
                reaper: None,
                down: false,
            }),
        })
    }

    /// The callback the backend's apply path calls.
    pub fn listener(self: &Arc<Self>) -> Listener {
        let node: Weak<Node<M>> = Arc::downgrade(self);
        Arc::new(move |event: &AssignmentEvent| {
            if let Some(node) = node.upgrade() {
                node.apply(event);
            }
        })
    }

    /// Starts the node's reaper over `metalayer` and registers the consumers
    /// it already leads.
    pub fn start(&self, metalayer: Arc<M>, config: Config) {
        self.start_reaper(metalayer, |metalayer, observer| {
            Reaper::start_with_observer(metalayer, config, Some(observer))
        });
    }

    /// Like [`start`](Node::start), with deliberate bugs in the reaper
    /// (tests only: `fault-injection`), to show a check fails.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn start_with_faults(
        &self,
        metalayer: Arc<M>,
        config: Config,
        faults: crate::faults::ReaperFaults,
    ) {
        self.start_reaper(metalayer, |metalayer, observer| {
            Reaper::start_with_faults(metalayer, config, Some(observer), faults)
        });
    }

    fn start_reaper(
        &self,
        metalayer: Arc<M>,
        launch: impl FnOnce(Arc<NodeMetalayer<M>>, Observer<String>) -> NodeReaper<M>,
    ) {
        let metalayer = Arc::new(NodeMetalayer::new(metalayer, self.id, self.journal.clone()));
        let journal = self.journal.clone();
        let node = self.id;
        let observer: Observer<String> = Arc::new(move |report| {
            journal.record(NodeEvent::Finished {
                node,
                report: report.clone(),
            });
        });
        let reaper = launch(metalayer.clone(), observer);
        let mut state = self.lock();
        state.metalayer = Some(metalayer);
        state.reaper = Some(reaper);
        let leading: Vec<Arc<NodeConsumer>> = state
            .instances
            .values()
            .filter(|c| c.is_open() && c.is_leader_flag())
            .cloned()
            .collect();
        for instance in leading {
            self.register(&mut state, instance);
        }
    }

    pub fn id(&self) -> usize {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, NodeState<M>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one committed change: what the broker's apply path does.
    pub fn apply(&self, event: &AssignmentEvent) {
        let mut state = self.lock();
        match event {
            AssignmentEvent::Created {
                key,
                assignment,
                spec,
            } => {
                // A backend announces the removal first; an instance still
                // open here under another identity was replaced all the same.
                if let Some(old) = state.instances.get(key).cloned() {
                    if old.is_open() && old.assignment_id() != *assignment {
                        self.stop_by_metalayer(&mut state, key, old.assignment_id());
                    }
                }
                if state.down {
                    return;
                }
                let leader = match spec.placement {
                    Placement::MetalayerLeader => state.leads_metalayer,
                    Placement::Node(node) => node == self.id,
                };
                let instance = Arc::new(NodeConsumer::new(
                    key.clone(),
                    self.id,
                    *assignment,
                    *spec,
                    leader,
                    self.journal.clone(),
                ));
                state.instances.insert(key.clone(), instance.clone());
                state.remember(&instance);
                self.journal.record(NodeEvent::Created {
                    node: self.id,
                    key: key.clone(),
                    assignment: *assignment,
                    leader,
                });
                if leader {
                    self.register(&mut state, instance);
                }
            }
            AssignmentEvent::Placed {
                key,
                assignment,
                spec,
            } => self.placed(&mut state, key, *assignment, spec.placement),
            AssignmentEvent::Removed { key, assignment } => {
                self.stop_by_metalayer(&mut state, key, *assignment);
            }
        }
    }

    /// The assignment of `key` now names `placement` as its leader: this
    /// node starts tracking its instance (a fresh inactivity clock: activity
    /// was seen where it was led before) or stops.
    fn placed(
        &self,
        state: &mut NodeState<M>,
        key: &str,
        assignment: AssignmentId,
        placement: Placement,
    ) {
        let Some(instance) = state
            .instances
            .get(key)
            .filter(|c| c.assignment_id() == assignment)
            .cloned()
        else {
            return;
        };
        let leader = match placement {
            Placement::MetalayerLeader => state.leads_metalayer,
            Placement::Node(node) => node == self.id,
        };
        if leader == instance.is_leader_flag() {
            return;
        }
        instance.set_leader(leader);
        self.journal.record(NodeEvent::Placed {
            node: self.id,
            key: key.to_owned(),
            assignment,
            leader,
        });
        if !leader {
            if let Some(tracked) = state.tracked.remove(key) {
                tracked.unregister();
            }
        } else if instance.is_open() && !state.down {
            self.register(state, instance);
        }
    }

    /// The metalayer removed `assignment`: stop its instance here (its quit
    /// fires, which is how a waiting delete learns of the commit) and forget it.
    fn stop_by_metalayer(&self, state: &mut NodeState<M>, key: &str, assignment: AssignmentId) {
        let current = state.instances.get(key);
        let instance = current.filter(|c| c.assignment_id() == assignment).cloned();
        if instance.is_some() {
            state.instances.remove(key);
        }
        let stopped = instance
            .as_ref()
            .is_some_and(|c| c.stop(QuitReason::AssignmentRemoved));
        self.journal.record(NodeEvent::Removed {
            node: self.id,
            key: key.to_owned(),
            assignment,
            stopped,
        });
        if instance.is_some() {
            if let Some(tracked) = state.tracked.remove(key) {
                tracked.unregister();
            }
        }
    }

    /// Has the reaper track `instance`, with a fresh inactivity clock.
    fn register(&self, state: &mut NodeState<M>, instance: Arc<NodeConsumer>) {
        let key = instance.key_str().to_owned();
        let threshold = instance.spec().inactive_threshold;
        let Some(reaper) = state.reaper.as_ref() else {
            // Not started yet: `start` registers what this node leads.
            return;
        };
        match reaper.register(instance, threshold) {
            Ok(tracked) => {
                if let Some(old) = state.tracked.insert(key, tracked) {
                    old.unregister();
                }
            }
            Err(stopped) => tracing::warn!(node = self.id, consumer = %key, %stopped,
                "consumer not tracked: this node's reaper has stopped"),
        }
    }

    /// This node gained or lost the metalayer's leadership: the consumers
    /// placed with the metalayer leader follow it. A new leader tracks them
    /// afresh (activity was seen on the old one); the old one stops tracking
    /// them, which stops a delete it was waiting on.
    pub fn set_metalayer_leader(&self, leads: bool) {
        let mut state = self.lock();
        if state.leads_metalayer == leads || state.down {
            return;
        }
        state.leads_metalayer = leads;
        self.journal.record(NodeEvent::Leadership {
            node: self.id,
            leader: leads,
        });
        let following: Vec<Arc<NodeConsumer>> = state
            .instances
            .values()
            .filter(|c| c.spec().placement == Placement::MetalayerLeader)
            .cloned()
            .collect();
        for instance in following {
            instance.set_leader(leads);
            if !leads {
                if let Some(tracked) = state.tracked.remove(instance.key_str()) {
                    tracked.unregister();
                }
            } else if instance.is_open() {
                self.register(&mut state, instance);
            }
        }
    }

    /// Activity on `key`, seen by its leader. Returns whether this node tracks it.
    pub fn touch(&self, key: &str) -> bool {
        let state = self.lock();
        state.tracked.get(key).map(Tracked::touch).is_some()
    }

    /// The current instance of `key` on this node; `None` once the metalayer
    /// removed it (or before this node applied its creation).
    pub fn instance(&self, key: &str) -> Option<Arc<NodeConsumer>> {
        self.lock().instances.get(key).cloned()
    }

    /// Whether this node runs (it has not gone down).
    pub fn is_up(&self) -> bool {
        !self.lock().down
    }

    /// Fault injection: from now on, this node's delete proposals are
    /// journaled but held back, as if stuck on the way to the metalayer.
    pub fn hold_proposals(&self) {
        if let Some(metalayer) = self.lock().metalayer.clone() {
            metalayer.hold();
        }
    }

    /// Forwards the held proposals, in order, and stops holding.
    pub fn release_proposals(&self) {
        let metalayer = self.lock().metalayer.clone();
        if let Some(metalayer) = metalayer {
            metalayer.release();
        }
    }

    pub fn stats(&self) -> Option<Stats> {
        self.lock().reaper.as_ref().map(|r| r.stats())
    }

    /// Shuts the reaper down and waits for it (nothing it ran outlives this),
    /// then stops this node's instances without deleting anything: the server
    /// is gone, the metalayer still holds the assignments.
    pub async fn shut_down(&self) {
        let reaper = {
            let mut state = self.lock();
            if state.reaper.is_some() {
                self.journal
                    .record(NodeEvent::ShuttingDown { node: self.id });
            }
            state.down = true;
            for (_, tracked) in state.tracked.drain() {
                tracked.unregister();
            }
            state.reaper.take()
        };
        if let Some(reaper) = reaper {
            reaper.shutdown().await;
        }
        let mut state = self.lock();
        for instance in state.instances.values() {
            instance.stop(QuitReason::ServerShutdown);
        }
        state.metalayer = None;
        self.journal.record(NodeEvent::NodeDown { node: self.id });
    }

    /// Instances this node made that something besides its own map (and the
    /// caller) still holds: after shutdown, no reaper task or entry may.
    pub fn instances_held_elsewhere(&self) -> usize {
        let state = self.lock();
        state
            .made
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|instance| {
                let in_map = state
                    .instances
                    .get(instance.key_str())
                    .is_some_and(|c| c.assignment_id() == instance.assignment_id());
                // This upgrade, and the map's reference if it has one.
                Arc::strong_count(instance) > 1 + usize::from(in_map)
            })
            .count()
    }
}

impl<M> NodeState<M> {
    /// Keeps a weak reference to a new instance, dropping the dead ones when
    /// they are the majority (so the list stays proportional to the live ones).
    fn remember(&mut self, instance: &Arc<NodeConsumer>) {
        if self.made.len() >= 64 && self.made.len() > 2 * self.instances.len() {
            self.made.retain(|made| made.strong_count() > 0);
        }
        self.made.push(Arc::downgrade(instance));
    }
}
