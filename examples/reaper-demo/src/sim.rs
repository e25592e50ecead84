//! The simulated cluster's acts (`--backend sim`): one short act per path of
//! the gated delete on a simulated 3-node cluster, on tokio's paused clock
//! (so the minutes of simulated time take a second), printing the
//! metalayer's side (`sim:` lines) and the reaper's own log.

use std::sync::Arc;
use std::time::Duration;

use quorum_reaper::sim::{Faults, SimCluster, SimEvent, SimSetup};
use quorum_reaper::{Config, Consumer, Outcome};
use tokio::time::{sleep, Instant};
use tracing::Level;

use crate::subscriber;

const THRESHOLD: Duration = Duration::from_secs(30);

fn config() -> Config {
    Config {
        initial_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(16),
        max_attempts: 8,
        unavailable_recheck: Duration::from_secs(5),
        max_in_flight: 1_000,
        max_local_deletes: 16,
        proposals_per_second: 2_000,
        proposal_burst: 100,
        warnings_per_window: 3,
        warning_window: Duration::from_secs(30),
    }
}

/// Runs one act with its own cluster and log subscriber; returns whether the
/// contract held.
async fn act<F, Fut>(
    title: &str,
    story: &str,
    nodes: usize,
    clustered: bool,
    level: Level,
    play: F,
) -> bool
where
    F: FnOnce(Arc<SimCluster>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    println!("\n━━ {title} ━━");
    println!("   {story}");
    let _guard = tracing::subscriber::set_default(subscriber(Instant::now(), level));
    let sim = SimCluster::start(SimSetup {
        nodes,
        clustered,
        seed: 2026,
        reaper: config(),
    });
    if level >= Level::INFO {
        sim.set_event_hook(Box::new(|at, event| {
            if let Some(line) = describe(event) {
                println!("t={:>7.3}s   sim: {line}", at as f64 / 1000.0);
            }
        }));
    }
    play(sim.clone()).await;
    sim.shutdown().await;
    let violations = sim.violations();
    if violations.is_empty() {
        println!("   ✓ contract held: no premature delete, nothing left running after shutdown");
    } else {
        println!("   ✗ contract broken: {violations:#?}");
    }
    violations.is_empty()
}

/// The metalayer-side events worth a line.
fn describe(event: &SimEvent) -> Option<String> {
    Some(match event {
        SimEvent::Created {
            key,
            assignment,
            leader,
        } => format!("{key} created, assignment {assignment}, leader node {leader}"),
        SimEvent::Proposed {
            key,
            assignment,
            node,
            fate,
        } => {
            format!("node {node} proposes deleting {key} {assignment} -> {fate:?}")
        }
        SimEvent::Committed {
            key,
            assignment,
            applied: true,
        } => format!("metalayer committed: delete {key} {assignment}"),
        SimEvent::Committed {
            key,
            assignment,
            applied: false,
        } => {
            format!("metalayer ignored a late delete of {key} {assignment}: the name now belongs to another assignment")
        }
        SimEvent::StoppedByApply { key, node, .. } => {
            format!("apply path stopped {key} on node {node}")
        }
        SimEvent::DeletedLocally { key, node, .. } => {
            format!("{key} deleted locally on node {node}")
        }
        SimEvent::Replaced {
            key,
            old,
            new,
            stale_left_open,
        } => format!(
            "{key} re-created: {old} -> {new}{}",
            if *stale_left_open {
                " (node missed it: old instance still open)"
            } else {
                ""
            }
        ),
        SimEvent::ClosedWithoutQuit { key, .. } => {
            format!("{key} closed, but its quit signal never fires")
        }
        SimEvent::LeaderMoved { key, from, to } => {
            format!("{key}: leadership moves node {from} -> node {to}")
        }
        SimEvent::MetalayerReady(ready) => {
            format!("metalayer {}", if *ready { "is back" } else { "is DOWN" })
        }
        SimEvent::Finished { node, report } => {
            format!(
                "node {node}: {} -> {} ({} proposals)",
                report.key, report.outcome, report.proposals
            )
        }
        _ => return None,
    })
}

/// Where a consumer stands at the end of an act.
fn status(sim: &SimCluster, key: &str, node: usize) -> String {
    let alive = sim.instance(key, node).is_some_and(|c| !c.is_closed());
    let last = sim.outcomes(key).last().map(Outcome::to_string);
    match (alive, last) {
        (true, _) => "alive".to_owned(),
        (false, Some(last)) => format!("gone ({last})"),
        (false, None) => "gone".to_owned(),
    }
}

/// Plays every act (under tokio's paused clock); returns whether the
/// contract held in all of them.
pub async fn play() -> bool {
    let mut held = true;
    println!("quorum-reaper demo: inactive consumers are deleted only once the metalayer agrees.");
    println!(
        "Threshold {}s; backoff 2s doubling to 16s; simulated time.",
        THRESHOLD.as_secs()
    );

    held &= act(
        "1. Standalone server",
        "No cluster: an idle consumer is deleted locally when its threshold passes.",
        1,
        false,
        Level::DEBUG,
        |sim| async move {
            sim.create_consumer("ACC > ORDERS > idle", THRESHOLD, 0);
            sleep(THRESHOLD + Duration::from_secs(1)).await;
            println!("   => idle: {}", status(&sim, "ACC > ORDERS > idle", 0));
        },
    )
    .await;

    held &= act(
        "2. Healthy cluster",
        "An idle consumer is proposed for deletion and deleted when the commit stops it; a busy one stays.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            sim.set_faults(Faults { commit_delay_ms: (300, 300), ..Faults::default() });
            sim.create_consumer("ACC > ORDERS > idle", THRESHOLD, 1);
            sim.create_consumer("ACC > ORDERS > busy", THRESHOLD, 2);
            for _ in 0..5 {
                sleep(Duration::from_secs(10)).await;
                sim.touch("ACC > ORDERS > busy");
            }
            println!("   => idle: {}", status(&sim, "ACC > ORDERS > idle", 1));
            println!("   => busy: {}", status(&sim, "ACC > ORDERS > busy", 2));
        },
    )
    .await;

    held &= act(
        "3. Metalayer down when the threshold passes (review: silent return, ghost consumer)",
        "The reaper warns and re-arms the check instead of returning silently; the consumer is reaped once the metalayer is back.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            sim.create_consumer("ACC > ORDERS > ephemeral", THRESHOLD, 0);
            sleep(Duration::from_secs(20)).await;
            sim.set_ready(false);
            sleep(Duration::from_secs(40)).await;
            println!("   => during the outage: {}", status(&sim, "ACC > ORDERS > ephemeral", 0));
            sim.set_ready(true);
            sleep(Duration::from_secs(30)).await;
            println!("   => after the outage: {}", status(&sim, "ACC > ORDERS > ephemeral", 0));
        },
    )
    .await;

    held &= act(
        "4. Proposals lost",
        "The metalayer drops every proposal for a while: the reaper retries with min(d*2, max) backoff, warning (rate-limited), until one commits.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            sim.set_faults(Faults { drop_permille: 1000, ..Faults::default() });
            sim.create_consumer("ACC > ORDERS > unlucky", THRESHOLD, 0);
            sleep(THRESHOLD + Duration::from_secs(20)).await;
            sim.set_faults(Faults::default());
            sleep(Duration::from_secs(20)).await;
            println!("   => unlucky: {}", status(&sim, "ACC > ORDERS > unlucky", 0));
        },
    )
    .await;

    held &= act(
        "5. Re-created under the same name while the old delete waits (ABA)",
        "The old instance is cleaned up locally with a warning; the new consumer, same name and config, is untouched.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            sim.set_faults(Faults { drop_permille: 1000, ..Faults::default() });
            sim.create_consumer("ACC > ORDERS > reborn", THRESHOLD, 0);
            sleep(THRESHOLD + Duration::from_secs(3)).await;
            let old = sim.instance("ACC > ORDERS > reborn", 0);
            sim.recreate("ACC > ORDERS > reborn", true);
            sim.set_faults(Faults::default());
            sleep(Duration::from_secs(10)).await;
            let old_state = if old.is_some_and(|o| o.is_closed()) { "deleted" } else { "alive" };
            println!("   => old instance: {old_state}; new consumer: {}", status(&sim, "ACC > ORDERS > reborn", 0));
        },
    )
    .await;

    held &= act(
        "6. Closed, but the quit signal never fires (review: endless retry)",
        "The instance is closed but its assignment is still held: the reaper keeps proposing the assignment's delete (a few per run, then backoff), deletes nothing locally, and stops once the metalayer removed it.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            let key = "ACC > ORDERS > half-closed";
            let proposals = |sim: &SimCluster| {
                sim.history()
                    .iter()
                    .filter(|(_, e)| matches!(e, SimEvent::Proposed { .. }))
                    .count()
            };
            sim.set_faults(Faults {
                drop_permille: 1000,
                ..Faults::default()
            });
            sim.create_consumer(key, THRESHOLD, 0);
            sleep(THRESHOLD + Duration::from_secs(3)).await;
            sim.close_without_quit(key);
            let at_close = proposals(&sim);
            sleep(Duration::from_secs(60)).await;
            let lost = proposals(&sim) - at_close;
            sim.set_faults(Faults::default());
            sleep(Duration::from_secs(60)).await;
            let removed = sim.current_assignment(key).is_none();
            let before = proposals(&sim);
            sleep(Duration::from_secs(120)).await;
            println!(
                "   => {at_close} proposals before the close, {lost} lost in the next minute; assignment removed: {removed}; proposals after that: {}",
                proposals(&sim) - before
            );
        },
    )
    .await;

    held &= act(
        "7. Leadership moves while the delete waits",
        "The old leader's waiting delete stops at once; the new leader tracks the consumer afresh and reaps it.",
        3,
        true,
        Level::DEBUG,
        |sim| async move {
            sim.set_faults(Faults { drop_permille: 1000, ..Faults::default() });
            sim.create_consumer("ACC > ORDERS > moving", THRESHOLD, 0);
            sleep(THRESHOLD + Duration::from_secs(3)).await;
            sim.move_leader("ACC > ORDERS > moving", 1);
            sim.set_faults(Faults::default());
            sleep(THRESHOLD + Duration::from_secs(2)).await;
            println!("   => moving: {}", status(&sim, "ACC > ORDERS > moving", 1));
        },
    )
    .await;

    held &= act(
        "8. Shutdown with deletes waiting",
        "Every waiting delete ends with `stopped_shutdown`; nothing is deleted and no task or timer is left.",
        3,
        true,
        Level::INFO,
        |sim| async move {
            sim.set_faults(Faults { drop_permille: 1000, ..Faults::default() });
            for i in 0..5 {
                sim.create_consumer(&format!("ACC > ORDERS > c{i}"), THRESHOLD, i % 3);
            }
            sleep(THRESHOLD + Duration::from_secs(3)).await;
            let waiting: usize = sim.stats().iter().map(|s| s.in_flight).sum();
            println!("   => {waiting} deletes waiting; shutting down");
        },
    )
    .await;

    held &= act(
        "9. Mass expiry: 20,000 consumers at once, metalayer down at that moment",
        "Warnings are folded into a few lines; once it is back, proposals go out at most 2,000/s and all are reaped.",
        1,
        true,
        Level::WARN,
        |sim| async move {
            for i in 0..20_000 {
                sim.create_consumer(&format!("ACC > EVENTS > e{i}"), THRESHOLD, 0);
            }
            sim.set_ready(false);
            sleep(THRESHOLD + Duration::from_secs(45)).await;
            sim.set_ready(true);
            let back = Instant::now();
            while !sim.ghosts().is_empty() {
                sleep(Duration::from_secs(1)).await;
            }
            let mut per_second = std::collections::BTreeMap::<u64, u64>::new();
            for (at, event) in sim.history() {
                if matches!(event, SimEvent::Proposed { .. }) {
                    *per_second.entry(at / 1000).or_default() += 1;
                }
            }
            let busiest = per_second.values().max().copied().unwrap_or(0);
            println!(
                "   => all 20,000 reaped {:.1}s after the metalayer came back; busiest second: {busiest} proposals",
                back.elapsed().as_secs_f64()
            );
        },
    )
    .await;
    held
}
