//! An in-memory cluster to run the reaper against, with faults on demand.
//!
//! [`SimCluster`] plays the metalayer (assignments, proposals, commits) and a
//! few broker nodes, each with its own [`Reaper`] and its own instance of
//! every consumer. Time is tokio's, so tests run it under a paused clock.
//!
//! Faults: proposals dropped or rejected, commits delayed (hence reordered),
//! metalayer leader changes that lose uncommitted proposals, the metalayer
//! unavailable and back, consumers re-created under the same name (a new
//! assignment identity) or their assignment removed — optionally with the
//! leader's old instance missing the change (left open) — consumer leadership
//! moving between nodes, a node's reaper shutting down, a consumer closed
//! without its quit signal firing.
//!
//! While it runs, the simulation checks the reaper's contract and records
//! every breach in [`SimCluster::violations`]:
//! - a delete proposal names exactly the assignment the metalayer holds for
//!   the key at that moment (checked on what the reaper proposed, not on
//!   what the compare-and-delete makes of it), comes from the consumer's
//!   current leader, and only when its consumer has been idle for its
//!   threshold (an identity the cluster never issued is a breach too);
//! - at shutdown, the proposals each node forwarded per identity are exactly
//!   those its runs report for the instance of that identity (a run naming
//!   another instance's identity — the old run of a re-created consumer
//!   naming the new one — is caught even when the metalayer would apply it);
//! - in clustered mode, a local delete only of an instance whose assignment
//!   removal the metalayer has committed;
//! - no proposal from a node whose reaper has shut down, or for an instance
//!   already closed on the proposing node;
//! - no run of the gated delete makes more than `max_attempts` proposals.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::broker::{AssignmentId, Consumer, Metalayer, ProposeError, QuitReason};
use crate::config::Config;
use crate::outcome::{Outcome, Report};
use crate::reaper::{Reaper, Tracked};

/// The reaper as a simulated node runs it.
pub type SimReaper = Reaper<SimMetalayer, SimConsumer>;

/// A small seeded PRNG (SplitMix64): reproducible runs without a dependency.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo + 1)
        }
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.next_u64() % 1000 < permille
    }
}

/// One thing that happened in the simulation, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimEvent {
    Created {
        key: String,
        assignment: AssignmentId,
        leader: usize,
    },
    Proposed {
        key: String,
        assignment: AssignmentId,
        node: usize,
        fate: ProposalFate,
    },
    Committed {
        key: String,
        assignment: AssignmentId,
        applied: bool,
    },
    LostInLeaderChange {
        key: String,
        assignment: AssignmentId,
    },
    StoppedByApply {
        key: String,
        assignment: AssignmentId,
        node: usize,
    },
    DeletedLocally {
        key: String,
        assignment: Option<AssignmentId>,
        node: usize,
    },
    Replaced {
        key: String,
        old: AssignmentId,
        new: AssignmentId,
        stale_left_open: bool,
    },
    AssignmentRemoved {
        key: String,
        assignment: AssignmentId,
        stale_left_open: bool,
    },
    ClosedWithoutQuit {
        key: String,
        assignment: AssignmentId,
    },
    /// The leader's instance stopped for a reason other than its removal
    /// (an error, say): its quit fired with that reason.
    StoppedForOtherReason {
        key: String,
        assignment: AssignmentId,
        reason: QuitReason,
    },
    LeaderMoved {
        key: String,
        from: usize,
        to: usize,
    },
    MetalayerReady(bool),
    MetalayerLeaderChanged {
        lost: usize,
    },
    NodeShutDown(usize),
    Finished {
        node: usize,
        report: Report<String>,
    },
}

/// What became of a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalFate {
    /// Will commit after a delay.
    Queued,
    /// Forwarded, then lost without an answer.
    Dropped,
    /// Refused at once (no leader).
    Rejected,
}

/// Fault knobs, changeable while the simulation runs.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Chance (per mille) that a forwarded proposal is silently lost.
    pub drop_permille: u64,
    /// Chance (per mille) that a proposal is refused with `NoLeader`.
    pub reject_permille: u64,
    /// Commit delay range, in milliseconds (random in the range: reorders).
    pub commit_delay_ms: (u64, u64),
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            drop_permille: 0,
            reject_permille: 0,
            commit_delay_ms: (5, 50),
        }
    }
}

/// How to build a simulated cluster.
#[derive(Clone, Debug)]
pub struct SimSetup {
    pub nodes: usize,
    pub clustered: bool,
    pub seed: u64,
    pub reaper: Config,
}

/// One simulated replica of a consumer.
pub struct SimConsumer {
    /// Unique per instance ever made.
    serial: usize,
    key: String,
    node: usize,
    assignment: Option<AssignmentId>,
    closed: AtomicBool,
    leader: AtomicBool,
    quit: CancellationToken,
    /// Why it was stopped (set before `quit` fires).
    quit_reason: Mutex<Option<QuitReason>>,
    cluster: Weak<SimCluster>,
}

impl SimConsumer {
    pub fn node(&self) -> usize {
        self.node
    }

    /// Stopped by the apply path (or the broker): closed, and quit fires
    /// with `reason` (the first reason given, if stopped twice).
    fn stop(&self, reason: QuitReason) {
        self.quit_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(reason);
        self.closed.store(true, Ordering::SeqCst);
        self.quit.cancel();
    }

    fn quit_reason(&self) -> QuitReason {
        self.quit_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(QuitReason::Closed)
    }
}

impl fmt::Debug for SimConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConsumer")
            .field("key", &self.key)
            .field("node", &self.node)
            .field("assignment", &self.assignment)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Consumer for SimConsumer {
    type Key = String;
    /// An in-memory delete (it only records the event and stops the instance).
    const DELETE_MAY_BLOCK: bool = false;

    fn key(&self) -> &String {
        &self.key
    }

    fn assignment(&self) -> Option<AssignmentId> {
        self.assignment
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    async fn quit(&self) -> QuitReason {
        self.quit.cancelled().await;
        self.quit_reason()
    }

    fn delete_locally(&self) {
        if let Some(cluster) = self.cluster.upgrade() {
            cluster.record_local_delete(self);
        }
        self.stop(QuitReason::Closed);
    }
}

/// A node's view of the metalayer (records which node proposed).
pub struct SimMetalayer {
    cluster: Weak<SimCluster>,
    node: usize,
}

impl Metalayer<String> for SimMetalayer {
    fn is_clustered(&self) -> bool {
        self.cluster.upgrade().is_some_and(|c| c.lock().clustered)
    }

    fn is_ready(&self) -> bool {
        self.cluster.upgrade().is_some_and(|c| c.lock().ready)
    }

    fn assignment(&self, key: &String) -> Option<AssignmentId> {
        self.cluster
            .upgrade()
            .and_then(|c| c.lock().assignments.get(key).copied())
    }

    fn forward_delete_proposal(
        &self,
        key: &String,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError> {
        match self.cluster.upgrade() {
            Some(cluster) => cluster.propose(self.node, key, assignment),
            None => Err(ProposeError::NoLeader),
        }
    }
}

/// A commit the metalayer will apply.
#[derive(PartialEq, Eq)]
struct Pending {
    at_ms: u64,
    seq: u64,
    key: String,
    assignment: AssignmentId,
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A consumer as the whole cluster knows it.
struct Managed {
    threshold_ms: u64,
    leader: usize,
    current: AssignmentId,
    /// The current assignment's instance on each node.
    instances: Vec<Arc<SimConsumer>>,
}

struct Node {
    reaper: Option<SimReaper>,
    tracked: HashMap<String, Tracked<SimConsumer>>,
}

struct State {
    clustered: bool,
    ready: bool,
    /// Commits wait (proposals are still taken): see `SimCluster::hold_commits`.
    commits_held: bool,
    faults: Faults,
    rng: SimRng,
    next_index: u64,
    seq: u64,
    assignments: HashMap<String, AssignmentId>,
    pending: BinaryHeap<Pending>,
    consumers: BTreeMap<String, Managed>,
    nodes: Vec<Node>,
    /// Every instance ever made, for the final checks.
    instances: Vec<Arc<SimConsumer>>,
    /// The same, by assignment.
    by_assignment: HashMap<AssignmentId, Vec<Arc<SimConsumer>>>,
    /// Ground truth for "idle": last activity per assignment, and thresholds.
    last_active_ms: HashMap<AssignmentId, u64>,
    threshold_ms: HashMap<AssignmentId, u64>,
    /// Assignments whose removal the metalayer committed.
    removed: HashSet<AssignmentId>,
    /// Assignments whose leader's instance was closed without quit or
    /// stopped for another reason than its removal (their reaper must still
    /// reap the assignment).
    closed_externally: HashSet<AssignmentId>,
    history: Vec<(u64, SimEvent)>,
    violations: Vec<String>,
}

/// The simulated cluster: metalayer, nodes, consumers, faults, checks.
pub struct SimCluster {
    state: Mutex<State>,
    epoch: Instant,
    max_attempts: u32,
    wake_apply: Notify,
    stop_apply: CancellationToken,
    apply_task: Mutex<Option<JoinHandle<()>>>,
    self_weak: Weak<SimCluster>,
    on_event: Mutex<Option<EventHook>>,
}

/// Called with every [`SimEvent`] as it happens (time in milliseconds).
pub type EventHook = Box<dyn Fn(u64, &SimEvent) + Send>;

impl SimCluster {
    /// Builds the cluster and starts every node's reaper and the metalayer's
    /// apply loop on the current runtime.
    pub fn start(setup: SimSetup) -> Arc<SimCluster> {
        SimCluster::launch(setup, |metalayer, config, observer| {
            Reaper::start_with_observer(metalayer, config, observer)
        })
    }

    /// Like [`start`](SimCluster::start), with deliberate bugs in every
    /// node's reaper (tests only: `fault-injection`), to show a check fails.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn start_with_faults(
        setup: SimSetup,
        faults: crate::faults::ReaperFaults,
    ) -> Arc<SimCluster> {
        SimCluster::launch(setup, move |metalayer, config, observer| {
            Reaper::start_with_faults(metalayer, config, observer, faults)
        })
    }

    fn launch(
        setup: SimSetup,
        start_reaper: impl Fn(Arc<SimMetalayer>, Config, Option<crate::Observer<String>>) -> SimReaper,
    ) -> Arc<SimCluster> {
        let cluster = Arc::new_cyclic(|self_weak| SimCluster {
            state: Mutex::new(State {
                clustered: setup.clustered,
                ready: true,
                commits_held: false,
                faults: Faults::default(),
                rng: SimRng::new(setup.seed),
                next_index: 1,
                seq: 0,
                assignments: HashMap::new(),
                pending: BinaryHeap::new(),
                consumers: BTreeMap::new(),
                nodes: Vec::new(),
                instances: Vec::new(),
                by_assignment: HashMap::new(),
                last_active_ms: HashMap::new(),
                threshold_ms: HashMap::new(),
                removed: HashSet::new(),
                closed_externally: HashSet::new(),
                history: Vec::new(),
                violations: Vec::new(),
            }),
            epoch: Instant::now(),
            max_attempts: setup.reaper.max_attempts,
            wake_apply: Notify::new(),
            stop_apply: CancellationToken::new(),
            apply_task: Mutex::new(None),
            self_weak: self_weak.clone(),
            on_event: Mutex::new(None),
        });
        for node in 0..setup.nodes.max(1) {
            let metalayer = Arc::new(SimMetalayer {
                cluster: Arc::downgrade(&cluster),
                node,
            });
            let weak = Arc::downgrade(&cluster);
            let observer: crate::Observer<String> = Arc::new(move |report: &Report<String>| {
                if let Some(cluster) = weak.upgrade() {
                    cluster.record_report(node, report);
                }
            });
            let reaper = start_reaper(metalayer, setup.reaper.clone(), Some(observer));
            cluster.lock().nodes.push(Node {
                reaper: Some(reaper),
                tracked: HashMap::new(),
            });
        }
        let task = tokio::spawn(apply_loop(
            Arc::downgrade(&cluster),
            cluster.stop_apply.clone(),
        ));
        *cluster.apply_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        cluster
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// When the cluster started: event times count from here.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Milliseconds since the cluster started.
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn push(&self, state: &mut State, event: SimEvent) {
        let now = self.now_ms();
        if let Some(hook) = self
            .on_event
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            hook(now, &event);
        }
        state.history.push((now, event));
    }

    /// Calls `hook` with every event from now on (the demo prints them).
    pub fn set_event_hook(&self, hook: EventHook) {
        *self.on_event.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    // ----- what the broker does -------------------------------------------------

    /// Creates a consumer: the metalayer commits its assignment, every node
    /// makes an instance, and `leader`'s reaper starts tracking it.
    /// If `leader` is down, the next live node leads.
    pub fn create_consumer(&self, key: &str, threshold: Duration, leader: usize) -> AssignmentId {
        let mut state = self.lock();
        let leader = live_node(&state, leader);
        let assignment = self.new_assignment(&mut state, key, threshold);
        let instances = self.make_instances(&mut state, key, assignment, leader);
        state.consumers.insert(
            key.to_owned(),
            Managed {
                threshold_ms: threshold.as_millis() as u64,
                leader,
                current: assignment,
                instances,
            },
        );
        self.push(
            &mut state,
            SimEvent::Created {
                key: key.to_owned(),
                assignment,
                leader,
            },
        );
        self.register_leader(&mut state, key);
        assignment
    }

    fn new_assignment(&self, state: &mut State, key: &str, threshold: Duration) -> AssignmentId {
        let assignment = AssignmentId::from_raft_index(state.next_index);
        state.next_index += 1;
        state.assignments.insert(key.to_owned(), assignment);
        let now = self.now_ms();
        state.last_active_ms.insert(assignment, now);
        state
            .threshold_ms
            .insert(assignment, threshold.as_millis() as u64);
        assignment
    }

    fn make_instances(
        &self,
        state: &mut State,
        key: &str,
        assignment: AssignmentId,
        leader: usize,
    ) -> Vec<Arc<SimConsumer>> {
        let cluster = self.self_weak.clone();
        let instances: Vec<Arc<SimConsumer>> = (0..state.nodes.len())
            .map(|node| {
                Arc::new(SimConsumer {
                    serial: state.instances.len() + node,
                    key: key.to_owned(),
                    node,
                    assignment: state.clustered.then_some(assignment),
                    closed: AtomicBool::new(false),
                    leader: AtomicBool::new(node == leader),
                    quit: CancellationToken::new(),
                    quit_reason: Mutex::new(None),
                    cluster: cluster.clone(),
                })
            })
            .collect();
        for instance in &instances {
            if state.nodes[instance.node].reaper.is_none() {
                instance.stop(QuitReason::ServerShutdown); // that server is down
            }
        }
        state.instances.extend(instances.iter().cloned());
        state.by_assignment.insert(assignment, instances.clone());
        instances
    }

    /// The leader's reaper starts tracking the key's current instance.
    fn register_leader(&self, state: &mut State, key: &str) {
        let Some((leader, instance, threshold)) = state.consumers.get(key).map(|m| {
            (
                m.leader,
                m.instances[m.leader].clone(),
                Duration::from_millis(m.threshold_ms),
            )
        }) else {
            return self.note(state, format!("register_leader: unknown consumer {key}"));
        };
        let node = &mut state.nodes[leader];
        match node
            .reaper
            .as_ref()
            .map(|r| r.register(instance, threshold))
        {
            Some(Ok(tracked)) => {
                node.tracked.insert(key.to_owned(), tracked);
            }
            Some(Err(stopped)) => {
                self.note(state, format!("register {key} on node {leader}: {stopped}"))
            }
            None => self.note(state, format!("register {key}: node {leader} is down")),
        }
    }

    fn note(&self, state: &mut State, violation: String) {
        state
            .violations
            .push(format!("t={}ms: {violation}", self.now_ms()));
    }

    /// Activity on a consumer: seen by its leader only.
    /// Returns whether there was an open instance to touch.
    pub fn touch(&self, key: &str) -> bool {
        let mut state = self.lock();
        let open = state
            .consumers
            .get(key)
            .map(|m| (m.leader, m.current))
            .filter(|&(leader, _)| !state.consumers[key].instances[leader].is_closed());
        if let Some((leader, current)) = open {
            if let Some(tracked) = state.nodes[leader].tracked.get(key) {
                tracked.touch();
            }
            let now = self.now_ms();
            state.last_active_ms.insert(current, now);
        }
        open.is_some()
    }

    /// Moves the consumer's leadership: the old leader unregisters (its
    /// running delete stops), the new one registers afresh.
    /// Returns whether the leadership moved.
    pub fn move_leader(&self, key: &str, to: usize) -> bool {
        let mut state = self.lock();
        let node_up = state.nodes.get(to).is_some_and(|n| n.reaper.is_some());
        let Some(managed) = state
            .consumers
            .get_mut(key)
            .filter(|m| m.leader != to && node_up)
        else {
            return false;
        };
        let from = managed.leader;
        managed.leader = to;
        managed.instances[from]
            .leader
            .store(false, Ordering::SeqCst);
        managed.instances[to].leader.store(true, Ordering::SeqCst);
        // A new leader registers its instance unless the metalayer stopped it:
        // one closed some other way still has an assignment to reap.
        let (current, closed) = (managed.current, managed.instances[to].is_closed());
        let stopped_by_removal = closed && state.assignments.get(key) != Some(&current);
        if let Some(tracked) = state.nodes[from].tracked.remove(key) {
            tracked.unregister();
        }
        self.push(
            &mut state,
            SimEvent::LeaderMoved {
                key: key.to_owned(),
                from,
                to,
            },
        );
        if !stopped_by_removal {
            self.register_leader(&mut state, key);
        }
        true
    }

    /// The leader stops tracking the consumer while it stays open and leader
    /// (say its inactivity threshold was removed). Returns whether it was tracked.
    pub fn untrack(&self, key: &str) -> bool {
        let mut state = self.lock();
        let leader = state.consumers.get(key).map(|m| m.leader);
        let tracked = leader.and_then(|leader| state.nodes[leader].tracked.remove(key));
        tracked.map(|t| t.unregister()).is_some()
    }

    /// Deletes and re-creates the consumer under the same name (a new
    /// identity). With `stale_left_open`, the old leader instance misses the
    /// change and stays open: only the forced path can clean it up.
    /// Returns whether the consumer existed (and was re-created).
    pub fn recreate(&self, key: &str, stale_left_open: bool) -> bool {
        let mut state = self.lock();
        let Some(managed) = state
            .consumers
            .get(key)
            .filter(|m| state.assignments.get(key) == Some(&m.current))
        else {
            return false;
        };
        let (old, old_leader, threshold_ms) =
            (managed.current, managed.leader, managed.threshold_ms);
        let old_instances = managed.instances.clone();
        let leader = live_node(&state, old_leader);
        state.removed.insert(old);
        self.stop_instances(
            &mut state,
            &old_instances,
            stale_left_open.then_some(old_leader),
        );
        // A stale instance keeps its reaper entry (the node missed the change);
        // otherwise the node stops tracking the old instance.
        if let Some(tracked) = state.nodes[old_leader].tracked.remove(key) {
            if !stale_left_open {
                tracked.unregister();
            }
        }
        let new = self.new_assignment(&mut state, key, Duration::from_millis(threshold_ms));
        let instances = self.make_instances(&mut state, key, new, leader);
        if let Some(managed) = state.consumers.get_mut(key) {
            managed.current = new;
            managed.instances = instances;
            managed.leader = leader;
        }
        self.push(
            &mut state,
            SimEvent::Replaced {
                key: key.to_owned(),
                old,
                new,
                stale_left_open,
            },
        );
        self.register_leader(&mut state, key);
        true
    }

    /// The metalayer removes the assignment (stream deleted, say). With
    /// `stale_left_open`, the leader's instance misses it and stays open.
    /// Returns whether there was an assignment to remove.
    pub fn remove_assignment(&self, key: &str, stale_left_open: bool) -> bool {
        let mut state = self.lock();
        let Some(managed) = state
            .consumers
            .get(key)
            .filter(|m| state.assignments.get(key) == Some(&m.current))
        else {
            return false;
        };
        let (assignment, leader) = (managed.current, managed.leader);
        let instances = managed.instances.clone();
        state.assignments.remove(key);
        state.removed.insert(assignment);
        self.stop_instances(&mut state, &instances, stale_left_open.then_some(leader));
        self.push(
            &mut state,
            SimEvent::AssignmentRemoved {
                key: key.to_owned(),
                assignment,
                stale_left_open,
            },
        );
        true
    }

    /// Closes the leader's instance without firing its quit signal (the
    /// review's edge case: a consumer closed, but its quit channel never closes).
    /// Returns whether the consumer existed.
    pub fn close_without_quit(&self, key: &str) -> bool {
        let mut state = self.lock();
        let Some((instance, assignment)) = state
            .consumers
            .get(key)
            .map(|m| (m.instances[m.leader].clone(), m.current))
        else {
            return false;
        };
        instance.closed.store(true, Ordering::SeqCst);
        state.closed_externally.insert(assignment);
        self.push(
            &mut state,
            SimEvent::ClosedWithoutQuit {
                key: key.to_owned(),
                assignment,
            },
        );
        true
    }

    /// Stops the leader's instance for `reason` — not the metalayer's
    /// removal: an error, the broker closing it, its replica shutting down —
    /// while its assignment stays. Its quit fires with `reason`; the
    /// assignment is still to be reaped. Returns whether there was an open
    /// leader instance.
    pub fn stop_for_other_reason(&self, key: &str, reason: QuitReason) -> bool {
        let mut state = self.lock();
        let Some((instance, assignment)) = state
            .consumers
            .get(key)
            .map(|m| (m.instances[m.leader].clone(), m.current))
            .filter(|(i, _)| !i.is_closed())
        else {
            return false;
        };
        instance.stop(reason);
        state.closed_externally.insert(assignment);
        self.push(
            &mut state,
            SimEvent::StoppedForOtherReason {
                key: key.to_owned(),
                assignment,
                reason,
            },
        );
        true
    }

    fn stop_instances(
        &self,
        state: &mut State,
        instances: &[Arc<SimConsumer>],
        except: Option<usize>,
    ) {
        for instance in instances {
            if Some(instance.node) != except && !instance.is_closed() {
                instance.stop(QuitReason::AssignmentRemoved);
                let event = SimEvent::StoppedByApply {
                    key: instance.key.clone(),
                    assignment: instance
                        .assignment
                        .unwrap_or(AssignmentId::from_raft_index(0)),
                    node: instance.node,
                };
                self.push(state, event);
            }
        }
    }

    // ----- what the metalayer does ----------------------------------------------

    pub fn set_ready(&self, ready: bool) {
        let mut state = self.lock();
        if state.ready != ready {
            state.ready = ready;
            self.push(&mut state, SimEvent::MetalayerReady(ready));
        }
        drop(state);
        self.wake_apply.notify_one();
    }

    /// Holds every commit back while `hold` (proposals are still taken, and
    /// commit in order once released): a delete proposal stays in flight for
    /// as long as a test needs.
    pub fn hold_commits(&self, hold: bool) {
        self.lock().commits_held = hold;
        self.wake_apply.notify_one();
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// A metalayer leader change: each uncommitted proposal is lost with
    /// probability `lose_permille`.
    pub fn change_metalayer_leader(&self, lose_permille: u64) {
        let mut state = self.lock();
        let pending = std::mem::take(&mut state.pending);
        let mut lost = 0;
        for commit in pending.into_vec() {
            if state.rng.chance(lose_permille) {
                lost += 1;
                let event = SimEvent::LostInLeaderChange {
                    key: commit.key,
                    assignment: commit.assignment,
                };
                self.push(&mut state, event);
            } else {
                state.pending.push(commit);
            }
        }
        self.push(&mut state, SimEvent::MetalayerLeaderChanged { lost });
    }

    fn propose(
        &self,
        node: usize,
        key: &str,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError> {
        let mut state = self.lock();
        let now = self.now_ms();
        // What the reaper proposed, checked as it proposes it — not what the
        // compare-and-delete below makes of it. Right before proposing, the
        // reaper compares its instance's identity with the metalayer's (no
        // await in between, and the simulation is single-threaded), so the
        // proposal must name exactly the assignment the metalayer holds now.
        let current = state.assignments.get(key).copied();
        if state.removed.contains(&assignment) {
            self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment} after its removal committed"
                ),
            );
        } else if current != Some(assignment) {
            self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment}, not the assignment the metalayer holds for it ({current:?})"
                ),
            );
        }
        // Only the consumer's leader reaps it (it re-checks `is_leader()`
        // right before proposing).
        let leader = state.consumers.get(key).map(|m| m.leader);
        if current == Some(assignment) && leader != Some(node) {
            self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment}, but node {leader:?} leads it"
                ),
            );
        }
        if state.nodes.get(node).is_some_and(|n| n.reaper.is_none()) {
            self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment} after its reaper shut down"
                ),
            );
        }
        // Closed without its removal (`close_without_quit`), an instance's
        // assignment is still to be reaped: proposing is right then.
        let closed = state
            .by_assignment
            .get(&assignment)
            .is_some_and(|all| all.iter().any(|i| i.node == node && i.is_closed()))
            && !state.closed_externally.contains(&assignment);
        if closed {
            self.note(
                &mut state,
                format!("node {node} proposed deleting {key} {assignment}, already closed there"),
            );
        }
        // Every assignment the cluster made has its activity and threshold
        // recorded (`new_assignment`): one it does not know was never issued.
        let known = (
            state.last_active_ms.get(&assignment).copied(),
            state.threshold_ms.get(&assignment).copied(),
        );
        match known {
            (Some(idle_since), Some(threshold)) if now < idle_since + threshold => self.note(
                &mut state,
                format!("node {node} proposed deleting {key} {assignment}, active {}ms ago (threshold {threshold}ms)", now - idle_since),
            ),
            (Some(_), Some(_)) => {}
            _ => self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment}, an assignment the metalayer never issued"
                ),
            ),
        }
        let faults = state.faults.clone();
        let fate = if !state.ready || state.rng.chance(faults.reject_permille) {
            ProposalFate::Rejected
        } else if state.rng.chance(faults.drop_permille) {
            ProposalFate::Dropped
        } else {
            let (lo, hi) = state.faults.commit_delay_ms;
            let at_ms = now + state.rng.range(lo, hi);
            state.seq += 1;
            let seq = state.seq;
            state.pending.push(Pending {
                at_ms,
                seq,
                key: key.to_owned(),
                assignment,
            });
            ProposalFate::Queued
        };
        self.push(
            &mut state,
            SimEvent::Proposed {
                key: key.to_owned(),
                assignment,
                node,
                fate,
            },
        );
        drop(state);
        self.wake_apply.notify_one();
        match fate {
            ProposalFate::Rejected => Err(ProposeError::NoLeader),
            ProposalFate::Queued | ProposalFate::Dropped => Ok(()),
        }
    }

    /// Applies the commits that are due; returns when the next one is.
    fn apply_due_commits(&self) -> Option<u64> {
        let mut state = self.lock();
        if !state.ready || state.commits_held {
            return None;
        }
        let now = self.now_ms();
        while state.pending.peek().is_some_and(|p| p.at_ms <= now) {
            let Some(commit) = state.pending.pop() else {
                break;
            };
            self.apply_delete(&mut state, commit);
        }
        state.pending.peek().map(|p| p.at_ms)
    }

    /// Compare-and-delete: only the assignment the proposal names.
    fn apply_delete(&self, state: &mut State, commit: Pending) {
        let applied = state.assignments.get(&commit.key) == Some(&commit.assignment);
        self.push(
            state,
            SimEvent::Committed {
                key: commit.key.clone(),
                assignment: commit.assignment,
                applied,
            },
        );
        if applied {
            state.assignments.remove(&commit.key);
            state.removed.insert(commit.assignment);
            let instances = state
                .consumers
                .get(&commit.key)
                .map(|m| m.instances.clone())
                .unwrap_or_default();
            self.stop_instances(state, &instances, None);
        }
    }

    // ----- nodes ----------------------------------------------------------------

    /// Shuts node `node`'s reaper down and moves the leadership of its
    /// consumers to the next live node.
    /// Refuses (returns false) to shut the last live node down.
    pub async fn shut_down_node(&self, node: usize) -> bool {
        let reaper = {
            let mut state = self.lock();
            let live = state.nodes.iter().filter(|n| n.reaper.is_some()).count();
            state
                .nodes
                .get_mut(node)
                .filter(|_| live > 1)
                .and_then(|n| n.reaper.take())
        };
        let Some(reaper) = reaper else { return false };
        reaper.shutdown().await;
        let mut state = self.lock();
        state.nodes[node].tracked.clear();
        // A server going down stops its own instances (no delete).
        for instance in state.instances.iter().filter(|i| i.node == node) {
            instance.stop(QuitReason::ServerShutdown);
        }
        self.push(&mut state, SimEvent::NodeShutDown(node));
        let count = state.nodes.len();
        let target = (1..count)
            .map(|step| (node + step) % count)
            .find(|&n| state.nodes[n].reaper.is_some());
        let keys: Vec<String> = state
            .consumers
            .iter()
            .filter(|(_, m)| m.leader == node)
            .map(|(k, _)| k.clone())
            .collect();
        drop(state);
        if let Some(to) = target {
            for key in keys {
                self.move_leader(&key, to);
            }
        }
        true
    }

    /// Shuts every reaper and the apply loop down, and waits for them.
    pub async fn shutdown(&self) {
        let nodes = self.lock().nodes.len();
        for node in 0..nodes {
            let reaper = {
                let mut state = self.lock();
                state.nodes[node].tracked.clear();
                state.nodes[node].reaper.take()
            };
            if let Some(reaper) = reaper {
                reaper.shutdown().await;
            }
        }
        self.check_proposals_against_runs();
        self.stop_apply.cancel();
        let task = self
            .apply_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    // ----- records and checks ---------------------------------------------------

    /// Once every reaper has stopped (each run reported how many proposals
    /// it made, for which instance): the proposals each node forwarded,
    /// per identity named, must be exactly those its runs made for the
    /// instance of that identity. A run that names another identity than
    /// its own instance's — say the old run of a re-created consumer naming
    /// the new one — is caught here even when the metalayer would apply it.
    fn check_proposals_against_runs(&self) {
        let mut state = self.lock();
        type Count = BTreeMap<(usize, String, AssignmentId), u64>;
        let (mut proposed, mut by_runs) = (Count::new(), Count::new());
        for (_, event) in &state.history {
            match event {
                SimEvent::Proposed {
                    key,
                    assignment,
                    node,
                    ..
                } => {
                    *proposed
                        .entry((*node, key.clone(), *assignment))
                        .or_default() += 1
                }
                SimEvent::Finished { node, report } if report.proposals > 0 => {
                    let named = report
                        .assignment
                        .unwrap_or(AssignmentId::from_raft_index(0));
                    *by_runs
                        .entry((*node, report.key.clone(), named))
                        .or_default() += u64::from(report.proposals);
                }
                _ => {}
            }
        }
        let mut mismatches = Vec::new();
        for slot in proposed.keys().chain(by_runs.keys()) {
            let (sent, made) = (
                proposed.get(slot).copied().unwrap_or(0),
                by_runs.get(slot).copied().unwrap_or(0),
            );
            if sent != made && !mismatches.iter().any(|(s, _, _)| s == slot) {
                mismatches.push((slot.clone(), sent, made));
            }
        }
        for ((node, key, assignment), sent, made) in mismatches {
            self.note(
                &mut state,
                format!(
                    "node {node} proposed deleting {key} {assignment} {sent} times, but its runs for that instance made {made} proposals"
                ),
            );
        }
    }

    fn record_local_delete(&self, instance: &SimConsumer) {
        let mut state = self.lock();
        if state.clustered {
            let removal_committed = instance
                .assignment
                .is_some_and(|a| state.removed.contains(&a));
            if !removal_committed {
                self.note(
                    &mut state,
                    format!(
                        "{} {:?} deleted locally on node {} before the metalayer committed its removal",
                        instance.key, instance.assignment, instance.node
                    ),
                );
            }
        }
        let event = SimEvent::DeletedLocally {
            key: instance.key.clone(),
            assignment: instance.assignment,
            node: instance.node,
        };
        self.push(&mut state, event);
    }

    fn record_report(&self, node: usize, report: &Report<String>) {
        let mut state = self.lock();
        if report.proposals > self.max_attempts {
            self.note(
                &mut state,
                format!(
                    "{}: one run made {} proposals (max {})",
                    report.key, report.proposals, self.max_attempts
                ),
            );
        }
        self.push(
            &mut state,
            SimEvent::Finished {
                node,
                report: report.clone(),
            },
        );
    }

    /// The contract breaches seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Everything that happened, with the time in milliseconds.
    pub fn history(&self) -> Vec<(u64, SimEvent)> {
        self.lock().history.clone()
    }

    /// Ghosts: consumers still alive (an open instance anywhere, or an
    /// assignment still held) — call once the metalayer has been healthy and
    /// nobody touched anything for long enough.
    pub fn ghosts(&self) -> Vec<String> {
        let state = self.lock();
        let mut ghosts: Vec<String> = state
            .instances
            .iter()
            .filter(|i| !i.is_closed())
            .map(|i| format!("{} {:?} open on node {}", i.key, i.assignment, i.node))
            .collect();
        if state.clustered {
            ghosts.extend(state.assignments.iter().map(|(key, a)| {
                let closed = if state.closed_externally.contains(a) {
                    " (its leader's instance closed without quit)"
                } else {
                    ""
                };
                format!("{key} {a} still assigned{closed}")
            }));
        }
        ghosts.sort();
        ghosts
    }

    /// Reapers' counters, per live node.
    pub fn stats(&self) -> Vec<crate::Stats> {
        self.lock()
            .nodes
            .iter()
            .filter_map(|n| n.reaper.as_ref().map(|r| r.stats()))
            .collect()
    }

    /// Instances referenced by anything but the cluster's own bookkeeping:
    /// after shutdown, no reaper task or entry may still hold one.
    pub fn instances_held_elsewhere(&self) -> usize {
        let state = self.lock();
        let is_current = |i: &SimConsumer| {
            state.consumers.get(&i.key).is_some_and(|m| {
                let current = m.instances.get(i.node);
                current.is_some_and(|c| c.serial == i.serial)
            })
        };
        // Held by `instances` and `by_assignment`, and `consumers` if current.
        state
            .instances
            .iter()
            .filter(|i| Arc::strong_count(i) > 2 + usize::from(is_current(i)))
            .count()
    }

    /// The instance `node` made for `assignment` (also after a re-creation).
    pub fn instance_of(&self, assignment: AssignmentId, node: usize) -> Option<Arc<SimConsumer>> {
        self.lock()
            .by_assignment
            .get(&assignment)
            .and_then(|all| all.iter().find(|i| i.node == node).cloned())
    }

    /// The current instance of `key` on `node`.
    pub fn instance(&self, key: &str, node: usize) -> Option<Arc<SimConsumer>> {
        self.lock()
            .consumers
            .get(key)
            .map(|m| m.instances[node].clone())
    }

    pub fn current_assignment(&self, key: &str) -> Option<AssignmentId> {
        self.lock().assignments.get(key).copied()
    }

    /// Outcomes of finished runs for `key`, in order.
    pub fn outcomes(&self, key: &str) -> Vec<Outcome> {
        self.lock()
            .history
            .iter()
            .filter_map(|(_, e)| match e {
                SimEvent::Finished { report, .. } if report.key == key => {
                    Some(report.outcome.clone())
                }
                _ => None,
            })
            .collect()
    }
}

/// `preferred` if its reaper runs, else the next node whose reaper does.
fn live_node(state: &State, preferred: usize) -> usize {
    let count = state.nodes.len();
    (0..count)
        .map(|step| (preferred + step) % count)
        .find(|&n| state.nodes[n].reaper.is_some())
        .unwrap_or(preferred % count.max(1))
}

/// The metalayer's apply loop: applies commits when they are due and the
/// metalayer is ready.
async fn apply_loop(cluster: Weak<SimCluster>, stop: CancellationToken) {
    let timer = sleep_until(Instant::now() + Duration::from_secs(3600));
    tokio::pin!(timer);
    loop {
        let Some(sim) = cluster.upgrade() else { break };
        let next = sim.apply_due_commits();
        let wake = match next {
            Some(at_ms) => sim.epoch + Duration::from_millis(at_ms),
            None => Instant::now() + Duration::from_secs(3600),
        };
        timer.as_mut().reset(wake);
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = sim.wake_apply.notified() => {}
            () = &mut timer => {}
        }
    }
}
