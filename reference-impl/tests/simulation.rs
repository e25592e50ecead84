//! Seeded simulation: a cluster of consumers with random activity and random
//! faults, then a quiet phase, then shutdown; the reaper's invariants are
//! checked after every run.
//!
//! - `REAPER_SIM_SEEDS=N` runs `N` seeds (default 1,000), from
//!   `REAPER_SIM_SEED_START=S` (default 0): seeds `S..S+N`. CI runs the fixed
//!   `0..1000` and a window whose start is derived from the commit (`.ci/run`).
//! - `REAPER_SIM_SEED=S` runs only seed `S`, logging to stderr, and prints
//!   the run's history: `REAPER_SIM_SEED=S cargo test -p quorum-reaper --test simulation -- --nocapture`.
//!
//! The invariants (issue 4):
//! 1. clustered: nothing is deleted locally before the metalayer committed the
//!    removal of its assignment (checked by the simulated cluster on every
//!    local delete); the forced path always logs a warning;
//! 2. no ghost: once the metalayer has been healthy and nobody touched
//!    anything for long enough, no consumer is left (no open instance, no
//!    assignment) — without exclusions: a consumer closed without its quit
//!    still has its assignment reaped, and a stale instance left open after
//!    its leadership moved is still cleaned up;
//! 3. every run of the gated delete ends (none in flight after the quiet
//!    phase), makes at most `max_attempts` proposals, and nothing proposes for
//!    an assignment whose removal has committed;
//! 4. after shutdown no task is alive and nothing still holds a consumer;
//! 5. a proposal only ever targets a consumer idle past its threshold, from
//!    its current leader, naming the assignment the metalayer holds at that
//!    moment, and every run names only its own instance's identity (the
//!    proposals counted against the runs' reports at shutdown): a re-created
//!    consumer is never deleted by the old one's task — checked on what the
//!    reaper proposed, not on what the compare-and-delete applied.
//!
//! `tests/broken_reaper.rs` shows each of these checks failing on a reaper
//! broken on purpose.

mod support;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use quorum_reaper::sim::{Faults, SimCluster, SimEvent, SimRng, SimSetup};
use quorum_reaper::{Outcome, QuitReason};
use support::{fast_config, Capture};
use tokio::time::{sleep_until, Instant};
use tracing::Level;

const DEFAULT_SEEDS: u64 = 1_000;
const CHAOS_MS: u64 = 300_000;
/// Longer than the longest threshold plus the longest re-arm chain.
const QUIET_MS: u64 = 180_000;

#[derive(Clone, Debug)]
enum Action {
    Create {
        key: String,
        threshold: Duration,
        leader: usize,
    },
    Touch(String),
    Ready(bool),
    Faults(Faults),
    MetalayerLeaderChange {
        lose_permille: u64,
    },
    MoveLeader {
        key: String,
        to: usize,
    },
    Recreate {
        key: String,
        stale: bool,
    },
    RemoveAssignment {
        key: String,
        stale: bool,
    },
    CloseWithoutQuit(String),
    StopForOtherReason {
        key: String,
        reason: QuitReason,
    },
    ShutDownNode(usize),
    Heal,
}

struct Plan {
    setup: SimSetup,
    actions: Vec<(u64, Action)>,
}

fn plan(seed: u64) -> Plan {
    let mut rng = SimRng::new(seed);
    let clustered = !rng.chance(100);
    let nodes = if clustered { 3 } else { 1 };
    let mut reaper = fast_config();
    reaper.max_in_flight = rng.range(2, 16) as usize;
    reaper.proposals_per_second = rng.range(5, 100) as u32;
    reaper.proposal_burst = rng.range(1, 10) as u32;
    reaper.max_attempts = rng.range(2, 6) as u32;

    let mut actions = Vec::new();
    let consumers = rng.range(8, 30);
    let keys: Vec<String> = (0..consumers)
        .map(|i| format!("ACC > ORDERS > c{i}"))
        .collect();
    for key in &keys {
        let threshold_ms = rng.range(5, 60) * 1000;
        let created = rng.range(0, 60_000);
        let leader = rng.range(0, nodes as u64 - 1) as usize;
        actions.push((
            created,
            Action::Create {
                key: key.clone(),
                threshold: Duration::from_millis(threshold_ms),
                leader,
            },
        ));
        // Active for a while, with gaps that sometimes exceed the threshold.
        let active_until = rng.range(created, CHAOS_MS);
        let mut at = created;
        loop {
            at += rng.range(500, threshold_ms * 3 / 2);
            if at >= active_until {
                break;
            }
            actions.push((at, Action::Touch(key.clone())));
        }
    }

    let pick = |rng: &mut SimRng| keys[rng.range(0, keys.len() as u64 - 1) as usize].clone();
    let mut node_shut_down = false;
    for _ in 0..rng.range(0, 30) {
        let at = rng.range(0, CHAOS_MS);
        let action = match rng.range(0, 10) {
            0 => {
                actions.push((
                    (at + rng.range(1_000, 60_000)).min(CHAOS_MS),
                    Action::Ready(true),
                ));
                Action::Ready(false)
            }
            1 => Action::Faults(Faults {
                drop_permille: rng.range(0, 900),
                reject_permille: rng.range(0, 300),
                commit_delay_ms: (rng.range(0, 500), rng.range(500, 6_000)),
            }),
            2 => Action::MetalayerLeaderChange {
                lose_permille: rng.range(0, 1000),
            },
            3..=5 => Action::MoveLeader {
                key: pick(&mut rng),
                to: rng.range(0, nodes as u64 - 1) as usize,
            },
            6 => Action::Recreate {
                key: pick(&mut rng),
                stale: rng.chance(500),
            },
            7 => Action::RemoveAssignment {
                key: pick(&mut rng),
                stale: rng.chance(500),
            },
            // Split on the time already drawn, so the seeds' other draws
            // (and the plans of older seeds' replays) stay as they were.
            8 if at % 2 == 1 => Action::CloseWithoutQuit(pick(&mut rng)),
            8 => Action::StopForOtherReason {
                key: pick(&mut rng),
                reason: if at.is_multiple_of(4) {
                    QuitReason::Closed
                } else {
                    QuitReason::ServerShutdown
                },
            },
            _ if clustered && !node_shut_down => {
                node_shut_down = true;
                Action::ShutDownNode(rng.range(0, nodes as u64 - 1) as usize)
            }
            _ => Action::MetalayerLeaderChange { lose_permille: 500 },
        };
        actions.push((at, action));
    }
    actions.push((CHAOS_MS, Action::Heal));
    // Stable: same-time actions keep their generation order.
    actions.sort_by_key(|(at, _)| *at);
    Plan {
        setup: SimSetup {
            nodes,
            clustered,
            seed,
            reaper,
        },
        actions,
    }
}

async fn perform(sim: &SimCluster, action: Action) {
    match action {
        Action::Create {
            key,
            threshold,
            leader,
        } => {
            sim.create_consumer(&key, threshold, leader);
        }
        Action::Touch(key) => {
            sim.touch(&key);
        }
        Action::Ready(ready) => sim.set_ready(ready),
        Action::Faults(faults) => sim.set_faults(faults),
        Action::MetalayerLeaderChange { lose_permille } => {
            sim.change_metalayer_leader(lose_permille)
        }
        Action::MoveLeader { key, to } => {
            sim.move_leader(&key, to);
        }
        Action::Recreate { key, stale } => {
            sim.recreate(&key, stale);
        }
        Action::RemoveAssignment { key, stale } => {
            sim.remove_assignment(&key, stale);
        }
        Action::CloseWithoutQuit(key) => {
            sim.close_without_quit(&key);
        }
        Action::StopForOtherReason { key, reason } => {
            sim.stop_for_other_reason(&key, reason);
        }
        Action::ShutDownNode(node) => {
            sim.shut_down_node(node).await;
        }
        Action::Heal => {
            sim.set_ready(true);
            sim.set_faults(Faults::default());
        }
    }
}

/// What one seed's run produced.
struct Run {
    violations: Vec<String>,
    digest: u64,
    history: Vec<(u64, SimEvent)>,
}

fn run_seed(seed: u64, verbose: bool) -> Run {
    let plan = plan(seed);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let (logs, _guard) =
        Capture::install_up_to(if verbose { Level::DEBUG } else { Level::WARN }, verbose);
    runtime.block_on(async {
        let start = Instant::now();
        let sim = SimCluster::start(plan.setup.clone());
        for (at, action) in plan.actions {
            sleep_until(start + Duration::from_millis(at)).await;
            perform(&sim, action).await;
        }
        sleep_until(start + Duration::from_millis(CHAOS_MS + QUIET_MS)).await;

        let mut violations = sim.violations();
        let seen_by_sim = violations.len();
        // (2) no ghost.
        for ghost in sim.ghosts() {
            violations.push(format!("ghost after the quiet phase: {ghost}"));
        }
        // (3) every run ended.
        for (node, stats) in sim.stats().iter().enumerate() {
            if stats.in_flight + stats.queued > 0 {
                violations.push(format!(
                    "node {node}: runs still going after the quiet phase: {stats:?}"
                ));
            }
        }
        // (1) the forced path always warned, once per forced delete.
        let history = sim.history();
        let mut forced: HashMap<String, usize> = HashMap::new();
        for (_, event) in &history {
            if let SimEvent::Finished { report, .. } = event {
                if matches!(report.outcome, Outcome::ForcedAfterAssignmentChange { .. }) {
                    *forced.entry(report.key.clone()).or_default() += 1;
                }
            }
        }
        let mut warned: HashMap<String, usize> = HashMap::new();
        for event in logs.at(Level::WARN) {
            if event.field("outcome") == Some("forced_after_assignment_change") {
                *warned
                    .entry(event.field("consumer").unwrap_or("?").to_owned())
                    .or_default() += 1;
            }
        }
        if forced != warned {
            violations.push(format!("forced deletes {forced:?} but warnings {warned:?}"));
        }

        // (4) nothing outlives shutdown.
        sim.shutdown().await;
        violations.extend(sim.violations().into_iter().skip(seen_by_sim));
        let alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        if alive > 0 {
            violations.push(format!("{alive} tasks alive after shutdown"));
        }
        let held = sim.instances_held_elsewhere();
        if held > 0 {
            violations.push(format!(
                "{held} consumer instances still held after shutdown"
            ));
        }

        let history = sim.history();
        let mut hasher = DefaultHasher::new();
        format!("{history:?}").hash(&mut hasher);
        Run {
            violations,
            digest: hasher.finish(),
            history,
        }
    })
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// Runs this test's share of the seeds, reporting every failing seed.
fn run_share(share: u64, of: u64) {
    match env_u64("REAPER_SIM_SEED") {
        Some(seed) if share == 0 => replay_one(seed),
        Some(_) => eprintln!("REAPER_SIM_SEED is set: the other share replays it"),
        None => run_many(share, of),
    }
}

/// Replays one seed verbosely: the reaper's log, then the history.
fn replay_one(seed: u64) {
    let run = run_seed(seed, true);
    for (at, event) in &run.history {
        eprintln!("{:>9.3}s {event:?}", *at as f64 / 1000.0);
    }
    assert!(
        run.violations.is_empty(),
        "seed {seed}: {:#?}",
        run.violations
    );
}

fn run_many(share: u64, of: u64) {
    let start = env_u64("REAPER_SIM_SEED_START").unwrap_or(0);
    let count = env_u64("REAPER_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let end = start.saturating_add(count);
    let began = std::time::Instant::now();
    let mut failures = Vec::new();
    for seed in (start..end).filter(|s| s % of == share) {
        let run = run_seed(seed, false);
        if !run.violations.is_empty() {
            eprintln!(
                "seed {seed} FAILED: {:#?}\n  reproduce: REAPER_SIM_SEED={seed} cargo test -p quorum-reaper --test simulation -- --nocapture",
                run.violations
            );
            failures.push(seed);
        }
    }
    eprintln!(
        "seeds {start}..{end} (share {share} of {of}): {} failed, {:.1}s",
        failures.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "failing seeds in {start}..{end}: {failures:?} (see above for how to reproduce one)"
    );
}

#[test]
fn seeds_even() {
    run_share(0, 2);
}

#[test]
fn seeds_odd() {
    run_share(1, 2);
}

#[test]
fn a_seed_replays_identically() {
    for seed in [3, 42, 977] {
        let first = run_seed(seed, false);
        let second = run_seed(seed, false);
        assert_eq!(
            first.digest, second.digest,
            "seed {seed}: the simulation is not deterministic"
        );
        assert!(first.history.len() > 10);
    }
}

#[test]
fn the_plans_cover_every_fault() {
    let mut seen = HashMap::new();
    for seed in 0..200 {
        for (_, action) in plan(seed).actions {
            let name = format!("{action:?}");
            let kind = name.split([' ', '(', '{']).next().unwrap_or("").to_owned();
            *seen.entry(kind).or_insert(0) += 1;
        }
    }
    for kind in [
        "Create",
        "Touch",
        "Ready",
        "Faults",
        "MetalayerLeaderChange",
        "MoveLeader",
        "Recreate",
        "RemoveAssignment",
        "CloseWithoutQuit",
        "StopForOtherReason",
        "ShutDownNode",
        "Heal",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "no plan has {kind}"
        );
    }
}

#[test]
fn outcomes_across_seeds_cover_every_path() {
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    for seed in 0..60 {
        for (_, event) in run_seed(seed, false).history {
            if let SimEvent::Finished { report, .. } = event {
                *seen.entry(report.outcome.name()).or_default() += 1;
            }
        }
    }
    for name in [
        "deleted_locally",
        "deleted_by_metalayer",
        "forced_after_assignment_change",
        "assignment_deleted_after_close",
        "stopped_consumer_closed",
        "stopped_lost_leadership",
        "rearmed",
    ] {
        assert!(seen.contains_key(name), "no seed reached {name}: {seen:?}");
    }
}
