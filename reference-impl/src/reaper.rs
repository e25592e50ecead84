//! The reaper: cheap inactivity tracking for many consumers, one driver task.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{Consumer, Metalayer};
use crate::config::Config;
use crate::driver::{Driver, MIN_GARBAGE_TO_COMPACT};
use crate::faults::ReaperFault;
use crate::outcome::Report;
use crate::pace::{duration_ms, Clock, Pacer, WarningGate};

/// Called with every finished run of the gated delete (metrics, tests).
pub type Observer<K> = Arc<dyn Fn(&Report<K>) + Send + Sync>;

/// Tracks inactivity for many consumers and deletes the inactive ones through
/// the quorum-gated delete.
///
/// An idle consumer costs one small allocation and one heap slot: there is no
/// task and no timer per consumer. One driver task owns a deadline heap and a
/// single timer; [`Tracked::touch`] only stores a timestamp, and the driver
/// re-checks the timestamp when the old deadline comes up (lazy re-check).
pub struct Reaper<M, C: Consumer> {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Arc<Entry<C>>>,
    driver: Option<JoinHandle<()>>,
    next_id: AtomicU64,
    _metalayer: std::marker::PhantomData<fn() -> M>,
}

/// The broker's handle on one tracked consumer.
pub struct Tracked<C> {
    entry: Arc<Entry<C>>,
    shared: Arc<Shared>,
}

/// Returned by [`Reaper::register`] once the reaper has shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaperStopped;

impl fmt::Display for ReaperStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reaper has shut down")
    }
}

impl std::error::Error for ReaperStopped {}

/// Counters, for tests, metrics and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Consumers the driver holds (waiting, queued or being deleted).
    pub tracked: usize,
    /// Gated deletes running now.
    pub in_flight: usize,
    /// Expired consumers waiting for a free slot.
    pub queued: usize,
    /// Consumers waiting for their deadline in the driver's heap (includes
    /// unregistered ones not dropped yet).
    pub scheduled: usize,
    /// Deadlines that came up for a consumer touched since, and were pushed
    /// back (the lazy re-check).
    pub rechecked: u64,
    /// Runs of the gated delete finished.
    pub finished: u64,
    /// Consumers deleted (locally, by the metalayer or forcibly).
    pub deleted: u64,
    /// Delete proposals forwarded.
    pub proposals: u64,
    /// Proposal slots taken from the pacer (one before every proposal; none
    /// while the metalayer is not ready).
    pub slots: u64,
    /// Runs that had to wait (for a slot, a commit or a backoff) and became
    /// tasks; the others finished in their first, inline poll.
    pub spawned: u64,
    /// Warnings folded into summaries instead of logged one by one.
    pub folded_warnings: u64,
}

pub(crate) struct Entry<C> {
    pub(crate) consumer: Arc<C>,
    pub(crate) id: u64,
    threshold_ms: u64,
    last_active_ms: AtomicU64,
    state: AtomicU8,
}

const TRACKED: u8 = 0;
const UNREGISTERED: u8 = 1;
const RELEASED: u8 = 2;

impl<C> Entry<C> {
    /// When the consumer becomes inactive, if nothing touches it before.
    pub(crate) fn idle_deadline_ms(&self) -> u64 {
        self.last_active_ms
            .load(Ordering::Relaxed)
            .saturating_add(self.threshold_ms)
    }

    pub(crate) fn is_unregistered(&self) -> bool {
        self.state.load(Ordering::Acquire) != TRACKED
    }
}

/// State shared by the reaper, its driver, its tasks and the handles.
pub(crate) struct Shared {
    pub(crate) clock: Clock,
    pub(crate) shutdown: CancellationToken,
    pub(crate) pacer: Pacer,
    /// Turns for local deletes on the blocking pool (`max_local_deletes`).
    pub(crate) local_deletes: tokio::sync::Semaphore,
    pub(crate) retry_warnings: WarningGate,
    pub(crate) unavailable_warnings: WarningGate,
    /// Stop tokens of the running gated deletes, by entry id, so unregistering
    /// stops a waiting delete at once.
    pub(crate) running: Mutex<HashMap<u64, CancellationToken>>,
    /// Unregistered entries the driver still holds (compacted when many).
    pub(crate) garbage: AtomicUsize,
    /// Wakes the driver when enough garbage piled up to be worth a compaction.
    pub(crate) compaction_due: Notify,
    pub(crate) tracked: AtomicUsize,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) queued: AtomicUsize,
    pub(crate) scheduled: AtomicUsize,
    pub(crate) rechecked: AtomicU64,
    pub(crate) finished: AtomicU64,
    pub(crate) deleted: AtomicU64,
    pub(crate) proposals: AtomicU64,
    pub(crate) slots: AtomicU64,
    pub(crate) spawned: AtomicU64,
    /// Deliberate bugs switched on (tests only: see `faults.rs`).
    #[cfg(feature = "fault-injection")]
    pub(crate) faults: crate::faults::ReaperFaults,
}

impl Shared {
    fn new(config: &Config) -> Shared {
        Shared {
            clock: Clock::start(),
            shutdown: CancellationToken::new(),
            pacer: Pacer::new(config.proposals_per_second, config.proposal_burst),
            local_deletes: tokio::sync::Semaphore::new(config.max_local_deletes),
            retry_warnings: WarningGate::new(config.warnings_per_window, config.warning_window),
            unavailable_warnings: WarningGate::new(
                config.warnings_per_window,
                config.warning_window,
            ),
            running: Mutex::new(HashMap::new()),
            garbage: AtomicUsize::new(0),
            compaction_due: Notify::new(),
            tracked: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            scheduled: AtomicUsize::new(0),
            rechecked: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            proposals: AtomicU64::new(0),
            slots: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
            #[cfg(feature = "fault-injection")]
            faults: crate::faults::ReaperFaults::NONE,
        }
    }

    /// Whether the deliberate bug `fault` is switched on: always false
    /// without the `fault-injection` feature (the branches it guards are
    /// dead code then).
    #[inline(always)]
    pub(crate) fn fault(&self, fault: ReaperFault) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.faults.has(fault)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            let _ = fault;
            false
        }
    }

    pub(crate) fn count_proposal(&self) {
        self.proposals.fetch_add(1, Ordering::Relaxed);
    }

    /// The driver lets go of an entry for good.
    pub(crate) fn release<C>(&self, entry: &Entry<C>) {
        if entry.state.swap(RELEASED, Ordering::AcqRel) == UNREGISTERED {
            self.garbage.fetch_sub(1, Ordering::Relaxed);
        }
        self.tracked.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn running_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, CancellationToken>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<M, C> Reaper<M, C>
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    /// Starts the reaper's driver on the current tokio runtime.
    pub fn start(metalayer: Arc<M>, config: Config) -> Reaper<M, C> {
        Reaper::start_with_observer(metalayer, config, None)
    }

    /// Like [`start`](Reaper::start), calling `observer` after every run of the
    /// gated delete.
    pub fn start_with_observer(
        metalayer: Arc<M>,
        config: Config,
        observer: Option<Observer<C::Key>>,
    ) -> Reaper<M, C> {
        let config = config.normalized();
        let shared = Shared::new(&config);
        Reaper::launch(metalayer, config, observer, shared)
    }

    /// Like [`start_with_observer`](Reaper::start_with_observer), with
    /// deliberate bugs switched on (tests only: `fault-injection`).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn start_with_faults(
        metalayer: Arc<M>,
        config: Config,
        observer: Option<Observer<C::Key>>,
        faults: crate::faults::ReaperFaults,
    ) -> Reaper<M, C> {
        let config = config.normalized();
        let mut shared = Shared::new(&config);
        shared.faults = faults;
        Reaper::launch(metalayer, config, observer, shared)
    }

    fn launch(
        metalayer: Arc<M>,
        config: Config,
        observer: Option<Observer<C::Key>>,
        shared: Shared,
    ) -> Reaper<M, C> {
        let shared = Arc::new(shared);
        let (commands, inbox) = mpsc::unbounded_channel();
        let driver = Driver::new(shared.clone(), metalayer, Arc::new(config), inbox, observer);
        Reaper {
            shared,
            commands,
            driver: Some(tokio::spawn(driver.run())),
            next_id: AtomicU64::new(0),
            _metalayer: std::marker::PhantomData,
        }
    }

    /// Starts tracking `consumer`: it is reaped once nothing touched it for
    /// `threshold`. Call it where the consumer's inactivity timer would be
    /// armed — when this replica becomes the consumer's leader.
    pub fn register(
        &self,
        consumer: Arc<C>,
        threshold: Duration,
    ) -> Result<Tracked<C>, ReaperStopped> {
        let entry = Arc::new(Entry {
            consumer,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            threshold_ms: duration_ms(threshold),
            last_active_ms: AtomicU64::new(self.shared.clock.now_ms()),
            state: AtomicU8::new(TRACKED),
        });
        if self.shared.shutdown.is_cancelled() {
            return Err(ReaperStopped);
        }
        self.shared.tracked.fetch_add(1, Ordering::Relaxed);
        match self.commands.send(entry.clone()) {
            Ok(()) => Ok(Tracked {
                entry,
                shared: self.shared.clone(),
            }),
            Err(_) => {
                self.shared.tracked.fetch_sub(1, Ordering::Relaxed);
                Err(ReaperStopped)
            }
        }
    }

    pub fn stats(&self) -> Stats {
        let s = &self.shared;
        Stats {
            tracked: s.tracked.load(Ordering::Relaxed),
            in_flight: s.in_flight.load(Ordering::Relaxed),
            queued: s.queued.load(Ordering::Relaxed),
            scheduled: s.scheduled.load(Ordering::Relaxed),
            rechecked: s.rechecked.load(Ordering::Relaxed),
            finished: s.finished.load(Ordering::Relaxed),
            deleted: s.deleted.load(Ordering::Relaxed),
            proposals: s.proposals.load(Ordering::Relaxed),
            slots: s.slots.load(Ordering::Relaxed),
            spawned: s.spawned.load(Ordering::Relaxed),
            folded_warnings: s.retry_warnings.suppressed_total()
                + s.unavailable_warnings.suppressed_total(),
        }
    }

    /// Stops the driver and every running gated delete (they end with
    /// `StoppedShutdown`, deleting nothing), and waits until all have ended:
    /// no task and no timer of the reaper outlives this call.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(driver) = self.driver.take() {
            if let Err(error) = driver.await {
                tracing::error!(%error, "reaper driver ended abnormally");
            }
        }
    }
}

impl<M, C: Consumer> Drop for Reaper<M, C> {
    /// A reaper dropped without [`shutdown`](Reaper::shutdown) still stops its
    /// driver and tasks (they just are not awaited).
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl<C: Consumer> Tracked<C> {
    /// Records activity. One atomic store: call it on every delivery/ack.
    pub fn touch(&self) {
        let now = self.shared.clock.now_ms();
        self.entry.last_active_ms.store(now, Ordering::Relaxed);
    }

    /// Stops tracking: when this replica loses leadership, or the consumer is
    /// deleted some other way. A gated delete running for it stops at once.
    pub fn unregister(&self) {
        let was = self.entry.state.compare_exchange(
            TRACKED,
            UNREGISTERED,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if was.is_ok() {
            let garbage = self.shared.garbage.fetch_add(1, Ordering::Relaxed) + 1;
            if garbage.is_multiple_of(MIN_GARBAGE_TO_COMPACT) {
                self.shared.compaction_due.notify_one();
            }
            if let Some(stop) = self.shared.running_lock().get(&self.entry.id) {
                stop.cancel();
            }
        }
    }

    pub fn consumer(&self) -> &Arc<C> {
        &self.entry.consumer
    }

    /// Whether the reaper still holds this consumer (not deleted, not unregistered).
    pub fn is_tracked(&self) -> bool {
        self.entry.state.load(Ordering::Acquire) == TRACKED
    }
}

impl<C> Clone for Tracked<C> {
    fn clone(&self) -> Self {
        Tracked {
            entry: self.entry.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<C: Consumer> fmt::Debug for Tracked<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("consumer", self.entry.consumer.key())
            .field("tracked", &self.is_tracked())
            .finish()
    }
}
