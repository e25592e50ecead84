//! Issue 12, item 3: a broker's `delete_locally` may block (a real consumer
//! delete touches the disk). It runs on the blocking pool, at most
//! `max_local_deletes` at once, never on the driver: one consumer whose delete
//! blocks for seconds does not hold up the others. Real time (a blocking
//! delete stops tokio's paused clock from advancing).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quorum_reaper::{AssignmentId, Config, Consumer, QuitReason, Reaper};

#[path = "support/standalone.rs"]
mod standalone;
use standalone::Standalone;

const SLOW_DELETE: Duration = Duration::from_secs(3);

/// A consumer whose delete blocks the calling thread for `delete_takes`.
struct Slow {
    key: String,
    delete_takes: Duration,
    deleted_at: Mutex<Option<Instant>>,
    deleted: AtomicBool,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
}

impl Consumer for Slow {
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

    // DELETE_MAY_BLOCK keeps its default, true.
    fn delete_locally(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delete_takes);
        self.running.fetch_sub(1, Ordering::SeqCst);
        *self.deleted_at.lock().unwrap() = Some(Instant::now());
        self.deleted.store(true, Ordering::SeqCst);
    }
}

struct Counters {
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            running: Arc::new(AtomicUsize::new(0)),
            most_running: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn consumer(&self, key: &str, delete_takes: Duration) -> Arc<Slow> {
        Arc::new(Slow {
            key: key.to_owned(),
            delete_takes,
            deleted_at: Mutex::new(None),
            deleted: AtomicBool::new(false),
            running: self.running.clone(),
            most_running: self.most_running.clone(),
        })
    }
}

fn config(max_local_deletes: usize) -> Config {
    Config {
        max_local_deletes,
        ..Config::default()
    }
}

/// One delete blocks for 3 s; the 200 others expiring just after it are all
/// deleted within a few hundred milliseconds of their threshold.
#[tokio::test(flavor = "current_thread")]
async fn one_blocking_delete_does_not_hold_up_the_others() {
    let counters = Counters::new();
    let reaper = Reaper::start(Arc::new(Standalone), config(16));
    let start = Instant::now();
    let slow = counters.consumer("slow", SLOW_DELETE);
    let _slow = reaper
        .register(slow.clone(), Duration::from_millis(100))
        .unwrap();
    let threshold = Duration::from_millis(300);
    let quick: Vec<Arc<Slow>> = (0..200)
        .map(|i| counters.consumer(&format!("quick{i}"), Duration::from_millis(1)))
        .collect();
    let _tracked: Vec<_> = quick
        .iter()
        .map(|c| reaper.register(c.clone(), threshold).unwrap())
        .collect();

    tokio::time::sleep(threshold + Duration::from_millis(700)).await;
    assert!(!slow.is_closed(), "the slow delete is still running");
    let late: Vec<String> = quick
        .iter()
        .filter(|c| {
            c.deleted_at
                .lock()
                .unwrap()
                .is_none_or(|at| at - start > threshold + Duration::from_millis(600))
        })
        .map(|c| c.key.clone())
        .collect();
    assert!(late.is_empty(), "reaped late or not at all: {late:?}");

    tokio::time::sleep(SLOW_DELETE).await;
    assert!(slow.is_closed());
    assert_eq!(reaper.stats().deleted, 201);
    reaper.shutdown().await;
}

/// At most `max_local_deletes` deletes run at once; the rest wait their turn
/// (in their own runs) and are all done in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_deletes_are_bounded() {
    let counters = Counters::new();
    let reaper = Reaper::start(Arc::new(Standalone), config(2));
    let consumers: Vec<Arc<Slow>> = (0..6)
        .map(|i| counters.consumer(&format!("c{i}"), Duration::from_millis(300)))
        .collect();
    let _tracked: Vec<_> = consumers
        .iter()
        .map(|c| {
            reaper
                .register(c.clone(), Duration::from_millis(50))
                .unwrap()
        })
        .collect();
    let began = Instant::now();
    while consumers.iter().any(|c| !c.is_closed()) {
        assert!(began.elapsed() < Duration::from_secs(10), "not all deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(counters.most_running.load(Ordering::SeqCst), 2);
    // Six deletes of 300 ms, two at a time: about 900 ms, not 300 ms.
    assert!(
        began.elapsed() >= Duration::from_millis(850),
        "{:?}",
        began.elapsed()
    );
    reaper.shutdown().await;
}
