//! One conformance suite for every metalayer backend.
//!
//! A backend implements [`Backend`] (a 3-node clustered deployment, its
//! faults, and a record of what happened) and instantiates the suite with
//! [`conformance_suite!`]: the simulated metalayer (`conformance_sim.rs`),
//! the openraft one (`raft.rs`) and the etcd one (`etcd.rs`) run the same
//! scenarios and the same invariant checks.
//!
//! Every scenario ends with the reaper's invariants (issue 4), checked over
//! the backend's records:
//! 1. a consumer instance is deleted locally only once the metalayer has
//!    committed the removal of its assignment;
//! 2. no run makes more than `max_attempts` proposals;
//! 3. no node proposes deleting an assignment whose removal it has applied;
//! 4. a proposal only targets a consumer idle past its threshold;
//! 5. after shutdown nothing still holds a consumer;
//!
//! plus whatever the backend checks on its own (the simulation's checks).
//! "No ghost" and compare-and-delete are each scenario's own assertions.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use quorum_reaper::{AssignmentId, Config, Outcome, RearmReason, Report};
use tokio::time::{sleep, Instant};
use tracing::Level;

use crate::support::Capture;

#[cfg(feature = "node")]
mod journal;
#[cfg(feature = "node")]
#[allow(unused_imports)] // not every test target reads a journal
pub use journal::journal_records;

/// Every consumer's inactivity threshold in the suite.
pub const THRESHOLD: Duration = Duration::from_secs(1);
/// How long a scenario waits for something that must happen.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// The creating call's own latency: the reaper's clock for a new consumer
/// starts when its node applies the assignment, a little before `create`
/// returns.
const CREATE_SLACK: Duration = Duration::from_millis(150);

/// The reaper's settings in every scenario: sub-second backoffs so the real
/// backends finish in seconds.
pub fn suite_config() -> Config {
    Config {
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
        max_attempts: 8,
        unavailable_recheck: Duration::from_millis(250),
        max_in_flight: 64,
        max_local_deletes: 16,
        proposals_per_second: 1000,
        proposal_burst: 100,
        warnings_per_window: 5,
        warning_window: Duration::from_secs(5),
    }
}

/// What happened, as the suite checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A node's reaper proposed deleting `assignment`.
    Proposed {
        node: usize,
        key: String,
        assignment: AssignmentId,
    },
    /// The metalayer's removal of `assignment` was applied on `node` (`None`:
    /// on every node at once, as in the simulation).
    Removed {
        node: Option<usize>,
        key: String,
        assignment: AssignmentId,
    },
    /// An instance was deleted locally, without the metalayer.
    DeletedLocally {
        node: usize,
        key: String,
        assignment: Option<AssignmentId>,
    },
    /// A run of a node's gated delete ended.
    Finished { node: usize, report: Report<String> },
}

/// A clustered deployment of three broker nodes over one metalayer backend.
#[allow(async_fn_in_trait)]
pub trait Backend: Sized {
    /// Starts it with every reaper on `config`; `None` when the backend is
    /// not available here (and it may be skipped: it said why).
    async fn start(config: Config) -> Option<Self>;
    /// Creates consumer `key`, or re-creates it under a new identity.
    async fn create(&self, key: &str, threshold: Duration) -> AssignmentId;
    /// Activity on `key`, seen by its leader.
    fn touch(&self, key: &str);
    /// The metalayer's current assignment for `key`, once it can answer.
    async fn assignment(&self, key: &str) -> Option<AssignmentId>;
    /// Node `node`'s current instance of `key`: its identity, and whether it is open.
    fn instance(&self, key: &str, node: usize) -> Option<(AssignmentId, bool)>;
    /// The nodes still running.
    fn live_nodes(&self) -> Vec<usize>;
    /// Takes the metalayer down (no quorum) or brings it back; returns once
    /// the nodes see the change.
    async fn set_available(&self, available: bool);
    /// From now on delete proposals stay in flight: they are taken but not
    /// committed until [`release_proposals`](Backend::release_proposals).
    async fn hold_proposals(&self);
    async fn release_proposals(&self);
    /// The metalayer's leader fails.
    async fn fail_metalayer_leader(&self);
    /// Everything recorded so far, in order.
    fn records(&self) -> Vec<(Instant, Record)>;
    /// Contract breaches the backend detected on its own.
    fn violations(&self) -> Vec<String>;
    /// Shuts every node down and waits for them; returns how many consumer
    /// instances something other than the broker still holds.
    async fn shutdown(&self) -> usize;
}

/// One scenario's deployment plus what the suite did to it (creations and
/// touches, for the idleness invariant).
pub struct Run<B> {
    pub backend: B,
    config: Config,
    created: HashMap<AssignmentId, Instant>,
    touched: HashMap<String, Vec<Instant>>,
    shut_down: Option<usize>,
}

impl<B: Backend> Run<B> {
    pub async fn start() -> Option<Run<B>> {
        Some(Run::with_backend(B::start(suite_config()).await?))
    }

    /// A run over a backend started on [`suite_config`] some other way.
    pub fn with_backend(backend: B) -> Run<B> {
        Run {
            backend,
            config: suite_config(),
            created: HashMap::new(),
            touched: HashMap::new(),
            shut_down: None,
        }
    }

    pub async fn create(&mut self, key: &str) -> AssignmentId {
        let assignment = self.backend.create(key, THRESHOLD).await;
        self.created.insert(assignment, Instant::now());
        assignment
    }

    pub fn touch(&mut self, key: &str) {
        self.backend.touch(key);
        self.touched
            .entry(key.to_owned())
            .or_default()
            .push(Instant::now());
    }

    /// Touches `key` every quarter threshold for `span`.
    pub async fn keep_active(&mut self, key: &str, span: Duration) {
        let until = Instant::now() + span;
        while Instant::now() < until {
            self.touch(key);
            sleep(THRESHOLD / 4).await;
        }
    }

    /// The consumer's assignment is gone and no live node has it open.
    pub async fn is_gone(&self, key: &str, assignment: AssignmentId) -> bool {
        let open = self.backend.live_nodes().into_iter().any(|node| {
            self.backend
                .instance(key, node)
                .is_some_and(|(id, open)| open && id == assignment)
        });
        !open && self.backend.assignment(key).await != Some(assignment)
    }

    /// Every live node has `assignment`'s instance open, and the metalayer holds it.
    pub async fn is_alive_everywhere(&self, key: &str, assignment: AssignmentId) -> bool {
        let everywhere = self
            .backend
            .live_nodes()
            .into_iter()
            .all(|node| self.backend.instance(key, node) == Some((assignment, true)));
        everywhere && self.backend.assignment(key).await == Some(assignment)
    }

    pub fn proposed(&self, key: &str, assignment: AssignmentId) -> bool {
        self.backend.records().iter().any(|(_, r)| {
            matches!(r, Record::Proposed { key: k, assignment: a, .. } if k == key && *a == assignment)
        })
    }

    pub fn outcomes(&self, key: &str) -> Vec<Outcome> {
        self.backend
            .records()
            .into_iter()
            .filter_map(|(_, r)| match r {
                Record::Finished { report, .. } if report.key == key => Some(report.outcome),
                _ => None,
            })
            .collect()
    }

    pub fn local_deletes(&self, key: &str) -> usize {
        self.backend
            .records()
            .iter()
            .filter(|(_, r)| matches!(r, Record::DeletedLocally { key: k, .. } if k == key))
            .count()
    }

    pub fn removals(&self, key: &str, assignment: AssignmentId) -> usize {
        self.backend
            .records()
            .iter()
            .filter(|(_, r)| matches!(r, Record::Removed { key: k, assignment: a, .. } if k == key && *a == assignment))
            .count()
    }

    /// Waits until `condition` holds, or fails the scenario with the records.
    pub async fn eventually<F, Fut>(&self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + PATIENCE;
        while !condition().await {
            if Instant::now() >= deadline {
                panic!("not within {PATIENCE:?}: {what}\nrecords:\n{}", self.dump());
            }
            sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn dump(&self) -> String {
        let start = self
            .backend
            .records()
            .first()
            .map(|(at, _)| *at)
            .unwrap_or_else(Instant::now);
        self.backend
            .records()
            .iter()
            .map(|(at, r)| format!("  +{:>6}ms {r:?}", (*at - start).as_millis()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn shutdown(&mut self) {
        if self.shut_down.is_none() {
            self.shut_down = Some(self.backend.shutdown().await);
        }
    }

    /// Shuts down (if not yet) and checks the invariants.
    pub async fn finish(mut self) {
        self.shutdown().await;
        let mut breaches = self.backend.violations();
        breaches.extend(self.invariant_breaches());
        assert!(
            breaches.is_empty(),
            "invariants broken:\n{}\nrecords:\n{}",
            breaches.join("\n"),
            self.dump()
        );
    }

    fn invariant_breaches(&self) -> Vec<String> {
        let records = self.backend.records();
        let mut breaches = Vec::new();
        if let Some(held) = self.shut_down.filter(|&held| held > 0) {
            breaches.push(format!(
                "{held} consumer instances still held after shutdown"
            ));
        }
        for (i, (at, record)) in records.iter().enumerate() {
            let before = &records[..i];
            match record {
                Record::DeletedLocally {
                    node,
                    key,
                    assignment,
                } => {
                    let committed = assignment.is_some_and(|a| {
                        before.iter().any(
                            |(_, r)| matches!(r, Record::Removed { assignment: b, .. } if *b == a),
                        )
                    });
                    if !committed {
                        breaches.push(format!(
                            "{key} {assignment:?} deleted locally on node {node} before the metalayer committed its removal"
                        ));
                    }
                }
                Record::Finished { node, report } => {
                    if report.proposals > self.config.max_attempts {
                        breaches.push(format!(
                            "node {node}: one run for {} made {} proposals (max {})",
                            report.key, report.proposals, self.config.max_attempts
                        ));
                    }
                }
                Record::Proposed {
                    node,
                    key,
                    assignment,
                } => {
                    let removed_here = before.iter().any(|(_, r)| {
                        matches!(r, Record::Removed { node: seen_by, assignment: a, .. }
                            if a == assignment && seen_by.is_none_or(|n| n == *node))
                    });
                    if removed_here {
                        breaches.push(format!(
                            "node {node} proposed deleting {key} {assignment} after applying its removal"
                        ));
                    }
                    if let Some(active) = self.last_activity(key, *assignment, *at) {
                        if *at + CREATE_SLACK < active + THRESHOLD {
                            breaches.push(format!(
                                "node {node} proposed deleting {key} {assignment} {}ms after its last activity (threshold {}ms)",
                                (*at - active).as_millis(),
                                THRESHOLD.as_millis()
                            ));
                        }
                    }
                }
                Record::Removed { .. } => {}
            }
        }
        breaches
    }

    /// The latest activity the suite caused on `assignment` before `at`: its
    /// creation or a touch of its key.
    fn last_activity(&self, key: &str, assignment: AssignmentId, at: Instant) -> Option<Instant> {
        let created = *self.created.get(&assignment)?;
        let touched = self
            .touched
            .get(key)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&t| t >= created && t <= at)
            .max();
        Some(touched.unwrap_or(created).max(created))
    }
}

// ----- the scenarios ----------------------------------------------------------

/// An idle consumer is proposed for deletion and deleted when the commit
/// stops it on every node; a busy one stays.
pub async fn idle_consumer_is_reaped_through_the_metalayer<B: Backend>(mut run: Run<B>) {
    let idle = run.create("idle").await;
    let busy = run.create("busy").await;
    run.keep_active("busy", THRESHOLD * 2).await;
    run.eventually("the idle consumer is gone everywhere", || {
        run.is_gone("idle", idle)
    })
    .await;
    assert!(
        run.is_alive_everywhere("busy", busy).await,
        "the busy consumer was reaped:\n{}",
        run.dump()
    );
    assert!(
        run.removals("idle", idle) > 0,
        "not removed by the metalayer"
    );
    assert_eq!(
        run.local_deletes("idle"),
        0,
        "deleted locally in clustered mode"
    );
    assert!(
        run.outcomes("idle").contains(&Outcome::DeletedByMetalayer),
        "{:?}",
        run.outcomes("idle")
    );
    run.finish().await;
}

/// The metalayer loses its quorum when the threshold passes: the reaper
/// warns and re-arms (no silent return, no delete), and reaps once it is back.
pub async fn metalayer_unavailable_warns_rearms_and_reaps_once_back<B: Backend>(mut run: Run<B>) {
    let (logs, _recording) = Capture::install_up_to(Level::WARN, false);
    let c = run.create("c").await;
    run.backend.set_available(false).await;
    // Active until the outage began: it becomes idle during it.
    run.touch("c");
    sleep(THRESHOLD * 3).await;

    let live = run.backend.live_nodes();
    assert!(
        live.iter()
            .all(|&node| run.backend.instance("c", node) == Some((c, true))),
        "deleted during the outage:\n{}",
        run.dump()
    );
    assert_eq!(run.removals("c", c), 0, "removed during the outage");
    let rearmed = run
        .outcomes("c")
        .iter()
        .filter(|o| {
            **o == Outcome::Rearmed {
                reason: RearmReason::MetalayerUnavailable,
            }
        })
        .count();
    assert!(
        rearmed >= 2,
        "re-checks with backoff: {:?}",
        run.outcomes("c")
    );
    let warned = logs
        .at(Level::WARN)
        .into_iter()
        .any(|e| e.field("consumer") == Some("c") && e.field("outcome") == Some("rearmed"));
    assert!(warned, "the outage must not be silent: {:?}", logs.events());

    run.backend.set_available(true).await;
    run.eventually("the consumer is reaped once the metalayer is back", || {
        run.is_gone("c", c)
    })
    .await;
    assert_eq!(run.local_deletes("c"), 0);
    run.finish().await;
}

/// A consumer re-created under the same name while the old one's delete is
/// in flight: the late delete of the old identity commits after the
/// re-creation and must not delete the new consumer (compare-and-delete).
pub async fn consumer_recreated_while_its_delete_waits_survives<B: Backend>(mut run: Run<B>) {
    run.backend.hold_proposals().await;
    let old = run.create("c").await;
    run.eventually("the old consumer's delete is proposed", || {
        std::future::ready(run.proposed("c", old))
    })
    .await;
    let new = run.create("c").await;
    assert_ne!(old, new, "a re-creation has a new identity");
    run.backend.release_proposals().await;
    // The late delete commits now; the new consumer stays in use meanwhile.
    run.keep_active("c", THRESHOLD * 2).await;

    assert!(
        run.is_alive_everywhere("c", new).await,
        "the re-created consumer was deleted by the old one's delete:\n{}",
        run.dump()
    );
    for node in run.backend.live_nodes() {
        assert_eq!(run.backend.instance("c", node), Some((new, true)));
    }
    assert!(run.removals("c", old) > 0, "the old assignment was removed");
    assert_eq!(run.local_deletes("c"), 0, "nothing deleted locally");
    run.finish().await;
}

/// The metalayer's leader fails while a delete waits for its commit: the
/// consumer is still reaped, through the metalayer, and nothing is left.
pub async fn metalayer_leader_fails_while_a_delete_waits<B: Backend>(mut run: Run<B>) {
    run.backend.hold_proposals().await;
    let c = run.create("c").await;
    run.eventually("the delete is proposed", || {
        std::future::ready(run.proposed("c", c))
    })
    .await;
    run.backend.fail_metalayer_leader().await;
    run.backend.release_proposals().await;
    run.eventually("the consumer is reaped after the leader failure", || {
        run.is_gone("c", c)
    })
    .await;
    assert!(run.removals("c", c) > 0, "not removed by the metalayer");
    assert_eq!(run.local_deletes("c"), 0, "deleted locally");
    run.finish().await;
}

/// Shutting down while a delete waits deletes nothing and leaves nothing
/// running.
pub async fn shutdown_while_a_delete_waits_deletes_nothing<B: Backend>(mut run: Run<B>) {
    run.backend.hold_proposals().await;
    let c = run.create("c").await;
    run.eventually("the delete is proposed", || {
        std::future::ready(run.proposed("c", c))
    })
    .await;
    run.shutdown().await;
    assert!(
        run.outcomes("c").contains(&Outcome::StoppedShutdown),
        "{:?}",
        run.outcomes("c")
    );
    assert_eq!(run.removals("c", c), 0, "removed although never committed");
    assert_eq!(run.local_deletes("c"), 0);
    run.finish().await;
}

/// Instantiates every scenario for one backend, as `#[tokio::test]`s with
/// the given runtime arguments; a backend that is not available here (its
/// `start` said why) runs none of them.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ty $(, $runtime:meta)*) => {
        #[tokio::test($($runtime),*)]
        async fn idle_consumer_is_reaped_through_the_metalayer() {
            if let Some(run) = conformance::Run::<$backend>::start().await {
                conformance::idle_consumer_is_reaped_through_the_metalayer(run).await;
            }
        }

        #[tokio::test($($runtime),*)]
        async fn metalayer_unavailable_warns_rearms_and_reaps_once_back() {
            if let Some(run) = conformance::Run::<$backend>::start().await {
                conformance::metalayer_unavailable_warns_rearms_and_reaps_once_back(run).await;
            }
        }

        #[tokio::test($($runtime),*)]
        async fn consumer_recreated_while_its_delete_waits_survives() {
            if let Some(run) = conformance::Run::<$backend>::start().await {
                conformance::consumer_recreated_while_its_delete_waits_survives(run).await;
            }
        }

        #[tokio::test($($runtime),*)]
        async fn metalayer_leader_fails_while_a_delete_waits() {
            if let Some(run) = conformance::Run::<$backend>::start().await {
                conformance::metalayer_leader_fails_while_a_delete_waits(run).await;
            }
        }

        #[tokio::test($($runtime),*)]
        async fn shutdown_while_a_delete_waits_deletes_nothing() {
            if let Some(run) = conformance::Run::<$backend>::start().await {
                conformance::shutdown_while_a_delete_waits_deletes_nothing(run).await;
            }
        }
    };
}
