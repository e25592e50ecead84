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
//! 3. no node proposes deleting an assignment whose removal it has applied,
//!    nor for an instance it has deleted locally (a proposal for a closed
//!    instance: on the real backends an instance closes only by the removal,
//!    a local delete or its node's shutdown);
//! 4. a proposal only targets a consumer idle past its threshold;
//! 5. no node proposes once its reaper began shutting down, and after
//!    shutdown nothing still holds a consumer;
//!
//! plus whatever the backend checks on its own (the simulation's checks).
//! "No ghost" and compare-and-delete are each scenario's own assertions.
//! The last scenarios run a reaper broken on purpose (`ReaperFault`) and
//! assert that these checks report it, on every backend.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use quorum_reaper::{
    AssignmentId, Config, Outcome, ReaperFault, ReaperFaults, RearmReason, Report,
};
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
    /// `node`'s reaper began shutting down.
    ShuttingDown { node: usize },
}

/// A clustered deployment of three broker nodes over one metalayer backend.
#[allow(async_fn_in_trait)]
pub trait Backend: Sized {
    /// Starts it with every reaper on `config`, with `faults` switched on
    /// (`ReaperFaults::NONE`: the shipped reaper); `None` when the backend is
    /// not available here (and it may be skipped: it said why).
    async fn start(config: Config, faults: ReaperFaults) -> Option<Self>;
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
    /// Broker node `node` shuts down (its reaper first, waiting for it, then
    /// its instances) while the metalayer stays up.
    async fn shut_down_node(&self, node: usize);
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
        Run::start_broken(suite_config(), ReaperFaults::NONE).await
    }

    /// A run whose reapers have `config` and deliberate bugs.
    pub async fn start_broken(config: Config, faults: ReaperFaults) -> Option<Run<B>> {
        let backend = B::start(config.clone(), faults).await?;
        Some(Run {
            config,
            ..Run::with_backend(backend)
        })
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
    pub async fn finish(self) {
        let (breaches, run) = self.breaches().await;
        assert!(
            breaches.is_empty(),
            "invariants broken:\n{}\nrecords:\n{}",
            breaches.join("\n"),
            run.dump()
        );
    }

    /// Shuts down (if not yet) and returns the invariants' breaches.
    pub async fn breaches(mut self) -> (Vec<String>, Run<B>) {
        self.shutdown().await;
        let mut breaches = self.backend.violations();
        breaches.extend(self.invariant_breaches());
        (breaches, self)
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
                    let deleted_here = before.iter().any(|(_, r)| {
                        matches!(r, Record::DeletedLocally { node: n, assignment: Some(a), .. }
                            if a == assignment && n == node)
                    });
                    if deleted_here {
                        breaches.push(format!(
                            "node {node} proposed deleting {key} {assignment}, an instance it had already deleted locally (closed)"
                        ));
                    }
                    let stopping = before
                        .iter()
                        .any(|(_, r)| matches!(r, Record::ShuttingDown { node: n } if n == node));
                    if stopping {
                        breaches.push(format!(
                            "node {node} proposed deleting {key} {assignment} after its reaper shut down"
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
                Record::Removed { .. } | Record::ShuttingDown { .. } => {}
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
    // Every node holds the consumer before the outage: a node whose watch
    // had not yet delivered the creation would not learn of it until the
    // metalayer is back, which is not what this scenario is about.
    run.eventually("the consumer is open on every node", || {
        run.is_alive_everywhere("c", c)
    })
    .await;
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

// ----- the same checks on a reaper broken on purpose -------------------------
//
// Each script runs twice: on the shipped reaper, where the checks must find
// nothing, and with one deliberate bug, where the check guarding against it
// must report it.

/// Runs `script` on the shipped reaper (no breach allowed) and with
/// `faults` (a breach containing each of `expected` required).
async fn caught<B, S>(config: Config, faults: ReaperFaults, expected: &[&str], script: S)
where
    B: Backend,
    S: AsyncFn(&mut Run<B>),
{
    for broken in [false, true] {
        let with = if broken { faults } else { ReaperFaults::NONE };
        let Some(mut run) = Run::<B>::start_broken(config.clone(), with).await else {
            return;
        };
        script(&mut run).await;
        let (breaches, run) = run.breaches().await;
        if !broken {
            assert!(
                breaches.is_empty(),
                "the shipped reaper fails the script meant for {faults:?}: {breaches:#?}\nrecords:\n{}",
                run.dump()
            );
            continue;
        }
        for expected in expected {
            assert!(
                breaches.iter().any(|b| b.contains(expected)),
                "{faults:?} not caught (expected a breach containing {expected:?}): {breaches:#?}\nrecords:\n{}",
                run.dump()
            );
        }
    }
}

/// A reaper that deletes the instance locally right before proposing its
/// delete: the local delete comes before the commit, and its retry proposes
/// for the instance it already closed.
pub async fn a_local_delete_before_the_commit_is_caught<B: Backend>() {
    caught::<B, _>(
        suite_config(),
        ReaperFaults::of(&[ReaperFault::DeleteBeforeCommit]),
        &[
            "before the metalayer committed its removal",
            "an instance it had already deleted locally",
        ],
        async |run| {
            run.backend.hold_proposals().await;
            let c = run.create("c").await;
            // The retry, after the first backoff (for the broken reaper: for
            // the instance it closed).
            run.eventually("the delete is proposed twice", || {
                let proposals = run
                    .backend
                    .records()
                    .iter()
                    .filter(|(_, r)| matches!(r, Record::Proposed { assignment, .. } if *assignment == c))
                    .count();
                std::future::ready(proposals >= 2)
            })
            .await;
            run.backend.release_proposals().await;
            run.eventually("the assignment is removed", || run.is_gone("c", c))
                .await;
        },
    )
    .await;
}

/// A reaper whose runs ignore both the shutdown and their unregistering
/// (a node unregisters everything as it goes down): it goes on proposing
/// while its node shuts down, the metalayer still up.
pub async fn a_proposal_after_shutdown_is_caught<B: Backend>() {
    // Two attempts: the broken run's second proposal comes during the
    // shutdown, which then waits for it only one backoff longer.
    let config = Config {
        max_attempts: 2,
        ..suite_config()
    };
    caught::<B, _>(
        config,
        ReaperFaults::of(&[ReaperFault::IgnoreShutdown, ReaperFault::IgnoreStepDown]),
        &["after its reaper shut down"],
        async |run| {
            run.backend.hold_proposals().await;
            let c = run.create("c").await;
            run.eventually("the delete is proposed", || {
                std::future::ready(run.proposed("c", c))
            })
            .await;
            let proposer = run.backend.records().iter().find_map(|(_, r)| match r {
                Record::Proposed { node, .. } => Some(*node),
                _ => None,
            });
            run.backend
                .shut_down_node(proposer.expect("a proposer"))
                .await;
        },
    )
    .await;
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

        #[tokio::test($($runtime),*)]
        async fn broken_reaper_a_local_delete_before_the_commit_is_caught() {
            conformance::a_local_delete_before_the_commit_is_caught::<$backend>().await;
        }

        #[tokio::test($($runtime),*)]
        async fn broken_reaper_a_proposal_after_shutdown_is_caught() {
            conformance::a_proposal_after_shutdown_is_caught::<$backend>().await;
        }
    };
}
