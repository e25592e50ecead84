//! 100,000 consumers expiring at once: the metalayer is not flooded
//! (proposals paced, deletes in flight capped) and neither is the log.

mod support;

use std::time::Duration;

use quorum_reaper::sim::{Faults, SimCluster, SimEvent, SimSetup};
use quorum_reaper::Config;
use support::Capture;
use tokio::time::sleep;
use tracing::Level;

const CONSUMERS: usize = 100_000;
const THRESHOLD: Duration = Duration::from_secs(60);

fn config() -> Config {
    Config {
        initial_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(300),
        max_attempts: 10,
        unavailable_recheck: Duration::from_secs(10),
        max_in_flight: 2_000,
        max_local_deletes: 16,
        proposals_per_second: 5_000,
        proposal_burst: 200,
        warnings_per_window: 10,
        warning_window: Duration::from_secs(60),
    }
}

#[tokio::test(start_paused = true)]
async fn mass_expiry_is_paced_and_logs_stay_short() {
    let (logs, _guard) = Capture::install_up_to(Level::WARN, false);
    let sim = SimCluster::start(SimSetup {
        nodes: 1,
        clustered: true,
        seed: 11,
        reaper: config(),
    });
    sim.set_faults(Faults {
        commit_delay_ms: (5, 200),
        ..Faults::default()
    });
    for i in 0..CONSUMERS {
        sim.create_consumer(&format!("c{i}"), THRESHOLD, 0);
    }
    // The metalayer is down exactly when they all expire.
    sim.set_ready(false);
    sleep(THRESHOLD + Duration::from_secs(1)).await;
    let stats = sim.stats()[0];
    assert!(stats.in_flight <= 2_000, "{stats:?}");
    sleep(Duration::from_secs(120)).await;
    // Every consumer was re-armed at least twice, yet only a handful of lines.
    let warnings = logs.at(Level::WARN);
    assert!(
        warnings.len() <= 30,
        "{} warnings for one outage",
        warnings.len()
    );
    // The folded ones are counted, on the next warning let through or in a summary.
    let folded: u64 = warnings
        .iter()
        .filter_map(|w| w.field("folded_similar").or(w.field("metalayer_not_ready")))
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    assert!(folded > 2 * CONSUMERS as u64, "only {folded} folded");
    assert_eq!(
        sim.ghosts().len(),
        2 * CONSUMERS,
        "nothing may be deleted during the outage"
    );

    logs.clear();
    sim.set_ready(true);
    sleep(Duration::from_secs(400)).await;
    assert!(sim.ghosts().is_empty(), "{} left", sim.ghosts().len());
    assert!(logs.at(Level::WARN).len() <= 30);

    // Proposals never exceeded the rate (plus the burst) in any second.
    let mut per_second = std::collections::BTreeMap::<u64, u64>::new();
    for (at, event) in sim.history() {
        if matches!(event, SimEvent::Proposed { .. }) {
            *per_second.entry(at / 1000).or_default() += 1;
        }
    }
    let busiest = per_second.values().copied().max().unwrap_or(0);
    assert!(busiest <= 5_000 + 200, "{busiest} proposals in one second");
    assert_eq!(per_second.values().sum::<u64>(), CONSUMERS as u64);
    assert_eq!(sim.violations(), Vec::<String>::new());
    sim.shutdown().await;
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        0
    );
}
