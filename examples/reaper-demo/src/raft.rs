//! The openraft cluster's acts (the default): a real 3-node raft cluster in
//! this process, on the real clock. Each node is a broker with its own
//! reaper; consumers are led by the raft leader; a delete is a raft commit
//! whose apply stops the consumer on every node.

use std::future::Future;
use std::time::Duration;

use quorum_reaper::node::NodeEvent;
use quorum_reaper::raft::{RaftCluster, RaftSetup};
use quorum_reaper::{AssignmentId, Config};
use tokio::time::{sleep, Instant};
use tracing::Level;

use crate::subscriber;

const THRESHOLD: Duration = Duration::from_millis(1500);
/// How long an act waits for what must happen before calling it broken.
const PATIENCE: Duration = Duration::from_secs(20);

fn config() -> Config {
    Config {
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
        max_attempts: 8,
        unavailable_recheck: Duration::from_millis(500),
        max_in_flight: 1_000,
        max_local_deletes: 16,
        proposals_per_second: 2_000,
        proposal_burst: 100,
        warnings_per_window: 3,
        warning_window: Duration::from_secs(10),
    }
}

/// Runs one act on a fresh cluster with its own log subscriber; returns
/// whether the contract held.
async fn act<F, Fut>(title: &str, story: &str, play: F) -> bool
where
    F: FnOnce(RaftCluster) -> Fut,
    Fut: Future<Output = RaftCluster>,
{
    println!("\n━━ {title} ━━");
    println!("   {story}");
    let start = Instant::now();
    let _guard = tracing::subscriber::set_default(subscriber(start, Level::DEBUG));
    let cluster = match RaftCluster::start(RaftSetup::new(3, config())).await {
        Ok(cluster) => cluster,
        Err(error) => {
            println!("   ✗ the raft cluster did not start: {error}");
            return false;
        }
    };
    cluster.journal().set_hook(Box::new(move |_, event| {
        if let Some(line) = describe(event) {
            println!("t={:>7.3}s   raft: {line}", start.elapsed().as_secs_f64());
        }
    }));
    let cluster = play(cluster).await;
    cluster.shutdown().await;
    let breaches = contract_breaches(&cluster);
    if breaches.is_empty() {
        println!("   ✓ contract held: nothing deleted before a commit, nothing left running after shutdown");
    } else {
        println!("   ✗ contract broken: {breaches:#?}");
    }
    breaches.is_empty()
}

/// The node events worth a line.
fn describe(event: &NodeEvent) -> Option<String> {
    Some(match event {
        NodeEvent::Created {
            node,
            key,
            assignment,
            leader: true,
        } => format!(
            "node {node} applied: create {key} {assignment}; it leads, its reaper tracks it"
        ),
        NodeEvent::Proposed {
            node,
            key,
            assignment,
            forwarded: None,
        } => format!("node {node} proposes deleting {key} {assignment} (held back on its way)"),
        NodeEvent::Proposed {
            node,
            key,
            assignment,
            forwarded: Some(result),
        } => format!("node {node} proposes deleting {key} {assignment} -> {result:?}"),
        NodeEvent::Released {
            node,
            key,
            assignment,
            ..
        } => format!("node {node}: the held proposal to delete {key} {assignment} goes out now"),
        NodeEvent::Removed {
            node,
            key,
            assignment,
            stopped,
        } => format!(
            "node {node} applied: remove {key} {assignment}{}",
            if *stopped {
                " -> its instance stopped (quit fired)"
            } else {
                ""
            }
        ),
        NodeEvent::DeletedLocally {
            node,
            key,
            assignment,
        } => {
            format!("node {node} deleted {key} {assignment} LOCALLY")
        }
        NodeEvent::Leadership { node, leader } => format!(
            "node {node} {} the raft leader",
            if *leader { "is now" } else { "is no longer" }
        ),
        NodeEvent::Finished { node, report } => format!(
            "node {node}: {} -> {} ({} proposals)",
            report.key, report.outcome, report.proposals
        ),
        NodeEvent::NodeDown { node } => format!("node {node} is down"),
        NodeEvent::Created { .. } | NodeEvent::Placed { .. } | NodeEvent::ShuttingDown { .. } => {
            return None
        }
    })
}

/// Nothing deleted locally before its removal committed; nothing held by a
/// reaper after shutdown.
fn contract_breaches(cluster: &RaftCluster) -> Vec<String> {
    let events = cluster.journal().events();
    let mut breaches = Vec::new();
    for (i, (_, event)) in events.iter().enumerate() {
        if let NodeEvent::DeletedLocally {
            node,
            key,
            assignment,
        } = event
        {
            let committed = events[..i].iter().any(
                |(_, e)| matches!(e, NodeEvent::Removed { assignment: a, .. } if a == assignment),
            );
            if !committed {
                breaches.push(format!(
                    "{key} {assignment} deleted locally on node {node} before its removal committed"
                ));
            }
        }
    }
    let held: usize = (0..cluster.len())
        .map(|i| cluster.node(i).instances_held_elsewhere())
        .sum();
    if held > 0 {
        breaches.push(format!("{held} consumers still held after shutdown"));
    }
    breaches
}

/// Where `key` stands on every node.
fn status(cluster: &RaftCluster, key: &str) -> String {
    (0..cluster.len())
        .map(|node| {
            let state = match cluster.node(node).instance(key) {
                Some(i) if i.is_open() => format!("open {}", i.assignment_id()),
                Some(i) => format!("stopped {}", i.assignment_id()),
                None => "gone".to_owned(),
            };
            let down = if cluster.is_up(node) { "" } else { " (down)" };
            format!("node {node}: {state}{down}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits until `condition` holds (or the act's patience runs out).
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        if Instant::now() >= deadline {
            println!("   !! not within {PATIENCE:?}: {what}");
            return;
        }
        sleep(Duration::from_millis(20)).await;
    }
}

fn proposed(cluster: &RaftCluster, key: &str, assignment: AssignmentId) -> bool {
    cluster.journal().events().iter().any(|(_, e)| {
        matches!(e, NodeEvent::Proposed { key: k, assignment: a, .. } if k == key && *a == assignment)
    })
}

fn gone_everywhere(cluster: &RaftCluster, key: &str) -> bool {
    (0..cluster.len())
        .filter(|&n| cluster.is_up(n))
        .all(|n| cluster.node(n).instance(key).is_none_or(|i| !i.is_open()))
}

async fn create(cluster: &RaftCluster, key: &str) -> Option<AssignmentId> {
    match cluster.create_consumer(key, THRESHOLD).await {
        Ok(assignment) => Some(assignment),
        Err(error) => {
            println!("   !! could not create {key}: {error}");
            None
        }
    }
}

/// Plays every act; returns whether the contract held in all of them.
pub async fn play() -> bool {
    println!("quorum-reaper demo on openraft: a 3-node raft cluster in this process, real time.");
    println!(
        "Threshold {:.1}s; backoff 0.5s doubling to 2s. Consumers are led by the raft leader.",
        THRESHOLD.as_secs_f64()
    );
    let mut held = true;

    held &= act(
        "1. Healthy cluster",
        "An idle consumer is proposed for deletion; the raft commit stops it on every node. A busy one stays.",
        |cluster| async move {
            create(&cluster, "ACC > ORDERS > idle").await;
            create(&cluster, "ACC > ORDERS > busy").await;
            let until = Instant::now() + THRESHOLD * 2;
            while Instant::now() < until {
                cluster.touch("ACC > ORDERS > busy");
                sleep(THRESHOLD / 4).await;
            }
            println!("   => idle: {}", status(&cluster, "ACC > ORDERS > idle"));
            println!("   => busy: {}", status(&cluster, "ACC > ORDERS > busy"));
            cluster
        },
    )
    .await;

    held &= act(
        "2. No quorum when the threshold passes (review: silent return, ghost consumer)",
        "Every link is cut: the leader cannot confirm its leadership, so its reaper warns and re-arms; healed, the consumer is reaped.",
        |cluster| async move {
            create(&cluster, "ACC > ORDERS > ephemeral").await;
            cluster.isolate_all();
            println!("   (every raft link cut)");
            sleep(THRESHOLD * 2).await;
            println!("   => during the outage: {}", status(&cluster, "ACC > ORDERS > ephemeral"));
            cluster.heal();
            println!("   (links restored)");
            wait_for("the consumer is reaped", || {
                gone_everywhere(&cluster, "ACC > ORDERS > ephemeral")
            })
            .await;
            println!("   => after the outage: {}", status(&cluster, "ACC > ORDERS > ephemeral"));
            cluster
        },
    )
    .await;

    held &= act(
        "3. Re-created under the same name while the old delete is in flight (ABA)",
        "The old delete reaches raft after the re-creation: the compare-and-delete ignores it, the new consumer stays.",
        |cluster| async move {
            let key = "ACC > ORDERS > reborn";
            let leader = cluster.leader().unwrap_or(0);
            cluster.node(leader).hold_proposals();
            let Some(old) = create(&cluster, key).await else {
                return cluster;
            };
            wait_for("the old delete is proposed", || proposed(&cluster, key, old)).await;
            create(&cluster, key).await;
            cluster.node(leader).release_proposals();
            let until = Instant::now() + THRESHOLD;
            while Instant::now() < until {
                cluster.touch(key);
                sleep(THRESHOLD / 4).await;
            }
            println!("   => {key}: {}", status(&cluster, key));
            cluster
        },
    )
    .await;

    held &= act(
        "4. The raft leader dies with an uncommitted delete in its log",
        "Its delete never commits; the new leader tracks the consumer afresh and reaps it.",
        |cluster| async move {
            let key = "ACC > ORDERS > orphan";
            let leader = cluster.leader().unwrap_or(0);
            let Some(c) = create(&cluster, key).await else {
                return cluster;
            };
            cluster.stall_replication(leader);
            println!("   (node {leader}'s log replication stalled)");
            wait_for("the delete is proposed", || proposed(&cluster, key, c)).await;
            sleep(Duration::from_millis(200)).await;
            println!("   (killing node {leader})");
            cluster.kill(leader).await;
            cluster.heal();
            wait_for("the consumer is reaped", || gone_everywhere(&cluster, key)).await;
            println!("   => {key}: {}", status(&cluster, key));
            cluster
        },
    )
    .await;

    held &= act(
        "5. The leader is cut off with a minority of one",
        "It keeps its consumer and does not delete it; the majority elects a leader that reaps it; healed, the old leader applies the removal.",
        |cluster| async move {
            let key = "ACC > ORDERS > split";
            let minority = cluster.leader().unwrap_or(0);
            create(&cluster, key).await;
            cluster.isolate(minority);
            println!("   (node {minority} cut off)");
            wait_for("the majority reaps the consumer", || {
                (0..cluster.len())
                    .filter(|&n| n != minority)
                    .all(|n| cluster.node(n).instance(key).is_none_or(|i| !i.is_open()))
            })
            .await;
            println!("   => while cut off: {}", status(&cluster, key));
            cluster.heal();
            println!("   (links restored)");
            wait_for("the old leader applies the removal", || {
                gone_everywhere(&cluster, key)
            })
            .await;
            println!("   => healed: {}", status(&cluster, key));
            cluster
        },
    )
    .await;

    held &= act(
        "6. Shutdown with a delete waiting",
        "The waiting delete ends with `stopped_shutdown`: nothing is deleted and no task or timer is left.",
        |cluster| async move {
            let key = "ACC > ORDERS > waiting";
            let leader = cluster.leader().unwrap_or(0);
            cluster.node(leader).hold_proposals();
            if let Some(c) = create(&cluster, key).await {
                wait_for("the delete is proposed", || proposed(&cluster, key, c)).await;
            }
            println!("   => before shutdown: {}", status(&cluster, key));
            cluster
        },
    )
    .await;
    held
}
