//! Issue 12, item 4: while the metalayer is down, an expiry's re-check takes
//! no proposal slot and spawns no task — it is re-armed in its first, inline
//! poll — so an outage neither eats the proposal budget nor piles up tasks.

use std::time::Duration;

use quorum_reaper::sim::{SimCluster, SimSetup};
use quorum_reaper::Config;
use tokio::time::sleep;

const CONSUMERS: usize = 5_000;
const THRESHOLD: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn an_outage_takes_no_slot_and_spawns_no_task() {
    // The defaults: 1,000 proposals/s with a burst of 100, so before the
    // readiness check came first, all but the burst waited for a slot — as
    // tasks — and each re-check pushed the pacer further out.
    let sim = SimCluster::start(SimSetup {
        nodes: 1,
        clustered: true,
        seed: 12,
        reaper: Config::default(),
    });
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let idle_tasks = tasks();
    for i in 0..CONSUMERS {
        sim.create_consumer(&format!("c{i}"), THRESHOLD, 0);
    }
    sim.set_ready(false);
    let mut most_tasks = 0;
    for _ in 0..40 {
        sleep(Duration::from_secs(10)).await;
        most_tasks = most_tasks.max(tasks());
    }
    let during = sim.stats()[0];
    assert!(
        during.finished >= 3 * CONSUMERS as u64,
        "each expiry re-checked a few times: {during:?}"
    );
    assert_eq!(
        (during.slots, during.spawned, during.proposals),
        (0, 0, 0),
        "{during:?}"
    );
    assert_eq!(
        most_tasks, idle_tasks,
        "tasks beyond the driver and the sim's"
    );
    assert!(
        sim.ghosts().len() >= CONSUMERS,
        "nothing deleted during the outage"
    );

    sim.set_ready(true);
    let mut waited = 0;
    while sim.stats()[0].tracked > 0 {
        sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(waited < 600, "{:?}", sim.stats()[0]);
    }
    assert!(sim.ghosts().is_empty(), "{} left", sim.ghosts().len());
    let after = sim.stats()[0];
    // One slot per proposal, nothing taken by the outage.
    assert_eq!(after.slots, after.proposals, "{after:?}");
    assert_eq!(after.proposals, CONSUMERS as u64, "{after:?}");
    sim.shutdown().await;
    assert_eq!(sim.violations(), Vec::<String>::new());
}
