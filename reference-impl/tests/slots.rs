//! The reaper's slot table: an unregistered consumer is let go of at once
//! (the reaper's reference to it dropped), and a slot handed to another
//! consumer is out of reach of the old handle.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use quorum_reaper::{AssignmentId, Config, Consumer, QuitReason, Reaper, Tracked};
use tokio::time::sleep;

#[path = "support/standalone.rs"]
mod standalone;
use standalone::Standalone;

struct Idle {
    key: String,
    deleted: AtomicBool,
}

impl Consumer for Idle {
    type Key = String;
    const DELETE_MAY_BLOCK: bool = false;

    fn key(&self) -> &String {
        &self.key
    }

    fn assignment(&self) -> Option<AssignmentId> {
        None
    }

    fn is_closed(&self) -> bool {
        self.deleted.load(Ordering::SeqCst)
    }

    fn is_leader(&self) -> bool {
        true
    }

    fn quit(&self) -> impl Future<Output = QuitReason> + Send + '_ {
        std::future::pending()
    }

    fn delete_locally(&self) {
        self.deleted.store(true, Ordering::SeqCst);
    }
}

fn idle(key: &str) -> Arc<Idle> {
    Arc::new(Idle {
        key: key.to_owned(),
        deleted: AtomicBool::new(false),
    })
}

const HOUR: Duration = Duration::from_secs(3600);

/// Issue 12, item 6: an unregistered consumer used to stay in the driver's
/// heap, its `Arc` with it, until its old deadline came up (here an hour).
#[tokio::test(start_paused = true)]
async fn unregistering_drops_the_reapers_reference_at_once() {
    let reaper: Reaper<Standalone, Idle> = Reaper::start(Arc::new(Standalone), Config::default());
    let consumer = idle("c");
    let weak: Weak<Idle> = Arc::downgrade(&consumer);
    let tracked = reaper.register(consumer, HOUR).unwrap();
    sleep(Duration::from_millis(1)).await;
    assert_eq!(reaper.stats().tracked, 1);
    assert!(weak.upgrade().is_some(), "held while tracked");

    tracked.unregister();
    assert!(!tracked.is_tracked());
    sleep(Duration::from_millis(1)).await;
    assert_eq!(
        weak.strong_count(),
        0,
        "the reaper still holds an unregistered consumer"
    );
    let stats = reaper.stats();
    assert_eq!((stats.tracked, stats.scheduled), (0, 0), "{stats:?}");
    reaper.shutdown().await;
}

/// Registered and unregistered before the driver saw the registration.
#[tokio::test(start_paused = true)]
async fn unregistered_before_the_driver_saw_it_is_let_go_of_too() {
    let reaper: Reaper<Standalone, Idle> = Reaper::start(Arc::new(Standalone), Config::default());
    let consumer = idle("c");
    let weak = Arc::downgrade(&consumer);
    reaper.register(consumer, HOUR).unwrap().unregister();
    sleep(Duration::from_millis(1)).await;
    assert_eq!(weak.strong_count(), 0);
    assert_eq!(reaper.stats().tracked, 0);
    reaper.shutdown().await;
}

/// A slot let go of is reused; the old handle's touch and unregister must
/// not reach the consumer that has it now.
#[tokio::test(start_paused = true)]
async fn an_old_handle_cannot_touch_or_unregister_the_slots_next_consumer() {
    let reaper: Reaper<Standalone, Idle> = Reaper::start(Arc::new(Standalone), Config::default());
    let old: Tracked<Idle> = reaper.register(idle("old"), HOUR).unwrap();
    old.unregister();
    sleep(Duration::from_millis(1)).await;
    assert_eq!(reaper.stats().tracked, 0);

    let next = idle("next");
    let tracked = reaper
        .register(next.clone(), Duration::from_secs(10))
        .unwrap();
    assert!(!old.is_tracked() && tracked.is_tracked());
    for _ in 0..9 {
        sleep(Duration::from_secs(1)).await;
        old.touch();
        old.unregister();
    }
    assert!(tracked.is_tracked(), "the old handle unregistered it");
    sleep(Duration::from_millis(1_100)).await;
    assert!(
        next.is_closed(),
        "the old handle's touches kept the next consumer alive"
    );
    assert!(!tracked.is_tracked());
    reaper.shutdown().await;
}

/// The slot a handle holds, from its `Debug` form.
fn slot_of(tracked: &Tracked<Idle>) -> u32 {
    format!("{tracked:?}")
        .split("slot: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .expect("slot in the handle's Debug")
}

/// Register, unregister, repeat: slots are reused, so the table does not grow.
#[tokio::test(start_paused = true)]
async fn churn_reuses_slots() {
    let reaper: Reaper<Standalone, Idle> = Reaper::start(Arc::new(Standalone), Config::default());
    let kept = reaper.register(idle("kept"), HOUR).unwrap();
    let mut highest = 0;
    for round in 0..20 {
        let batch: Vec<_> = (0..500)
            .map(|i| {
                reaper
                    .register(idle(&format!("c{round}-{i}")), HOUR)
                    .unwrap()
            })
            .collect();
        highest = batch.iter().map(slot_of).fold(highest, u32::max);
        sleep(Duration::from_millis(1)).await;
        batch.iter().for_each(Tracked::unregister);
        sleep(Duration::from_millis(1)).await;
        let stats = reaper.stats();
        assert_eq!((stats.tracked, stats.scheduled), (1, 1), "{stats:?}");
    }
    assert!(
        highest <= 500,
        "10,000 registrations, 501 at most at once, reached slot {highest}"
    );
    assert!(kept.is_tracked());
    reaper.shutdown().await;
}
