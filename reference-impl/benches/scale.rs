//! One million tracked consumers: the reaper (one driver, a deadline heap,
//! lazy re-check) against the naive design (one tokio task per consumer,
//! each with its own `Sleep`, reset on activity), in the same run.
//!
//! `cargo bench -p quorum-reaper --bench scale` (release). `REAPER_BENCH_N`
//! changes the number of consumers (default 1,000,000).
//!
//! Measured per design: bytes per tracked consumer (live heap bytes from a
//! counting global allocator, and resident memory from /proc), registrations
//! per second, touches per second (the call, and for the naive design the
//! wake-ups it causes), expiries processed per second (all consumers expiring
//! at one instant, until every one was deleted), and for the reaper the lazy
//! re-checks per second (deadlines of touched consumers pushed back).

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use quorum_reaper::{
    AssignmentId, Config, Consumer, Metalayer, ProposeError, QuitReason, Reaper, Tracked,
};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};

// ----- counting allocator -----------------------------------------------------

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

// ----- a minimal broker -------------------------------------------------------

static DELETED: AtomicUsize = AtomicUsize::new(0);

struct BenchConsumer {
    key: u64,
    closed: AtomicBool,
}

impl Consumer for BenchConsumer {
    type Key = u64;
    /// An in-memory delete: the benchmark measures the tracking machinery.
    const DELETE_MAY_BLOCK: bool = false;

    fn key(&self) -> &u64 {
        &self.key
    }

    fn assignment(&self) -> Option<AssignmentId> {
        None
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn is_leader(&self) -> bool {
        true
    }

    fn quit(&self) -> impl Future<Output = QuitReason> + Send + '_ {
        std::future::pending()
    }

    fn delete_locally(&self) {
        self.closed.store(true, Ordering::Relaxed);
        DELETED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Standalone: measures the reaper's own machinery, not a metalayer.
struct Standalone;

impl Metalayer<u64> for Standalone {
    fn is_clustered(&self) -> bool {
        false
    }

    fn is_ready(&self) -> bool {
        true
    }

    fn assignment(&self, _: &u64) -> Option<AssignmentId> {
        None
    }

    fn forward_delete_proposal(&self, _: &u64, _: AssignmentId) -> Result<(), ProposeError> {
        Err(ProposeError::Rejected("standalone".into()))
    }
}

fn consumers(n: usize) -> Vec<Arc<BenchConsumer>> {
    (0..n as u64)
        .map(|key| {
            Arc::new(BenchConsumer {
                key,
                closed: AtomicBool::new(false),
            })
        })
        .collect()
}

async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        sleep(Duration::from_millis(1)).await;
    }
}

// ----- the naive design -------------------------------------------------------

static NAIVE_RESETS: AtomicUsize = AtomicUsize::new(0);
static NAIVE_STARTED: AtomicUsize = AtomicUsize::new(0);

/// One task per consumer, its own `Sleep` pinned and reset on activity.
async fn naive_inactivity_timer(
    consumer: Arc<BenchConsumer>,
    activity: Arc<Notify>,
    deadline: Instant,
    threshold: Duration,
) {
    NAIVE_STARTED.fetch_add(1, Ordering::Relaxed);
    let timer = sleep_until(deadline);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            biased;
            () = &mut timer => break consumer.delete_locally(),
            () = activity.notified() => {
                NAIVE_RESETS.fetch_add(1, Ordering::Relaxed);
                timer.as_mut().reset(Instant::now() + threshold);
            }
        }
    }
}

// ----- measurements -----------------------------------------------------------

#[derive(Default, Debug)]
struct Row {
    bytes_per_consumer: f64,
    rss_per_consumer: f64,
    registers_per_sec: f64,
    touch_calls_per_sec: f64,
    touches_processed_per_sec: f64,
    expiries_per_sec: f64,
    rechecks_per_sec: Option<f64>,
}

fn per_sec(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

const FAR: Duration = Duration::from_secs(3600);

async fn bench_reaper(n: usize) -> Row {
    let mut row = Row::default();
    let config = Config {
        max_in_flight: 4096,
        ..Config::default()
    };

    // Memory, registration and touches.
    let all = consumers(n);
    let (bytes_before, rss_before) = (live_bytes(), rss_bytes());
    let reaper: Reaper<Standalone, BenchConsumer> =
        Reaper::start(Arc::new(Standalone), config.clone());
    let started = StdInstant::now();
    let handles: Vec<Tracked<BenchConsumer>> = all
        .iter()
        .map(|c| reaper.register(c.clone(), FAR).expect("running"))
        .collect();
    until(|| reaper.stats().scheduled == n).await;
    row.registers_per_sec = per_sec(n, started.elapsed());
    row.bytes_per_consumer = (live_bytes() - bytes_before) as f64 / n as f64;
    row.rss_per_consumer = rss_bytes().saturating_sub(rss_before) as f64 / n as f64;

    let started = StdInstant::now();
    for handle in &handles {
        handle.touch();
    }
    let elapsed = started.elapsed();
    row.touch_calls_per_sec = per_sec(n, elapsed);
    // The work a touch causes happens later, as a re-check (measured below).
    row.touches_processed_per_sec = row.touch_calls_per_sec;
    drop(handles);
    reaper.shutdown().await;

    // Lazy re-check: every consumer touched before its deadline comes up,
    // all deadlines at one instant.
    let reaper: Reaper<Standalone, BenchConsumer> =
        Reaper::start(Arc::new(Standalone), config.clone());
    let deadline = Instant::now() + Duration::from_secs(5);
    let handles: Vec<Tracked<BenchConsumer>> = all
        .iter()
        .map(|c| {
            let threshold = deadline.saturating_duration_since(Instant::now());
            reaper.register(c.clone(), threshold).expect("running")
        })
        .collect();
    until(|| reaper.stats().scheduled == n).await;
    sleep(Duration::from_millis(1100)).await;
    handles.iter().for_each(Tracked::touch);
    sleep_until(deadline).await;
    let started = StdInstant::now();
    until(|| reaper.stats().rechecked as usize == n).await;
    row.rechecks_per_sec = Some(per_sec(n, started.elapsed()));
    drop(handles);
    reaper.shutdown().await;

    // Expiry: all at one instant.
    DELETED.store(0, Ordering::Relaxed);
    let reaper: Reaper<Standalone, BenchConsumer> = Reaper::start(Arc::new(Standalone), config);
    let deadline = Instant::now() + Duration::from_secs(5);
    for consumer in &all {
        let threshold = deadline.saturating_duration_since(Instant::now());
        reaper
            .register(consumer.clone(), threshold)
            .expect("running");
    }
    until(|| reaper.stats().scheduled == n).await;
    sleep_until(deadline).await;
    let started = StdInstant::now();
    until(|| DELETED.load(Ordering::Relaxed) == n).await;
    row.expiries_per_sec = per_sec(n, started.elapsed());
    reaper.shutdown().await;
    row
}

async fn bench_naive(n: usize) -> Row {
    let mut row = Row::default();
    let all = consumers(n);
    let (bytes_before, rss_before) = (live_bytes(), rss_bytes());
    let started = StdInstant::now();
    let mut tasks = JoinSet::new();
    let deadline = Instant::now() + FAR;
    let handles: Vec<Arc<Notify>> = all
        .iter()
        .map(|consumer| {
            let activity = Arc::new(Notify::new());
            tasks.spawn(naive_inactivity_timer(
                consumer.clone(),
                activity.clone(),
                deadline,
                FAR,
            ));
            activity
        })
        .collect();
    until(|| NAIVE_STARTED.load(Ordering::Relaxed) == n).await;
    row.registers_per_sec = per_sec(n, started.elapsed());
    row.bytes_per_consumer = (live_bytes() - bytes_before) as f64 / n as f64;
    row.rss_per_consumer = rss_bytes().saturating_sub(rss_before) as f64 / n as f64;

    let started = StdInstant::now();
    for activity in &handles {
        activity.notify_one();
    }
    row.touch_calls_per_sec = per_sec(n, started.elapsed());
    until(|| NAIVE_RESETS.load(Ordering::Relaxed) == n).await;
    row.touches_processed_per_sec = per_sec(n, started.elapsed());
    tasks.shutdown().await;
    drop(handles);

    DELETED.store(0, Ordering::Relaxed);
    NAIVE_STARTED.store(0, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(5);
    for consumer in &all {
        tasks.spawn(naive_inactivity_timer(
            consumer.clone(),
            Arc::new(Notify::new()),
            deadline,
            FAR,
        ));
    }
    until(|| NAIVE_STARTED.load(Ordering::Relaxed) == n).await;
    sleep_until(deadline).await;
    let started = StdInstant::now();
    until(|| DELETED.load(Ordering::Relaxed) == n).await;
    row.expiries_per_sec = per_sec(n, started.elapsed());
    while tasks.join_next().await.is_some() {}
    row
}

fn main() {
    let n: usize = std::env::var("REAPER_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime");
    println!(
        "{n} tracked consumers, tokio multi-thread runtime with 2 workers, {} CPUs",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let reaper = runtime.block_on(bench_reaper(n));
    let naive = runtime.block_on(bench_naive(n));

    let rate = |r: f64| format!("{:.2} M/s", r / 1e6);
    let bytes = |b: f64| format!("{b:.0} B");
    let rows = [
        (
            "bytes per tracked consumer (heap)",
            bytes(reaper.bytes_per_consumer),
            bytes(naive.bytes_per_consumer),
            naive.bytes_per_consumer / reaper.bytes_per_consumer,
        ),
        (
            "resident memory per consumer",
            bytes(reaper.rss_per_consumer),
            bytes(naive.rss_per_consumer),
            naive.rss_per_consumer / reaper.rss_per_consumer.max(1.0),
        ),
        (
            "registrations per second",
            rate(reaper.registers_per_sec),
            rate(naive.registers_per_sec),
            reaper.registers_per_sec / naive.registers_per_sec,
        ),
        (
            "touch calls per second",
            rate(reaper.touch_calls_per_sec),
            rate(naive.touch_calls_per_sec),
            reaper.touch_calls_per_sec / naive.touch_calls_per_sec,
        ),
        (
            "touches incl. the wake-ups they cause",
            rate(reaper.touches_processed_per_sec),
            rate(naive.touches_processed_per_sec),
            reaper.touches_processed_per_sec / naive.touches_processed_per_sec,
        ),
        (
            "expiries processed per second",
            rate(reaper.expiries_per_sec),
            rate(naive.expiries_per_sec),
            reaper.expiries_per_sec / naive.expiries_per_sec,
        ),
    ];
    println!();
    println!(
        "| {:<38} | {:>14} | {:>18} | {:>22} |",
        "", "quorum-reaper", "naive (task+sleep)", "reaper's advantage"
    );
    println!("|{:-<40}|{:->16}|{:->20}|{:->24}|", "", "", "", "");
    for (name, ours, theirs, ratio) in rows {
        println!(
            "| {name:<38} | {ours:>14} | {theirs:>18} | {:>21.1}x |",
            ratio
        );
    }
    if let Some(rechecks) = reaper.rechecks_per_sec {
        let deferred = "(deferred touch work)";
        println!(
            "| {:<38} | {:>14} | {:>18} | {deferred:>22} |",
            "lazy re-checks of touched consumers",
            rate(rechecks),
            "-"
        );
    }
}
