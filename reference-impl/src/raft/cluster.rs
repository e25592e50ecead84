//! An in-process raft cluster of broker nodes, each with its own reaper.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::{Raft, SnapshotPolicy};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::metalayer::RaftMetalayer;
use super::network::{Network, Router};
use super::store::{LogStore, StateMachine};
use super::{Applied, Command, TypeConfig};
use crate::broker::{AssignmentId, Metalayer};
use crate::config::Config;
use crate::node::{Journal, Node};

/// How to build an in-process raft cluster.
#[derive(Clone, Debug)]
pub struct RaftSetup {
    pub nodes: usize,
    /// Every node's reaper.
    pub reaper: Config,
    pub heartbeat: Duration,
    /// Followers start an election after a random wait in this range.
    pub election_timeout: (Duration, Duration),
    /// How often the leader confirms its leadership with a quorum (its
    /// readiness), and how long it waits for that.
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    /// How long a forwarded delete proposal waits for its commit.
    pub proposal_timeout: Duration,
    /// How long [`RaftCluster::write`] keeps trying to commit.
    pub write_timeout: Duration,
    /// Build a snapshot (and purge the log) after this many entries.
    pub snapshot_after: u64,
    /// Events the nodes' shared journal keeps (the latest ones; its hook
    /// still sees every one): bounded, so a long-running cluster's journal
    /// does not grow without end.
    pub journal_events: usize,
    /// Deliberate bugs in every node's reaper (tests only).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub faults: crate::faults::ReaperFaults,
}

impl RaftSetup {
    /// `nodes` nodes with timings for a single machine: elections in a few
    /// hundred milliseconds.
    pub fn new(nodes: usize, reaper: Config) -> RaftSetup {
        RaftSetup {
            nodes,
            reaper,
            heartbeat: Duration::from_millis(50),
            election_timeout: (Duration::from_millis(300), Duration::from_millis(600)),
            probe_interval: Duration::from_millis(100),
            probe_timeout: Duration::from_millis(300),
            proposal_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            snapshot_after: 5000,
            journal_events: 100_000,
            #[cfg(feature = "fault-injection")]
            faults: crate::faults::ReaperFaults::NONE,
        }
    }
}

/// Why the cluster could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftClusterError {
    /// openraft refused the configuration or the initial membership.
    Start(String),
    /// No leader committed the command within the write timeout.
    NotCommitted { command: String, last_error: String },
    /// The command committed with an unexpected result.
    Unexpected(Applied),
}

impl fmt::Display for RaftClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftClusterError::Start(why) => write!(f, "cannot start the raft cluster: {why}"),
            RaftClusterError::NotCommitted {
                command,
                last_error,
            } => write!(
                f,
                "{command} was not committed in time (last error: {last_error})"
            ),
            RaftClusterError::Unexpected(applied) => {
                write!(f, "unexpected result of a committed command: {applied:?}")
            }
        }
    }
}

impl std::error::Error for RaftClusterError {}

/// One raft node with its broker node.
struct Member {
    raft: Raft<TypeConfig>,
    node: Arc<Node<RaftMetalayer>>,
    metalayer: Arc<RaftMetalayer>,
    stop: CancellationToken,
    follower: Mutex<Option<JoinHandle<()>>>,
    up: AtomicBool,
}

/// Raft nodes in one process over an in-process network, each a broker node
/// with its own reaper, all recording into one [`Journal`].
pub struct RaftCluster {
    journal: Journal,
    router: Arc<Router>,
    members: Vec<Member>,
    write_timeout: Duration,
}

impl RaftCluster {
    /// Starts the nodes on the current runtime, initializes the membership
    /// with all of them and waits until a leader can commit.
    pub async fn start(setup: RaftSetup) -> Result<RaftCluster, RaftClusterError> {
        let start_error = |e: &dyn fmt::Display| RaftClusterError::Start(e.to_string());
        let config = openraft::Config {
            cluster_name: "quorum-reaper".to_owned(),
            heartbeat_interval: millis(setup.heartbeat),
            election_timeout_min: millis(setup.election_timeout.0),
            election_timeout_max: millis(setup.election_timeout.1),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(setup.snapshot_after),
            max_in_snapshot_log_to_keep: 0,
            ..openraft::Config::default()
        }
        .validate()
        .map_err(|e| start_error(&e))?;
        let config = Arc::new(config);
        let router = Arc::new(Router::default());
        let journal = Journal::bounded(setup.journal_events);
        let mut members = Vec::new();
        for index in 0..setup.nodes.max(1) {
            let id = index as u64;
            let node = Node::new(index, journal.clone());
            let machine = StateMachine::new(node.listener());
            let network = Network {
                from: id,
                router: router.clone(),
                backoff: setup.heartbeat,
            };
            let raft = Raft::new(
                id,
                config.clone(),
                network,
                LogStore::default(),
                machine.clone(),
            )
            .await
            .map_err(|e| start_error(&e))?;
            router.add(id, raft.clone());
            let metalayer = Arc::new(RaftMetalayer::new(
                id,
                raft.clone(),
                machine,
                setup.proposal_timeout,
            ));
            #[cfg(not(feature = "fault-injection"))]
            node.start(metalayer.clone(), setup.reaper.clone());
            #[cfg(feature = "fault-injection")]
            node.start_with_faults(metalayer.clone(), setup.reaper.clone(), setup.faults);
            let stop = CancellationToken::new();
            let follower = tokio::spawn(follow_leadership(
                metalayer.clone(),
                raft.clone(),
                node.clone(),
                stop.clone(),
                (setup.probe_interval, setup.probe_timeout),
            ));
            members.push(Member {
                raft,
                node,
                metalayer,
                stop,
                follower: Mutex::new(Some(follower)),
                up: AtomicBool::new(true),
            });
        }
        let voters: BTreeSet<u64> = (0..members.len() as u64).collect();
        members[0]
            .raft
            .initialize(voters)
            .await
            .map_err(|e| start_error(&e))?;
        let cluster = RaftCluster {
            journal,
            router,
            members,
            write_timeout: setup.write_timeout,
        };
        if cluster.wait_for_leader(setup.write_timeout).await.is_none() {
            return Err(RaftClusterError::Start("no leader elected".to_owned()));
        }
        Ok(cluster)
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Broker node `index` (its instances, its reaper).
    pub fn node(&self, index: usize) -> &Arc<Node<RaftMetalayer>> {
        &self.members[index].node
    }

    /// Node `index`'s view of the metalayer.
    pub fn metalayer(&self, index: usize) -> &Arc<RaftMetalayer> {
        &self.members[index].metalayer
    }

    pub fn is_up(&self, index: usize) -> bool {
        self.members[index].up.load(Ordering::Acquire)
    }

    /// The live node that leads the raft cluster (the one with the highest
    /// term, if an isolated old leader still believes it leads).
    pub fn leader(&self) -> Option<usize> {
        (0..self.members.len())
            .filter(|&i| self.is_up(i) && self.members[i].metalayer.leads())
            .max_by_key(|&i| self.members[i].raft.metrics().borrow().current_term)
    }

    /// Waits until a live leader has confirmed its leadership with a quorum.
    pub async fn wait_for_leader(&self, within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        loop {
            let ready = self
                .leader()
                .filter(|&i| self.members[i].metalayer.is_ready());
            if ready.is_some() || Instant::now() >= deadline {
                return ready;
            }
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Commits `command` through the current leader, retrying while there
    /// is none (for up to the setup's write timeout).
    pub async fn write(&self, command: Command) -> Result<Applied, RaftClusterError> {
        let deadline = Instant::now() + self.write_timeout;
        let mut last_error = "no leader".to_owned();
        loop {
            if let Some(leader) = self.leader() {
                let left = deadline.saturating_duration_since(Instant::now());
                let write = self.members[leader].raft.client_write(command.clone());
                match timeout(left, write).await {
                    Ok(Ok(reply)) => return Ok(reply.data),
                    Ok(Err(error)) => last_error = error.to_string(),
                    Err(_) => last_error = "timed out".to_owned(),
                }
            }
            if Instant::now() >= deadline {
                return Err(RaftClusterError::NotCommitted {
                    command: format!("{command:?}"),
                    last_error,
                });
            }
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Creates consumer `key` (or re-creates it: a new identity) and returns
    /// the identity of its assignment.
    pub async fn create_consumer(
        &self,
        key: &str,
        inactive_threshold: Duration,
    ) -> Result<AssignmentId, RaftClusterError> {
        let command = Command::Assign {
            key: key.to_owned(),
            inactive_threshold_ms: millis(inactive_threshold),
        };
        match self.write(command).await? {
            Applied::Assigned(assignment) => Ok(assignment),
            other => Err(RaftClusterError::Unexpected(other)),
        }
    }

    /// The identity of `key`'s assignment as the leader applied it.
    pub fn assignment(&self, key: &str) -> Option<AssignmentId> {
        let key = key.to_owned();
        self.leader()
            .and_then(|leader| self.members[leader].metalayer.assignment(&key))
    }

    /// Activity on `key`, seen by every node that tracks it (an isolated
    /// old leader may still). Returns whether any does.
    pub fn touch(&self, key: &str) -> bool {
        let mut touched = false;
        for index in (0..self.members.len()).filter(|&i| self.is_up(i)) {
            touched |= self.members[index].node.touch(key);
        }
        touched
    }

    /// Cuts node `index` off from the others (both directions).
    pub fn isolate(&self, index: usize) {
        self.router.isolate(index as u64);
    }

    /// Cuts every link: no node can reach a quorum, the metalayer is down.
    pub fn isolate_all(&self) {
        self.router.isolate_all();
    }

    /// Node `index`'s new log entries stop reaching the others (heartbeats
    /// still do): what it appends stays uncommitted.
    pub fn stall_replication(&self, index: usize) {
        self.router.stall(index as u64);
    }

    /// Node `index`'s new log entries reach node `to` only, and `to`'s
    /// answers are lost: `to` appends them, `index` never learns it. On
    /// three nodes such an entry is on a majority, uncommitted as far as its
    /// leader knows; if the leader dies, `to` (the longest log) is elected
    /// and commits it in its own term.
    pub fn replicate_unacknowledged(&self, index: usize, to: usize) {
        self.router
            .replicate_unacknowledged(index as u64, to as u64);
    }

    /// Node `index`'s log as its raft reports it: the index of its last
    /// entry and of the last one it applied (committed).
    pub fn log_position(&self, index: usize) -> (Option<u64>, Option<u64>) {
        let metrics = self.members[index].raft.metrics();
        let metrics = metrics.borrow();
        (
            metrics.last_log_index,
            metrics.last_applied.map(|log_id| log_id.index),
        )
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.router.heal();
    }

    /// Node `index` dies: unreachable at once, its reaper shut down (nothing
    /// it ran outlives this), its instances stopped, its raft shut down.
    pub async fn kill(&self, index: usize) {
        let member = &self.members[index];
        if !member.up.swap(false, Ordering::AcqRel) {
            return;
        }
        self.router.remove(index as u64);
        member.stop.cancel();
        let follower = member
            .follower
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(follower) = follower {
            if let Err(error) = follower.await {
                tracing::error!(node = index, %error, "raft leadership follower ended abnormally");
            }
        }
        member.metalayer.set_ready(false);
        member.node.shut_down().await;
        member.metalayer.abort_proposals();
        if let Err(error) = member.raft.shutdown().await {
            tracing::error!(node = index, %error, "raft node did not shut down cleanly");
        }
    }

    /// Shuts every live node down and waits for all of them.
    pub async fn shutdown(&self) {
        for index in 0..self.members.len() {
            self.kill(index).await;
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Keeps a node's leadership of its consumers and its readiness in step with
/// raft: consumers follow the raft leader, and the leader is ready while a
/// quorum confirms it (probed every `probe.0`, waiting up to `probe.1`).
async fn follow_leadership(
    metalayer: Arc<RaftMetalayer>,
    raft: Raft<TypeConfig>,
    node: Arc<Node<RaftMetalayer>>,
    stop: CancellationToken,
    probe: (Duration, Duration),
) {
    let mut metrics = raft.metrics();
    let next_probe = sleep_until(Instant::now());
    tokio::pin!(next_probe);
    loop {
        let leads = metalayer.leads();
        node.set_metalayer_leader(leads);
        if !leads {
            metalayer.set_ready(false);
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            changed = metrics.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = &mut next_probe => {
                let confirmed = leads
                    && matches!(timeout(probe.1, raft.ensure_linearizable()).await, Ok(Ok(_)));
                metalayer.set_ready(confirmed && metalayer.leads());
                next_probe.as_mut().reset(Instant::now() + probe.0);
            }
        }
    }
}
