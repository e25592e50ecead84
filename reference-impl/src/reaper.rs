//! The reaper: cheap inactivity tracking for many consumers, one driver task.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{Consumer, Metalayer};
use crate::config::Config;
use crate::driver::Driver;
use crate::faults::ReaperFault;
use crate::outcome::Report;
use crate::pace::{duration_ms, Clock, Pacer, WarningGate};

/// Called with every finished run of the gated delete (metrics, tests).
pub type Observer<K> = Arc<dyn Fn(&Report<K>) + Send + Sync>;

/// Tracks inactivity for many consumers and deletes the inactive ones through
/// the quorum-gated delete.
///
/// An idle consumer costs no allocation of its own, no task and no timer:
/// an 8-byte cell in a slot table (its generation and a 32-bit activity
/// stamp), 20 bytes the driver keeps for its slot and a 12-byte element of the
/// deadline heap (plus the broker's 16-byte [`Tracked`] handle). One driver
/// task owns the heap and a single timer; [`Tracked::touch`] only stores a
/// stamp, and the driver re-checks the stamp when the old deadline comes up
/// (lazy re-check).
pub struct Reaper<M, C: Consumer> {
    shared: Arc<Shared>,
    slots: Arc<Mutex<Slots>>,
    commands: mpsc::UnboundedSender<Registration<C>>,
    driver: Option<JoinHandle<()>>,
    _metalayer: std::marker::PhantomData<fn() -> M>,
}

/// The broker's handle on one tracked consumer: its slot in the reaper's
/// table and the slot's generation (16 bytes). It holds no reference to the
/// consumer: the reaper's own is dropped as soon as the driver sees the
/// consumer unregistered.
pub struct Tracked<C> {
    chunk: Arc<Chunk>,
    slot: u32,
    life: u32,
    _consumer: std::marker::PhantomData<fn() -> C>,
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
    /// Consumers waiting for their deadline in the driver's heap.
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

/// Cells per chunk of the slot table (8 bytes each).
pub(crate) const CHUNK: usize = 1024;

/// The longest inactivity threshold: activity stamps are 32-bit milliseconds
/// read with wrapping arithmetic, which is exact while a stamp is read within
/// 2^31 ms (24.8 days) of being written; a threshold of at most 2^30 ms (12.4
/// days) leaves the other half for backoffs. Longer thresholds are clamped.
pub(crate) const MAX_THRESHOLD_MS: u32 = 1 << 30;

/// What a consumer's handle writes without reaching the driver: one slot of
/// the slot table.
///
/// `life` is the slot's generation: even while the consumer registered under
/// it is tracked, odd once its handle unregistered it, and bumped to the next
/// even number when the driver lets go of the slot (which may then be handed
/// to another consumer). A handle acts only while `life` is its own.
#[derive(Default)]
pub(crate) struct Cell {
    life: AtomicU32,
    /// Last activity, the low 32 bits of the reaper clock's milliseconds.
    stamp: AtomicU32,
}

/// A fixed block of cells. Handles and runs keep their chunk alive, so the
/// table can grow without moving a cell.
pub(crate) struct Chunk {
    pub(crate) shared: Arc<Shared>,
    cells: Box<[Cell; CHUNK]>,
}

impl Chunk {
    fn new(shared: Arc<Shared>) -> Arc<Chunk> {
        Arc::new(Chunk {
            shared,
            cells: Box::new(std::array::from_fn(|_| Cell::default())),
        })
    }

    pub(crate) fn cell(&self, slot: u32) -> &Cell {
        &self.cells[slot as usize % CHUNK]
    }
}

impl Cell {
    /// The driver lets go of the slot: the next even generation.
    pub(crate) fn retire(&self) {
        let _ = self
            .life
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some((v | 1).wrapping_add(1))
            });
    }

    pub(crate) fn life(&self) -> u32 {
        self.life.load(Ordering::Acquire)
    }

    /// The last activity in full milliseconds, read at `now_ms`. A stamp
    /// slightly ahead of `now_ms` (written by a thread that read the clock
    /// later) reads as ahead, not as 49 days old; a stamp older than 2^31 ms
    /// would read as recent — later, never earlier, so never a premature
    /// expiry.
    pub(crate) fn last_active_ms(&self, now_ms: u64) -> u64 {
        let stamp = self.stamp.load(Ordering::Relaxed);
        let ahead = i64::from(stamp.wrapping_sub(now_ms as u32) as i32);
        u64::try_from(
            i64::try_from(now_ms)
                .unwrap_or(i64::MAX)
                .saturating_add(ahead),
        )
        .unwrap_or(0)
    }
}

/// Stamps are the clock's milliseconds, truncated to 32 bits.
pub(crate) fn stamp_of(now_ms: u64) -> u32 {
    now_ms as u32
}

/// The slot table: cells in fixed chunks, and the free slots to reuse.
/// Shared by the reaper (registrations) and its driver (which frees slots);
/// not reachable from a chunk, so there is no reference cycle.
pub(crate) struct Slots {
    pub(crate) chunks: Vec<Arc<Chunk>>,
    pub(crate) free: Vec<u32>,
}

impl Slots {
    pub(crate) fn lock(slots: &Mutex<Slots>) -> std::sync::MutexGuard<'_, Slots> {
        slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a registration tells the driver.
pub(crate) struct Registration<C> {
    pub(crate) slot: u32,
    pub(crate) life: u32,
    pub(crate) threshold_ms: u32,
    pub(crate) consumer: Arc<C>,
}

/// A consumer's tracking as one run of the gated delete sees it: built by
/// the driver when the run starts (nothing per consumer at rest).
pub(crate) struct Entry<C> {
    pub(crate) consumer: Arc<C>,
    pub(crate) slot: u32,
    life: u32,
    threshold_ms: u32,
    chunk: Arc<Chunk>,
}

impl<C> Entry<C> {
    pub(crate) fn new(
        consumer: Arc<C>,
        slot: u32,
        life: u32,
        threshold_ms: u32,
        chunk: Arc<Chunk>,
    ) -> Entry<C> {
        Entry {
            consumer,
            slot,
            life,
            threshold_ms,
            chunk,
        }
    }

    /// When the consumer becomes inactive, if nothing touches it before.
    pub(crate) fn idle_deadline_ms(&self) -> u64 {
        let now = self.chunk.shared.clock.now_ms();
        self.chunk
            .cell(self.slot)
            .last_active_ms(now)
            .saturating_add(u64::from(self.threshold_ms))
    }

    /// Unregistered by its handle (or let go of by the driver).
    pub(crate) fn is_unregistered(&self) -> bool {
        self.chunk.cell(self.slot).life() != self.life
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
    /// Stop tokens of the running gated deletes, by slot (with the slot's
    /// generation), so unregistering stops a waiting delete at once.
    pub(crate) running: Mutex<HashMap<u32, (u32, CancellationToken)>>,
    /// Slots (and the generation they were unregistered at) the driver has
    /// not seen unregistered yet: it lets go of them, and of their consumer,
    /// at its next turn.
    pub(crate) unregistered: Mutex<Vec<(u32, u32)>>,
    /// Wakes the driver when a slot was unregistered.
    pub(crate) unregistered_due: Notify,
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
            unregistered: Mutex::new(Vec::new()),
            unregistered_due: Notify::new(),
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

    pub(crate) fn running_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u32, (u32, CancellationToken)>> {
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
        let slots = Arc::new(Mutex::new(Slots {
            chunks: Vec::new(),
            free: Vec::new(),
        }));
        let (commands, inbox) = mpsc::unbounded_channel();
        let driver = Driver::new(
            shared.clone(),
            slots.clone(),
            metalayer,
            Arc::new(config),
            inbox,
            observer,
        );
        Reaper {
            shared,
            slots,
            commands,
            driver: Some(tokio::spawn(driver.run())),
            _metalayer: std::marker::PhantomData,
        }
    }

    /// Starts tracking `consumer`: it is reaped once nothing touched it for
    /// `threshold` (at most 2^30 ms, about 12.4 days; longer ones are
    /// clamped). Call it where the consumer's inactivity timer would be
    /// armed — when this replica becomes the consumer's leader.
    pub fn register(
        &self,
        consumer: Arc<C>,
        threshold: Duration,
    ) -> Result<Tracked<C>, ReaperStopped> {
        if self.shared.shutdown.is_cancelled() {
            return Err(ReaperStopped);
        }
        let threshold_ms = u32::try_from(duration_ms(threshold))
            .unwrap_or(u32::MAX)
            .min(MAX_THRESHOLD_MS);
        let (chunk, slot) = {
            let mut slots = Slots::lock(&self.slots);
            let slot = match slots.free.pop() {
                Some(slot) => slot,
                None => {
                    let slot =
                        u32::try_from(slots.chunks.len() * CHUNK).map_err(|_| ReaperStopped)?;
                    slots.chunks.push(Chunk::new(self.shared.clone()));
                    for free in (1..CHUNK as u32).rev() {
                        slots.free.push(slot + free);
                    }
                    slot
                }
            };
            (slots.chunks[slot as usize / CHUNK].clone(), slot)
        };
        let cell = chunk.cell(slot);
        // Free slots are at an even generation: the new consumer's.
        let life = cell.life();
        cell.stamp
            .store(stamp_of(self.shared.clock.now_ms()), Ordering::Relaxed);
        self.shared.tracked.fetch_add(1, Ordering::Relaxed);
        let registration = Registration {
            slot,
            life,
            threshold_ms,
            consumer,
        };
        match self.commands.send(registration) {
            Ok(()) => Ok(Tracked {
                chunk,
                slot,
                life,
                _consumer: std::marker::PhantomData,
            }),
            Err(_) => {
                // The driver is gone (shutdown): the slot is never reused.
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
    /// Records activity. One load and one store, both relaxed atomics: call
    /// it on every delivery/ack. A handle whose slot was let go of (and maybe
    /// handed to another consumer) writes nothing; in the instant of a reuse
    /// it may stamp the new consumer with a time no earlier than its
    /// registration, which only delays that consumer's check.
    pub fn touch(&self) {
        let cell = self.chunk.cell(self.slot);
        if cell.life.load(Ordering::Relaxed) == self.life {
            let now = self.chunk.shared.clock.now_ms();
            cell.stamp.store(stamp_of(now), Ordering::Relaxed);
        }
    }

    /// Stops tracking: when this replica loses leadership, or the consumer is
    /// deleted some other way. A gated delete running for it stops at once;
    /// the reaper drops its reference to the consumer at the driver's next
    /// turn (unless the instance is stale: see the crate's README).
    pub fn unregister(&self) {
        let cell = self.chunk.cell(self.slot);
        let was = cell.life.compare_exchange(
            self.life,
            self.life | 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if was.is_ok() {
            let shared = &self.chunk.shared;
            shared
                .unregistered
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((self.slot, self.life | 1));
            shared.unregistered_due.notify_one();
            if let Some((life, stop)) = shared.running_lock().get(&self.slot) {
                if *life == self.life {
                    stop.cancel();
                }
            }
        }
    }

    /// Whether the reaper still holds this consumer (not deleted, not unregistered).
    pub fn is_tracked(&self) -> bool {
        self.chunk.cell(self.slot).life() == self.life
    }
}

impl<C> Clone for Tracked<C> {
    fn clone(&self) -> Self {
        Tracked {
            chunk: self.chunk.clone(),
            slot: self.slot,
            life: self.life,
            _consumer: std::marker::PhantomData,
        }
    }
}

impl<C: Consumer> fmt::Debug for Tracked<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("slot", &self.slot)
            .field("generation", &self.life)
            .field("tracked", &self.is_tracked())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-consumer figures the README's layout table quotes.
    #[test]
    fn layout() {
        assert_eq!(std::mem::size_of::<Cell>(), 8);
        assert_eq!(std::mem::size_of::<Tracked<()>>(), 16);
    }

    #[test]
    fn stamps_read_across_the_32_bit_wrap() {
        let cell = Cell::default();
        let wrap = 1u64 << 32;
        cell.stamp.store(stamp_of(wrap - 5), Ordering::Relaxed);
        assert_eq!(cell.last_active_ms(wrap + 10), wrap - 5);
        assert_eq!(cell.last_active_ms(wrap - 5), wrap - 5);
        // Written by a thread that read the clock a little later.
        cell.stamp.store(stamp_of(wrap + 3), Ordering::Relaxed);
        assert_eq!(cell.last_active_ms(wrap - 2), wrap + 3);
        // Older than 2^31 ms reads as later than it was, never earlier.
        cell.stamp.store(stamp_of(1_000), Ordering::Relaxed);
        let now = 1_000 + (1u64 << 31) + 7;
        assert!(cell.last_active_ms(now) >= 1_000);
        assert_eq!(cell.last_active_ms(5), 1_000);
    }

    #[test]
    fn retiring_a_slot_ends_both_generations() {
        let cell = Cell::default();
        cell.retire();
        assert_eq!(cell.life(), 2, "tracked at 0, next consumer at 2");
        cell.life.store(5, Ordering::Relaxed);
        cell.retire();
        assert_eq!(cell.life(), 6, "unregistered at 5, next consumer at 6");
    }
}
