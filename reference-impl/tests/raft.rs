//! The openraft metalayer: the conformance suite on a real 3-node in-process
//! cluster, then what only raft has — the leader killed with an uncommitted
//! delete in its log, and a partitioned minority.
//!
//! Real time (openraft's timers): each test takes a few seconds.

mod conformance;
mod support;

use std::time::Duration;

use conformance::{Backend, Record, Run, THRESHOLD};
use quorum_reaper::node::NodeEvent;
use quorum_reaper::raft::{RaftCluster, RaftSetup};
use quorum_reaper::{AssignmentId, Config, Outcome, ReaperFaults, RearmReason};
use tokio::time::{sleep, Instant};

const NODES: usize = 3;
/// How long the cluster may take to notice a partition or elect a leader.
const SETTLE: Duration = Duration::from_secs(10);

struct Raft(RaftCluster);

impl Raft {
    fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len()).filter(|&i| self.0.is_up(i))
    }
}

impl Backend for Raft {
    async fn start(config: Config, faults: ReaperFaults) -> Option<Raft> {
        let mut setup = RaftSetup::new(NODES, config);
        setup.faults = faults;
        let cluster = RaftCluster::start(setup)
            .await
            .expect("the in-process raft cluster starts");
        Some(Raft(cluster))
    }

    async fn create(&self, key: &str, threshold: Duration) -> AssignmentId {
        self.0
            .create_consumer(key, threshold)
            .await
            .expect("the assignment commits")
    }

    fn touch(&self, key: &str) {
        self.0.touch(key);
    }

    async fn assignment(&self, key: &str) -> Option<AssignmentId> {
        self.0.wait_for_leader(SETTLE).await?;
        self.0.assignment(key)
    }

    fn instance(&self, key: &str, node: usize) -> Option<(AssignmentId, bool)> {
        let instance = self.0.node(node).instance(key)?;
        Some((instance.assignment_id(), instance.is_open()))
    }

    fn live_nodes(&self) -> Vec<usize> {
        self.live().collect()
    }

    async fn set_available(&self, available: bool) {
        if available {
            self.0.heal();
            self.0
                .wait_for_leader(SETTLE)
                .await
                .expect("a leader after healing");
        } else {
            self.0.isolate_all();
            let deadline = Instant::now() + SETTLE;
            while self
                .live()
                .any(|i| quorum_reaper::Metalayer::<String>::is_ready(&**self.0.metalayer(i)))
            {
                assert!(
                    Instant::now() < deadline,
                    "a node still ready after isolating all"
                );
                sleep(Duration::from_millis(10)).await;
            }
        }
    }

    async fn hold_proposals(&self) {
        for i in self.live_nodes() {
            self.0.node(i).hold_proposals();
        }
    }

    async fn release_proposals(&self) {
        for i in self.live_nodes() {
            self.0.node(i).release_proposals();
        }
    }

    async fn fail_metalayer_leader(&self) {
        let leader = self.0.leader().expect("a leader to kill");
        self.0.kill(leader).await;
    }

    async fn shut_down_node(&self, node: usize) {
        self.0.node(node).shut_down().await;
    }

    fn records(&self) -> Vec<(Instant, Record)> {
        conformance::journal_records(self.0.journal())
    }

    fn violations(&self) -> Vec<String> {
        Vec::new()
    }

    async fn shutdown(&self) -> usize {
        self.0.shutdown().await;
        (0..self.0.len())
            .map(|i| self.0.node(i).instances_held_elsewhere())
            .sum()
    }
}

conformance_suite!(Raft);

/// Whether `node` applied the removal of `assignment` and stopped its instance then.
fn stopped_by_metalayer(
    cluster: &RaftCluster,
    node: usize,
    key: &str,
    assignment: AssignmentId,
) -> bool {
    cluster.journal().events().iter().any(|(_, e)| {
        matches!(e, NodeEvent::Removed { node: n, key: k, assignment: a, stopped: true }
            if *n == node && k == key && *a == assignment)
    })
}

/// The leader appends the delete to its log but cannot replicate it, then
/// dies: the entry is lost with it, the new leader tracks the consumer afresh
/// and reaps it — nothing deleted before a commit, nothing left behind.
#[tokio::test]
async fn leader_killed_with_an_uncommitted_delete_in_its_log() {
    let mut run = Run::<Raft>::start().await.expect("raft runs everywhere");
    let cluster = &run.backend.0;
    let old_leader = cluster.leader().expect("a leader");
    let c = run.create("c").await;
    let cluster = &run.backend.0;
    cluster.stall_replication(old_leader);
    run.eventually("the leader proposes the delete", || {
        std::future::ready(run.proposed("c", c))
    })
    .await;
    // The proposal is in the leader's log, uncommitted.
    sleep(Duration::from_millis(200)).await;
    let cluster = &run.backend.0;
    assert_eq!(
        cluster.assignment("c"),
        Some(c),
        "committed despite the stall"
    );
    assert_eq!(run.removals("c", c), 0);
    let (last, applied) = cluster.log_position(old_leader);
    assert!(
        last > applied,
        "the delete is in the leader's log, unapplied: last {last:?}, applied {applied:?}"
    );
    cluster.kill(old_leader).await;
    cluster.heal();

    let new_leader = cluster.wait_for_leader(SETTLE).await.expect("a new leader");
    assert_ne!(new_leader, old_leader);
    run.eventually("the new leader reaps the consumer", || run.is_gone("c", c))
        .await;
    let proposers: Vec<usize> = run
        .backend
        .records()
        .into_iter()
        .filter_map(|(_, r)| match r {
            Record::Proposed { node, key, .. } if key == "c" => Some(node),
            _ => None,
        })
        .collect();
    assert!(
        proposers.contains(&new_leader),
        "the new leader's reaper finishes it: {proposers:?}"
    );
    assert_eq!(run.local_deletes("c"), 0, "deleted locally");
    for node in run.backend.live_nodes() {
        assert!(
            stopped_by_metalayer(&run.backend.0, node, "c", c),
            "left behind on node {node}"
        );
    }
    run.finish().await;
}

/// Issue 12: the leader killed between propose and apply, with the entry
/// on a majority. The leader's delete reaches one follower, which appends
/// it, but its answer is lost: the entry is on two of three logs, applied
/// nowhere, and the leader does not know it committed. The leader dies
/// there. The follower holding the entry (the longest log) is elected and
/// commits it in its own term — a late commit of a dead leader's proposal:
/// the consumer is removed exactly once on every live node (even if the new
/// leader's own reaper proposed too: compare-and-delete), never deleted
/// locally, and no instance is left open (no ghost).
#[tokio::test]
async fn leader_killed_between_propose_and_apply_with_the_entry_on_a_majority() {
    let mut run = Run::<Raft>::start().await.expect("raft runs everywhere");
    let old_leader = run.backend.0.leader().expect("a leader");
    let heir = (0..NODES).find(|&n| n != old_leader).expect("a follower");
    let c = run.create("c").await;
    let cluster = &run.backend.0;
    let (heir_before, _) = cluster.log_position(heir);
    cluster.replicate_unacknowledged(old_leader, heir);
    run.eventually("the leader proposes the delete", || {
        std::future::ready(run.proposed("c", c))
    })
    .await;
    let cluster = &run.backend.0;
    run.eventually("the follower appends the delete", || {
        std::future::ready(cluster.log_position(heir).0 > heir_before)
    })
    .await;
    sleep(Duration::from_millis(200)).await;
    // In flight: on a majority of the logs, applied on none.
    assert_eq!(cluster.assignment("c"), Some(c), "applied on the leader");
    assert_eq!(
        run.removals("c", c),
        0,
        "applied somewhere:\n{}",
        run.dump()
    );
    for node in [old_leader, heir] {
        let (last, applied) = cluster.log_position(node);
        assert!(
            last > applied,
            "node {node} holds the entry unapplied: last {last:?}, applied {applied:?}"
        );
    }
    cluster.kill(old_leader).await;
    cluster.heal();

    let new_leader = cluster.wait_for_leader(SETTLE).await.expect("a new leader");
    assert_eq!(
        new_leader, heir,
        "only the longest log can win the election"
    );
    run.eventually("the consumer is removed", || run.is_gone("c", c))
        .await;
    // Let a proposal of the new leader's own reaper, if it made one, land.
    sleep(conformance::THRESHOLD * 2).await;
    for node in run.backend.live_nodes() {
        let stops = run
            .backend
            .0
            .journal()
            .events()
            .iter()
            .filter(|(_, e)| {
                matches!(e, NodeEvent::Removed { node: n, key, assignment, stopped: true }
                if *n == node && key == "c" && *assignment == c)
            })
            .count();
        assert_eq!(
            stops,
            1,
            "node {node} stopped its instance {stops} times:\n{}",
            run.dump()
        );
    }
    assert_eq!(run.local_deletes("c"), 0, "deleted locally");
    assert_eq!(run.backend.0.assignment("c"), None, "a ghost assignment");
    let late = run.backend.records().iter().filter(|(_, r)| {
        matches!(r, Record::Proposed { node, key, .. } if *node == new_leader && key == "c")
    }).count();
    eprintln!("the dead leader's entry committed under node {new_leader}; its own reaper proposed {late} times");
    run.finish().await;
}

/// The leader is cut off with a minority of one: it keeps the consumer and
/// does not delete it (it warns and re-arms: no quorum), while the majority
/// elects a leader that reaps it. After healing, the old leader applies the
/// removal like everyone else. A low snapshot threshold makes the rejoining
/// node catch up from a snapshot, so removals delivered by a snapshot
/// install are covered too.
#[tokio::test]
async fn partitioned_minority_keeps_the_consumer_and_does_not_delete_it() {
    let mut setup = RaftSetup::new(NODES, conformance::suite_config());
    setup.snapshot_after = 3;
    let cluster = RaftCluster::start(setup).await.expect("starts");
    let mut run = Run::<Raft>::with_backend(Raft(cluster));
    let minority = run.backend.0.leader().expect("a leader");
    let c = run.create("c").await;
    // Entries the minority will miss, so it needs the snapshot.
    for i in 0..5 {
        run.create(&format!("filler{i}")).await;
    }
    run.backend.0.isolate(minority);
    run.eventually("the majority elects a leader of its own", || async {
        let cluster = &run.backend.0;
        cluster
            .wait_for_leader(SETTLE)
            .await
            .is_some_and(|l| l != minority)
    })
    .await;

    run.eventually("the majority reaps the consumer", || async {
        run.backend
            .live_nodes()
            .into_iter()
            .filter(|&n| n != minority)
            .all(|n| stopped_by_metalayer(&run.backend.0, n, "c", c))
    })
    .await;
    let isolated = run.backend.0.node(minority).instance("c").expect("made");
    assert!(isolated.is_open(), "the minority lost its consumer");
    assert_eq!(run.local_deletes("c"), 0, "deleted locally");
    let rearmed_on_minority = run.backend.records().iter().any(|(_, r)| {
        matches!(r, Record::Finished { node, report }
            if *node == minority && report.key == "c"
                && report.outcome == Outcome::Rearmed { reason: RearmReason::MetalayerUnavailable })
    });
    assert!(
        rearmed_on_minority,
        "the cut-off leader re-arms instead of deleting:\n{}",
        run.dump()
    );

    run.backend.0.heal();
    run.eventually("the old leader applies the removal", || {
        std::future::ready(!isolated.is_open())
    })
    .await;
    assert!(run.removals("c", c) >= NODES, "removed on every node");
    assert_eq!(run.local_deletes("c"), 0);
    drop(isolated);
    run.finish().await;
}

/// Only the raft leader tracks consumers; when leadership moves, the old
/// leader stops tracking and the new one starts.
#[tokio::test]
async fn consumers_follow_the_raft_leader() {
    let mut run = Run::<Raft>::start().await.expect("starts");
    let leader = run.backend.0.leader().expect("a leader");
    run.create("c").await;
    for node in 0..NODES {
        let tracks = run.backend.0.node(node).touch("c");
        assert_eq!(tracks, node == leader, "node {node} tracking");
    }
    run.backend.0.kill(leader).await;
    let new_leader = run
        .backend
        .0
        .wait_for_leader(SETTLE)
        .await
        .expect("elected");
    run.eventually("the new leader tracks the consumer", || {
        std::future::ready(run.backend.0.node(new_leader).touch("c"))
    })
    .await;
    let events = run.backend.0.journal().events();
    assert!(events.iter().any(|(_, e)| *e
        == NodeEvent::Leadership {
            node: new_leader,
            leader: true
        }));
    run.finish().await;
}

/// A sanity check of the harness's timing: a consumer touched within its
/// threshold is never proposed.
#[tokio::test]
async fn a_busy_consumer_is_never_proposed() {
    let mut run = Run::<Raft>::start().await.expect("starts");
    let c = run.create("c").await;
    run.keep_active("c", THRESHOLD * 3).await;
    assert!(!run.proposed("c", c), "{}", run.dump());
    run.finish().await;
}

/// Issue 12, item 6: the cluster's journal keeps the latest
/// `journal_events` events only (it used to grow without bound).
#[tokio::test]
async fn the_journal_is_bounded_by_the_setup() {
    let mut setup = RaftSetup::new(NODES, support::fast_config());
    setup.journal_events = 8;
    let cluster = RaftCluster::start(setup).await.expect("starts");
    for i in 0..10 {
        cluster
            .create_consumer(&format!("c{i}"), Duration::from_secs(3600))
            .await
            .expect("created");
    }
    // Ten creations applied on three nodes: more than eight events.
    let events = cluster.journal().events();
    assert_eq!(events.len(), 8, "{events:?}");
    cluster.shutdown().await;
}
