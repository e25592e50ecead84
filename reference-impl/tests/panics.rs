//! A panic in the broker's code (here `delete_locally`) must not take the
//! driver down: the consumer is re-armed and every other consumer is still
//! reaped.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_reaper::{
    AssignmentId, Config, Consumer, LocalReason, Observer, Outcome, QuitReason, Reaper,
    RearmReason, Report,
};
use tokio::time::sleep;

#[path = "support/standalone.rs"]
mod standalone;
use standalone::Standalone;

struct Flaky {
    key: String,
    panics_left: AtomicU32,
    deleted: AtomicBool,
}

impl Consumer for Flaky {
    type Key = String;

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
        if self.panics_left.load(Ordering::SeqCst) > 0 {
            self.panics_left.fetch_sub(1, Ordering::SeqCst);
            panic!("broker bug while deleting {}", self.key);
        }
        self.deleted.store(true, Ordering::SeqCst);
    }
}

fn flaky(key: &str, panics: u32) -> Arc<Flaky> {
    Arc::new(Flaky {
        key: key.to_owned(),
        panics_left: AtomicU32::new(panics),
        deleted: AtomicBool::new(false),
    })
}

#[tokio::test(start_paused = true)]
async fn a_panicking_delete_is_rearmed_and_the_driver_keeps_going() {
    let reports = Arc::new(Mutex::new(Vec::<Report<String>>::new()));
    let sink = reports.clone();
    let observer: Observer<String> =
        Arc::new(move |r: &Report<String>| sink.lock().unwrap().push(r.clone()));
    let config = Config {
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        ..Config::default()
    };
    let reaper = Reaper::start_with_observer(Arc::new(Standalone), config, Some(observer));
    let bad = flaky("bad", 1);
    let good = flaky("good", 0);
    reaper
        .register(bad.clone(), Duration::from_secs(10))
        .unwrap();
    reaper
        .register(good.clone(), Duration::from_secs(12))
        .unwrap();
    sleep(Duration::from_secs(13)).await;
    assert!(good.is_closed(), "the driver stopped after the panic");
    assert!(!bad.is_closed());
    sleep(Duration::from_secs(10)).await;
    assert!(
        bad.is_closed(),
        "the panicked consumer was not checked again"
    );
    let outcomes: Vec<(String, Outcome)> = reports
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.key.clone(), r.outcome.clone()))
        .collect();
    let deleted = Outcome::deleted_locally(LocalReason::Standalone);
    assert_eq!(
        outcomes,
        [
            ("bad".to_owned(), Outcome::rearmed(RearmReason::Panicked)),
            ("good".to_owned(), deleted.clone()),
            ("bad".to_owned(), deleted),
        ]
    );
    reaper.shutdown().await;
}
