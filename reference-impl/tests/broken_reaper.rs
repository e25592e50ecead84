//! Every check of the simulation can fail: each test runs one short script
//! twice on the simulated 3-node cluster — with the reaper as shipped, where
//! the checks must find nothing, and with one deliberate bug switched on
//! (`ReaperFault`, feature `fault-injection`, which only this crate's tests
//! enable), where the check that guards against that bug must report it.
//!
//! The checks are the simulated cluster's own (`SimCluster::violations`:
//! online at every proposal and local delete, plus the proposal accounting
//! at shutdown) and `SimCluster::ghosts`, the same the seeded simulation
//! (`tests/simulation.rs`) asserts on.

mod support;

use std::time::Duration;

use quorum_reaper::sim::{SimCluster, SimSetup};
use quorum_reaper::{ReaperFault, ReaperFaults};
use support::fast_config;
use tokio::time::sleep_until;

/// What the checks said about one run of a script.
#[derive(Debug)]
struct Checked {
    violations: Vec<String>,
    ghosts: Vec<String>,
}

const THRESHOLD: Duration = Duration::from_secs(10);

/// Runs `script` on a fresh 3-node cluster whose reapers have `faults`,
/// then lets it settle (two minutes of quiet), and returns the ghosts left
/// and every violation seen, shutdown included.
async fn run<S>(faults: ReaperFaults, script: S) -> Checked
where
    S: AsyncFnOnce(&SimCluster),
{
    let sim = SimCluster::start_with_faults(
        SimSetup {
            nodes: 3,
            clustered: true,
            seed: 15,
            reaper: fast_config(),
        },
        faults,
    );
    script(&sim).await;
    sleep_until(sim.epoch() + Duration::from_secs(240)).await;
    let ghosts = sim.ghosts();
    sim.shutdown().await;
    Checked {
        violations: sim.violations(),
        ghosts,
    }
}

/// Sleeps until `secs` seconds after the cluster started.
async fn at(sim: &SimCluster, secs: f64) {
    sleep_until(sim.epoch() + Duration::from_secs_f64(secs)).await;
}

/// The script finds nothing on the shipped reaper, and with `fault` the
/// violations (or, for `in_ghosts`, the ghosts) include one containing `expected`.
async fn caught<S>(fault: ReaperFault, expected: &str, in_ghosts: bool, script: S)
where
    S: AsyncFn(&SimCluster),
{
    let clean = run(ReaperFaults::NONE, &script).await;
    assert!(
        clean.violations.is_empty() && clean.ghosts.is_empty(),
        "the shipped reaper fails the script meant for {fault:?}: {clean:#?}"
    );
    let broken = run(ReaperFaults::of(&[fault]), &script).await;
    let reported = if in_ghosts {
        &broken.ghosts
    } else {
        &broken.violations
    };
    assert!(
        reported.iter().any(|v| v.contains(expected)),
        "{fault:?} was not caught (expected {expected:?}): {broken:#?}"
    );
}

/// Invariant 5, checked on what the reaper proposed: the old run of a
/// re-created consumer (its stale instance left open) names the new
/// identity. Both runs come up while the metalayer is down and propose once
/// it is back, when the new consumer is idle too, so the proposal is for
/// the current assignment, from its leader, of an idle consumer — only the
/// accounting of proposals against the runs that made them catches it (and
/// the compare-and-delete would have applied it: the new consumer deleted
/// by the old one's task).
#[tokio::test(start_paused = true)]
async fn a_proposal_naming_another_instances_identity_is_caught() {
    caught(
        ReaperFault::ProposeMetalayerIdentity,
        "but its runs for that instance made",
        false,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 5.0).await;
            assert!(sim.recreate("c", true));
            at(sim, 9.0).await;
            sim.set_ready(false);
            at(sim, 40.0).await;
            sim.set_ready(true);
        },
    )
    .await;
}

/// The proposer must lead the consumer: a run that ignores its step-down
/// keeps proposing from the old leader.
#[tokio::test(start_paused = true)]
async fn a_proposal_from_a_node_that_no_longer_leads_is_caught() {
    caught(
        ReaperFault::IgnoreStepDown,
        "but node Some(1) leads it",
        false,
        async |sim| {
            sim.hold_commits(true);
            sim.create_consumer("c", THRESHOLD, 0);
            // Proposed at 10 s (held); the retry is due at 11 s.
            at(sim, 10.5).await;
            assert!(sim.move_leader("c", 1));
            at(sim, 13.0).await;
            sim.hold_commits(false);
        },
    )
    .await;
}

/// An identity the metalayer never issued: the idleness check no longer
/// takes an unknown assignment for one idle since time zero.
#[tokio::test(start_paused = true)]
async fn a_proposal_naming_an_identity_never_issued_is_caught() {
    caught(
        ReaperFault::ProposeUnknownIdentity,
        "an assignment the metalayer never issued",
        false,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
        },
    )
    .await;
}

/// A proposal only for a consumer idle past its threshold: a run that skips
/// its activity re-check proposes again after a touch.
#[tokio::test(start_paused = true)]
async fn a_proposal_for_an_active_consumer_is_caught() {
    caught(
        ReaperFault::SkipActivityRecheck,
        "active 500ms ago",
        false,
        async |sim| {
            sim.hold_commits(true);
            sim.create_consumer("c", THRESHOLD, 0);
            // Proposed at 10 s (held); touched before the retry at 11 s.
            at(sim, 10.5).await;
            assert!(sim.touch("c"));
            at(sim, 11.5).await;
            sim.hold_commits(false);
        },
    )
    .await;
}

/// Nothing deleted locally before the metalayer committed the removal, and
/// no proposal for an instance already closed on the proposing node.
#[tokio::test(start_paused = true)]
async fn a_local_delete_before_the_commit_is_caught() {
    caught(
        ReaperFault::DeleteBeforeCommit,
        "before the metalayer committed its removal",
        false,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
        },
    )
    .await;
    caught(
        ReaperFault::DeleteBeforeCommit,
        "already closed there",
        false,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
        },
    )
    .await;
}

/// No proposal from a reaper shutting down: a run that ignores the shutdown
/// goes on proposing until its attempts run out.
#[tokio::test(start_paused = true)]
async fn a_proposal_after_shutdown_is_caught() {
    caught(
        ReaperFault::IgnoreShutdown,
        "after its reaper shut down",
        false,
        async |sim| {
            sim.hold_commits(true);
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 10.5).await;
            assert!(sim.shut_down_node(0).await);
            sim.hold_commits(false);
        },
    )
    .await;
}

/// No ghost, with no exclusion — 1: the stale instance of issue 12 (its
/// assignment removed while it stayed open, then its leadership moved) is
/// left open by a reaper that lets go of it without cleaning it up.
#[tokio::test(start_paused = true)]
async fn a_stale_instance_left_open_is_a_ghost() {
    caught(
        ReaperFault::SkipStaleCleanup,
        "open on node 0",
        true,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 5.0).await;
            assert!(sim.remove_assignment("c", true));
            at(sim, 6.0).await;
            assert!(sim.move_leader("c", 1));
        },
    )
    .await;
}

/// No ghost — 2: the leader's instance closed without its quit signal, the
/// other replicas open: a reaper that takes "closed" for "done" leaves the
/// assignment and the other instances behind.
#[tokio::test(start_paused = true)]
async fn an_assignment_left_after_a_close_is_a_ghost() {
    caught(
        ReaperFault::ClosedIsDone,
        "still assigned (its leader's instance closed without quit)",
        true,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 5.0).await;
            assert!(sim.close_without_quit("c"));
        },
    )
    .await;
    caught(
        ReaperFault::ClosedIsDone,
        "open on node 1",
        true,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 5.0).await;
            assert!(sim.close_without_quit("c"));
        },
    )
    .await;
}

/// No ghost — 3: a run that returns without re-arming while the metalayer
/// is down (the review's silent return) leaves the consumer forever.
#[tokio::test(start_paused = true)]
async fn a_check_not_rearmed_during_an_outage_is_a_ghost() {
    caught(
        ReaperFault::DropUnavailableRearm,
        "still assigned",
        true,
        async |sim| {
            sim.create_consumer("c", THRESHOLD, 0);
            at(sim, 5.0).await;
            sim.set_ready(false);
            at(sim, 30.0).await;
            sim.set_ready(true);
        },
    )
    .await;
}
