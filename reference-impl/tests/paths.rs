//! One test per path of the gated delete, under tokio's paused clock: no real
//! sleeps, the clock jumps to the next timer.

mod support;

use std::sync::Arc;
use std::time::Duration;

use quorum_reaper::sim::{Faults, ProposalFate, SimCluster, SimEvent, SimSetup};
use quorum_reaper::{AssignmentChange, Consumer, LocalReason, Outcome, QuitReason, RearmReason};
use support::{fast_config, Capture};
use tokio::time::sleep;
use tracing::Level;

const THRESHOLD: Duration = Duration::from_secs(30);

fn cluster(nodes: usize) -> Arc<SimCluster> {
    SimCluster::start(SimSetup {
        nodes,
        clustered: true,
        seed: 7,
        reaper: fast_config(),
    })
}

fn lossy() -> Faults {
    Faults {
        drop_permille: 1000,
        ..Faults::default()
    }
}

/// When each proposal for `key` was made, in seconds.
fn proposal_times(sim: &SimCluster, key: &str) -> Vec<u64> {
    sim.history()
        .into_iter()
        .filter_map(|(at, e)| match e {
            SimEvent::Proposed { key: k, .. } if k == key => Some(at / 1000),
            _ => None,
        })
        .collect()
}

fn local_deletes(sim: &SimCluster, key: &str) -> usize {
    sim.history()
        .iter()
        .filter(|(_, e)| matches!(e, SimEvent::DeletedLocally { key: k, .. } if k == key))
        .count()
}

async fn finish(sim: &SimCluster) {
    sim.shutdown().await;
    assert_eq!(sim.violations(), Vec::<String>::new());
    assert_eq!(
        sim.instances_held_elsewhere(),
        0,
        "a task still holds a consumer"
    );
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert_eq!(alive, 0, "a task outlived shutdown");
}

#[tokio::test(start_paused = true)]
async fn standalone_deletes_locally_at_the_threshold() {
    let sim = SimCluster::start(SimSetup {
        nodes: 1,
        clustered: false,
        seed: 1,
        reaper: fast_config(),
    });
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD - Duration::from_millis(10)).await;
    assert!(!sim.instance("c", 0).unwrap().is_closed(), "deleted early");
    sleep(Duration::from_millis(20)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::DeletedLocally {
            reason: LocalReason::Standalone
        }]
    );
    assert_eq!(proposal_times(&sim, "c"), Vec::<u64>::new());
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn touch_defers_the_delete_lazily() {
    let sim = cluster(1);
    sim.create_consumer("c", THRESHOLD, 0);
    for _ in 0..10 {
        sleep(THRESHOLD / 2).await;
        assert!(sim.touch("c"));
    }
    assert!(
        sim.outcomes("c").is_empty(),
        "an active consumer was reaped"
    );
    sleep(THRESHOLD + Duration::from_secs(1)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::DeletedByMetalayer]);
    // Last touch at 150 s: inactive at 180 s, not earlier.
    assert_eq!(proposal_times(&sim, "c"), [180]);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn clustered_waits_for_the_commit() {
    let (logs, _guard) = Capture::install();
    let sim = cluster(3);
    sim.set_faults(Faults {
        commit_delay_ms: (800, 800),
        ..Faults::default()
    });
    sim.create_consumer("c", THRESHOLD, 1);
    sleep(THRESHOLD + Duration::from_millis(500)).await;
    assert_eq!(proposal_times(&sim, "c"), [30]);
    assert!(sim.outcomes("c").is_empty(), "finished before the commit");
    assert_eq!(local_deletes(&sim, "c"), 0);
    sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::DeletedByMetalayer]);
    assert_eq!(
        local_deletes(&sim, "c"),
        0,
        "deleted locally in clustered mode"
    );
    assert!(sim.ghosts().is_empty());
    let done = logs
        .events()
        .into_iter()
        .find(|e| e.field("outcome") == Some("deleted_by_metalayer"))
        .expect("the outcome is logged");
    assert_eq!(done.field("consumer"), Some("c"));
    assert_eq!(done.field("attempt"), Some("1"));
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn no_assignment_deletes_locally() {
    let sim = cluster(1);
    sim.create_consumer("c", THRESHOLD, 0);
    // The metalayer dropped the assignment; this node missed it.
    assert!(sim.remove_assignment("c", true));
    sleep(THRESHOLD + Duration::from_secs(1)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::DeletedLocally {
            reason: LocalReason::NoAssignment
        }]
    );
    assert_eq!(proposal_times(&sim, "c"), Vec::<u64>::new());
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn metalayer_unavailable_warns_and_rearms_then_reaps() {
    let (logs, _guard) = Capture::install();
    let sim = cluster(3);
    sim.create_consumer("c", THRESHOLD, 0);
    sim.set_ready(false);
    sleep(THRESHOLD + Duration::from_secs(20)).await;
    let outcomes = sim.outcomes("c");
    assert!(outcomes.len() >= 3, "re-checks with backoff: {outcomes:?}");
    assert!(outcomes.iter().all(|o| *o
        == Outcome::Rearmed {
            reason: RearmReason::MetalayerUnavailable
        }));
    let warnings = logs.at(Level::WARN);
    assert!(
        !warnings.is_empty(),
        "the ghost-consumer path must not be silent"
    );
    assert_eq!(warnings[0].field("consumer"), Some("c"));
    assert_eq!(warnings[0].field("outcome"), Some("rearmed"));
    assert!(!sim.instance("c", 0).unwrap().is_closed());

    sim.set_ready(true);
    sleep(Duration::from_secs(10)).await;
    assert_eq!(sim.outcomes("c").last(), Some(&Outcome::DeletedByMetalayer));
    assert!(sim.ghosts().is_empty());
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn lost_proposals_are_retried_with_capped_doubling_backoff() {
    let (logs, _guard) = Capture::install();
    let sim = cluster(3);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_secs(25)).await;
    // 1, 2, 4, 8, 8 s apart (initial 1 s, max 8 s).
    assert_eq!(proposal_times(&sim, "c"), [30, 31, 33, 37, 45, 53]);
    let retrying = logs
        .at(Level::WARN)
        .into_iter()
        .filter(|e| e.message.contains("not cleaned up"))
        .count();
    assert_eq!(retrying, 5);
    sim.set_faults(Faults::default());
    // The sixth proposal was lost too: the run ends at 61 s, re-checked at 69 s.
    sleep(Duration::from_secs(15)).await;
    assert_eq!(
        sim.outcomes("c"),
        [
            Outcome::Rearmed {
                reason: RearmReason::NotCommitted
            },
            Outcome::DeletedByMetalayer
        ]
    );
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn unanswered_proposals_hand_the_slot_back_and_rearm() {
    let sim = cluster(1);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    // 6 proposals spanning 1+2+4+8+8 s, a last 8 s wait, then give up.
    sleep(THRESHOLD + Duration::from_secs(32)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::Rearmed {
            reason: RearmReason::NotCommitted
        }]
    );
    assert_eq!(proposal_times(&sim, "c").len(), 6);
    // Re-checked after max_backoff: a fresh run proposes again.
    sleep(Duration::from_millis(8500)).await;
    assert_eq!(proposal_times(&sim, "c")[6], 69);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn replaced_assignment_forces_local_cleanup_and_spares_the_new_consumer() {
    let (logs, _guard) = Capture::install();
    let sim = cluster(3);
    sim.set_faults(lossy());
    let old = sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_secs(2)).await;
    assert_eq!(proposal_times(&sim, "c"), [30, 31]);
    // Re-created with the same name and config; the old leader instance missed it.
    let old_instance = sim.instance("c", 0).unwrap();
    assert!(sim.recreate("c", true));
    let new = sim.current_assignment("c").unwrap();
    assert!(!new.same_identity(old));
    sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::ForcedAfterAssignmentChange {
            change: AssignmentChange::Replaced { by: new }
        }]
    );
    assert!(old_instance.is_closed());
    assert!(
        !sim.instance("c", 0).unwrap().is_closed(),
        "the new consumer was deleted"
    );
    let warning = logs
        .at(Level::WARN)
        .into_iter()
        .find(|e| e.field("outcome") == Some("forced_after_assignment_change"))
        .expect("the forced path warns");
    assert_eq!(warning.field("consumer"), Some("c"));
    drop(old_instance);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn assignment_gone_while_waiting_forces_local_cleanup() {
    let sim = cluster(1);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(500)).await;
    assert!(sim.remove_assignment("c", true));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::ForcedAfterAssignmentChange {
            change: AssignmentChange::Gone
        }]
    );
    finish(&sim).await;
}

/// Issue 12, item 1 (seed 1162): the assignment is removed while the
/// leader's instance misses it, then leadership moves before the threshold.
/// The new leader's instance was stopped by the apply path (nothing to
/// track); the old leader's stale instance must still be cleaned up by its
/// own reaper, although it was unregistered on the step-down.
#[tokio::test(start_paused = true)]
async fn stale_instance_is_cleaned_up_after_its_leadership_moved() {
    let sim = cluster(3);
    sim.create_consumer("c", THRESHOLD, 2);
    sleep(THRESHOLD / 2).await;
    assert!(sim.remove_assignment("c", true));
    assert!(sim.move_leader("c", 1));
    assert!(!sim.instance("c", 2).unwrap().is_closed(), "stale and open");
    sleep(THRESHOLD).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::ForcedAfterAssignmentChange {
            change: AssignmentChange::Gone
        }]
    );
    assert!(sim.instance("c", 2).unwrap().is_closed());
    assert!(sim.ghosts().is_empty(), "{:?}", sim.ghosts());
    finish(&sim).await;
}

/// The same stale instance is cleaned up at the step-down itself, not when
/// its old deadline comes up (it used to wait in the heap until then).
#[tokio::test(start_paused = true)]
async fn stale_instance_is_cleaned_up_at_the_step_down() {
    let sim = cluster(3);
    sim.create_consumer("c", THRESHOLD, 2);
    sleep(THRESHOLD / 2).await;
    assert!(sim.remove_assignment("c", true));
    assert!(sim.move_leader("c", 1));
    sleep(Duration::from_millis(10)).await;
    assert!(
        sim.instance("c", 2).unwrap().is_closed(),
        "the stale instance waited for its old deadline"
    );
    assert_eq!(sim.outcomes("c"), [Outcome::forced(AssignmentChange::Gone)]);
    finish(&sim).await;
}

/// The same while the metalayer is down when the stale entry comes up: it is
/// re-armed, not forgotten, and deleted once the metalayer is back.
#[tokio::test(start_paused = true)]
async fn stale_instance_after_a_leadership_move_waits_out_an_outage() {
    let sim = cluster(3);
    sim.create_consumer("c", THRESHOLD, 2);
    sleep(THRESHOLD / 2).await;
    assert!(sim.remove_assignment("c", true));
    assert!(sim.move_leader("c", 0));
    sim.set_ready(false);
    sleep(THRESHOLD * 2).await;
    assert!(
        !sim.instance("c", 2).unwrap().is_closed(),
        "kept during the outage"
    );
    let outcomes = sim.outcomes("c");
    assert!(!outcomes.is_empty(), "the stale instance was forgotten");
    assert!(outcomes
        .iter()
        .all(|o| *o == Outcome::rearmed(RearmReason::MetalayerUnavailable)));
    sim.set_ready(true);
    sleep(THRESHOLD).await;
    assert!(sim.instance("c", 2).unwrap().is_closed());
    assert_eq!(
        sim.outcomes("c").last(),
        Some(&Outcome::forced(AssignmentChange::Gone))
    );
    assert!(sim.ghosts().is_empty(), "{:?}", sim.ghosts());
    finish(&sim).await;
}

/// A leader's instance closed without its quit, then leadership moves away
/// and back: the instance is registered again (its assignment still exists),
/// and its assignment is reaped.
#[tokio::test(start_paused = true)]
async fn closed_instance_back_as_leader_has_its_assignment_reaped() {
    let sim = cluster(2);
    sim.create_consumer("c", THRESHOLD, 0);
    assert!(sim.close_without_quit("c"));
    assert!(sim.move_leader("c", 1));
    assert!(sim.move_leader("c", 0));
    sleep(THRESHOLD * 2).await;
    assert_eq!(
        sim.outcomes("c").last(),
        Some(&Outcome::AssignmentDeletedAfterClose)
    );
    assert!(sim.ghosts().is_empty(), "{:?}", sim.ghosts());
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn closed_consumer_with_its_assignment_alive_has_the_assignment_reaped() {
    let sim = cluster(1);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(1500)).await;
    assert_eq!(proposal_times(&sim, "c").len(), 2);
    // Closed, but its quit signal never fires (the review's edge case): the
    // assignment is still held, so the consumer is not gone yet.
    assert!(sim.close_without_quit("c"));
    sleep(Duration::from_secs(60)).await;
    // Still proposing, bounded per run (the simulation checks max_attempts)
    // and with backoff between runs: no spinning.
    let during = proposal_times(&sim, "c").len();
    assert!((3..=14).contains(&during), "{during} proposals in 60 s");
    sim.set_faults(Faults::default());
    sleep(Duration::from_secs(60)).await;
    assert_eq!(
        sim.outcomes("c").last(),
        Some(&Outcome::AssignmentDeletedAfterClose)
    );
    assert_eq!(sim.current_assignment("c"), None);
    assert_eq!(
        local_deletes(&sim, "c"),
        0,
        "a closed instance is not deleted again"
    );
    let after = proposal_times(&sim, "c").len();
    sleep(Duration::from_secs(600)).await;
    assert_eq!(
        proposal_times(&sim, "c").len(),
        after,
        "proposed after the removal"
    );
    assert!(sim.ghosts().is_empty(), "{:?}", sim.ghosts());
    finish(&sim).await;
}

/// Issue 12, item 5: only the metalayer's removal ends a waiting delete as
/// `DeletedByMetalayer`. A quit for another reason (an error, a shutdown of
/// this replica) while the assignment is still held is not a commit: the run
/// goes on and reaps the assignment.
#[tokio::test(start_paused = true)]
async fn quit_for_another_reason_is_not_a_commit() {
    for reason in [QuitReason::Closed, QuitReason::ServerShutdown] {
        let sim = cluster(1);
        sim.set_faults(lossy());
        sim.create_consumer("c", THRESHOLD, 0);
        sleep(THRESHOLD + Duration::from_millis(500)).await;
        assert_eq!(proposal_times(&sim, "c").len(), 1, "one proposal, lost");
        assert!(sim.stop_for_other_reason("c", reason));
        sleep(Duration::from_millis(1)).await;
        assert_eq!(sim.outcomes("c"), [], "{reason}: the quit ended the run");
        sim.set_faults(Faults::default());
        sleep(Duration::from_secs(10)).await;
        assert_eq!(
            sim.outcomes("c"),
            [Outcome::AssignmentDeletedAfterClose],
            "{reason}"
        );
        assert_eq!(sim.current_assignment("c"), None);
        assert_eq!(local_deletes(&sim, "c"), 0);
        assert!(sim.ghosts().is_empty(), "{:?}", sim.ghosts());
        finish(&sim).await;
    }
}

/// The apply path's quit still ends the run as deleted by the metalayer,
/// with no proposal after it.
#[tokio::test(start_paused = true)]
async fn quit_for_the_removal_is_the_commit() {
    let sim = cluster(3);
    sim.create_consumer("c", THRESHOLD, 1);
    sleep(THRESHOLD + Duration::from_secs(5)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::DeletedByMetalayer]);
    assert_eq!(proposal_times(&sim, "c").len(), 1);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn closed_consumer_whose_assignment_is_gone_stops_the_retries() {
    let sim = cluster(1);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(1500)).await;
    assert_eq!(proposal_times(&sim, "c").len(), 2);
    // Closed without its quit, and its assignment removed by someone else.
    assert!(sim.close_without_quit("c"));
    assert!(sim.remove_assignment("c", false));
    sleep(Duration::from_secs(600)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::StoppedConsumerClosed]);
    assert_eq!(
        proposal_times(&sim, "c").len(),
        2,
        "kept proposing for a closed consumer"
    );
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn leadership_change_stops_the_old_task_and_the_new_leader_reaps() {
    let sim = cluster(3);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(1500)).await;
    assert!(sim.move_leader("c", 2));
    tokio::task::yield_now().await;
    sleep(Duration::from_millis(1)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::StoppedLostLeadership]);
    sim.set_faults(Faults::default());
    // The new leader starts its own inactivity clock.
    sleep(THRESHOLD - Duration::from_secs(1)).await;
    assert_eq!(sim.outcomes("c").len(), 1);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.outcomes("c").last(), Some(&Outcome::DeletedByMetalayer));
    let proposers: Vec<usize> = sim
        .history()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SimEvent::Proposed { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    assert_eq!(proposers, [0, 0, 2]);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn active_again_before_the_next_proposal_rearms() {
    let sim = cluster(1);
    sim.set_faults(lossy());
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(500)).await;
    assert!(sim.touch("c"));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sim.outcomes("c"),
        [Outcome::Rearmed {
            reason: RearmReason::ActiveAgain
        }]
    );
    assert_eq!(proposal_times(&sim, "c"), [30]);
    sim.set_faults(Faults::default());
    sleep(THRESHOLD).await;
    assert_eq!(sim.outcomes("c").last(), Some(&Outcome::DeletedByMetalayer));
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn late_commit_of_an_old_proposal_spares_the_recreated_consumer() {
    let sim = cluster(3);
    sim.set_faults(Faults {
        commit_delay_ms: (5_000, 5_000),
        ..Faults::default()
    });
    let old = sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_secs(1)).await;
    // Re-created before the old delete commits (all old instances stopped).
    assert!(sim.recreate("c", false));
    let new = sim.current_assignment("c").unwrap();
    sleep(Duration::from_secs(10)).await;
    let commits: Vec<(u64, bool)> = sim
        .history()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SimEvent::Committed {
                assignment,
                applied,
                ..
            } => Some((assignment.raft_index(), applied)),
            _ => None,
        })
        .collect();
    assert_eq!(
        commits,
        [(old.raft_index(), false)],
        "the stale delete must not apply"
    );
    assert_eq!(sim.current_assignment("c"), Some(new));
    assert!(!sim.instance("c", 0).unwrap().is_closed());
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_waiting_deletes_and_leaves_nothing_running() {
    let sim = cluster(3);
    sim.set_faults(lossy());
    for i in 0..50 {
        sim.create_consumer(&format!("c{i}"), THRESHOLD, i % 3);
    }
    sleep(THRESHOLD + Duration::from_secs(3)).await;
    let running: usize = sim.stats().iter().map(|s| s.in_flight).sum();
    assert_eq!(running, 50);
    sim.shutdown().await;
    let history = sim.history();
    let stopped = history
        .iter()
        .filter(|(_, e)| matches!(e, SimEvent::Finished { report, .. } if report.outcome == Outcome::StoppedShutdown))
        .count();
    assert_eq!(stopped, 50);
    assert!(!history
        .iter()
        .any(|(_, e)| matches!(e, SimEvent::DeletedLocally { .. })));
    let proposals_before = history
        .iter()
        .filter(|(_, e)| matches!(e, SimEvent::Proposed { .. }))
        .count();
    sleep(Duration::from_secs(3600)).await;
    let proposals_after = sim
        .history()
        .iter()
        .filter(|(_, e)| matches!(e, SimEvent::Proposed { .. }))
        .count();
    assert_eq!(
        proposals_before, proposals_after,
        "something proposed after shutdown"
    );
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn unregistered_consumers_are_never_reaped() {
    let sim = cluster(2);
    sim.create_consumer("c", THRESHOLD, 0);
    // Leadership goes to node 1 and comes back: node 0 tracks afresh.
    sleep(THRESHOLD / 2).await;
    assert!(sim.move_leader("c", 1));
    assert!(sim.move_leader("c", 0));
    sleep(THRESHOLD / 2 + Duration::from_secs(1)).await;
    assert!(
        sim.outcomes("c").is_empty(),
        "the first registration was reaped"
    );
    sleep(THRESHOLD / 2).await;
    assert_eq!(sim.outcomes("c"), [Outcome::DeletedByMetalayer]);
    let stats = sim.stats();
    assert_eq!(stats.iter().map(|s| s.tracked).sum::<usize>(), 0);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn rejected_proposals_count_as_attempts_and_are_retried() {
    let sim = cluster(1);
    sim.set_faults(Faults {
        reject_permille: 1000,
        ..Faults::default()
    });
    sim.create_consumer("c", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_secs(4)).await;
    let fates: Vec<ProposalFate> = sim
        .history()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SimEvent::Proposed { fate, .. } => Some(fate),
            _ => None,
        })
        .collect();
    assert_eq!(fates, [ProposalFate::Rejected; 3]);
    sim.set_faults(Faults::default());
    sleep(Duration::from_secs(5)).await;
    assert_eq!(sim.outcomes("c"), [Outcome::DeletedByMetalayer]);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn churn_is_compacted_before_the_deadlines_come_up() {
    let sim = cluster(2);
    for i in 0..3_000 {
        sim.create_consumer(&format!("c{i}"), Duration::from_secs(3600), 0);
    }
    sleep(Duration::from_millis(10)).await;
    assert_eq!(sim.stats()[0].tracked, 3_000);
    // Leadership moves away: node 0 unregisters all of them.
    for i in 0..3_000 {
        assert!(sim.move_leader(&format!("c{i}"), 1));
    }
    sleep(Duration::from_millis(10)).await;
    let node0 = sim.stats()[0];
    assert_eq!((node0.tracked, node0.scheduled), (0, 0), "{node0:?}");
    assert_eq!(sim.stats()[1].tracked, 3_000);
    finish(&sim).await;
}

#[tokio::test(start_paused = true)]
async fn untracked_while_queued_for_a_slot_is_not_deleted() {
    let mut config = fast_config();
    config.max_in_flight = 1;
    let sim = SimCluster::start(SimSetup {
        nodes: 1,
        clustered: true,
        seed: 3,
        reaper: config,
    });
    sim.set_faults(lossy());
    sim.create_consumer("first", THRESHOLD, 0);
    sim.create_consumer("second", THRESHOLD, 0);
    sleep(THRESHOLD + Duration::from_millis(500)).await;
    assert_eq!(sim.stats()[0].queued, 1, "second waits for the only slot");
    // The broker stops tracking it while it stays open and leader.
    assert!(sim.untrack("second"));
    sim.set_faults(Faults::default());
    sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.outcomes("first"), [Outcome::DeletedByMetalayer]);
    assert_eq!(sim.outcomes("second"), [Outcome::StoppedUnregistered]);
    assert!(!sim.instance("second", 0).unwrap().is_closed());
    finish(&sim).await;
}
