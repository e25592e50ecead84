//! The one task that owns every inactivity deadline.
//!
//! Deadlines sit in a min-heap keyed by the time a consumer would become
//! inactive, 12 bytes each: the deadline and the consumer's slot in the slot
//! table. `touch` never reaches the driver: when a deadline comes up the
//! driver reads the slot's last-activity stamp and, if it moved, pushes the
//! slot back at its new deadline (lazy re-check). What the driver keeps per
//! slot (the consumer, its threshold, the deadline it is scheduled at) lives
//! in plain vectors indexed by slot; a heap element whose slot has been let
//! go of, or rescheduled since, no longer matches the slot's deadline and is
//! skipped when it comes up, or dropped all at once when such elements are
//! most of the heap. An unregistered consumer is let go of (and its `Arc`
//! dropped) at the driver's next turn, not when its deadline comes up.
//!
//! The driver's loop does bounded batches of ready work and then yields, and
//! waits on one pinned timer reset to the earliest deadline, so it is fair to
//! new registrations and finished deletes under a mass expiry, and its
//! behaviour is deterministic under tokio's paused clock.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use crate::broker::{Consumer, Metalayer};
use crate::config::Config;
use crate::gate::{gated_delete, stale_open_instance, Finished, Job};
use crate::outcome::{Outcome, RearmReason, Report};
use crate::pace::{duration_ms, Admit};
use crate::reaper::{Cell, Chunk, Entry, Observer, Registration, Shared, Slots, CHUNK};

/// Ready items handled per kind before the driver yields.
const BATCH: usize = 512;
/// Outdated heap elements tolerated before the heap is compacted.
const MIN_OUTDATED_TO_COMPACT: usize = 1024;
/// The timer's deadline when nothing is scheduled.
const IDLE_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A slot's place in its life with the driver.
const FREE: u8 = 0;
/// Waiting in the heap for `Meta::at`.
const SCHEDULED: u8 = 1;
/// Expired, waiting for a run slot.
const QUEUED: u8 = 2;
/// Its gated delete is running.
const RUNNING: u8 = 3;

/// One element of the deadline heap: when, and which slot (12 bytes).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Due {
    at_ms: u64,
    slot: u32,
}

impl Due {
    fn at(self) -> u64 {
        self.at_ms
    }

    fn slot(self) -> usize {
        self.slot as usize
    }
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at() == other.at()
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest deadline must be on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.at().cmp(&self.at())
    }
}

/// What the driver keeps per slot besides the consumer (12 bytes).
#[derive(Clone, Copy, Default)]
struct Meta {
    /// The low 32 bits of the deadline the slot is scheduled at: a heap
    /// element for it is current only if its deadline matches (an outdated
    /// one matching by chance, 2^32 ms apart, only brings a check forward,
    /// and a check never deletes an active consumer).
    at: u32,
    threshold_ms: u32,
    /// Consecutive re-arms because the metalayer was unavailable (saturating).
    rearms: u8,
    state: u8,
}

/// Whether a heap element still stands for its slot's next check.
fn is_current(meta: &[Meta], due: Due) -> bool {
    let meta = meta[due.slot()];
    meta.state == SCHEDULED && meta.at == due.at() as u32
}

pub(crate) struct Driver<M, C: Consumer> {
    shared: Arc<Shared>,
    slots: Arc<Mutex<Slots>>,
    /// The driver's copy of the slot table's chunks.
    chunks: Vec<Arc<Chunk>>,
    metalayer: Arc<M>,
    config: Arc<Config>,
    inbox: mpsc::UnboundedReceiver<Registration<C>>,
    observer: Option<Observer<C::Key>>,
    /// The tracked consumers, by slot: the reaper's only reference to them.
    consumers: Vec<Option<Arc<C>>>,
    meta: Vec<Meta>,
    deadlines: BinaryHeap<Due>,
    /// Slots in state `SCHEDULED` (the heap may hold outdated elements too).
    scheduled: usize,
    /// Expired consumers waiting for a free run slot, oldest first.
    waiting: VecDeque<u32>,
    tasks: JoinSet<Finished>,
    running: HashMap<Id, u32>,
    /// Unregistrations taken from `Shared::unregistered`, not handled yet.
    unregistered: Vec<(u32, u32)>,
    /// Slots let go of, not yet handed back to the table's free list.
    freed: Vec<u32>,
    inbox_open: bool,
    /// Wakes nothing: the first, inline poll of a gated delete needs a waker,
    /// and a run that has to wait is spawned, which polls it again.
    first_poll_waker: Waker,
}

/// A waker that does nothing (see `Driver::first_poll_waker`).
struct FirstPoll;

impl Wake for FirstPoll {
    fn wake(self: Arc<Self>) {}
}

/// One run of the gated delete, owning what it borrows.
async fn run_gated_delete<M, C>(
    shared: Arc<Shared>,
    metalayer: Arc<M>,
    config: Arc<Config>,
    entry: Entry<C>,
    stop: CancellationToken,
) -> Finished
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    let job = Job {
        metalayer: metalayer.as_ref(),
        entry: &entry,
        shared: shared.as_ref(),
        config: config.as_ref(),
        stop: &stop,
    };
    gated_delete(&job).await
}

impl<M, C> Driver<M, C>
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    pub(crate) fn new(
        shared: Arc<Shared>,
        slots: Arc<Mutex<Slots>>,
        metalayer: Arc<M>,
        config: Arc<Config>,
        inbox: mpsc::UnboundedReceiver<Registration<C>>,
        observer: Option<Observer<C::Key>>,
    ) -> Self {
        Driver {
            shared,
            slots,
            chunks: Vec::new(),
            metalayer,
            config,
            inbox,
            observer,
            consumers: Vec::new(),
            meta: Vec::new(),
            deadlines: BinaryHeap::new(),
            scheduled: 0,
            waiting: VecDeque::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            unregistered: Vec::new(),
            freed: Vec::new(),
            inbox_open: true,
            first_poll_waker: Waker::from(Arc::new(FirstPoll)),
        }
    }

    pub(crate) async fn run(mut self) {
        let shutdown = self.shared.shutdown.clone();
        let timer = sleep_until(self.shared.clock.instant_at_ms(0) + IDLE_WAIT);
        tokio::pin!(timer);
        let mut arrivals = Vec::with_capacity(BATCH);
        while !shutdown.is_cancelled() {
            if self.do_ready_work() {
                tokio::task::yield_now().await;
                continue;
            }
            timer.as_mut().reset(self.next_wake());
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {}
                Some(joined) = self.tasks.join_next_with_id() => self.finish(joined),
                received = self.inbox.recv_many(&mut arrivals, BATCH), if self.inbox_open => {
                    self.inbox_open = received > 0;
                    for registration in arrivals.drain(..) {
                        self.track(registration);
                    }
                }
                () = self.shared.unregistered_due.notified() => {}
                () = &mut timer => {}
            }
        }
        self.wind_down().await;
    }

    /// Handles bounded batches of everything ready now; says whether it did any.
    fn do_ready_work(&mut self) -> bool {
        let mut worked = false;
        for _ in 0..BATCH {
            let Some(joined) = self.tasks.try_join_next_with_id() else {
                break;
            };
            self.finish(joined);
            worked = true;
        }
        for _ in 0..BATCH {
            let Ok(registration) = self.inbox.try_recv() else {
                break;
            };
            self.track(registration);
            worked = true;
        }
        if self.unregistered.is_empty() {
            let mut shared = self
                .shared
                .unregistered
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut self.unregistered, &mut shared);
        }
        for _ in 0..BATCH {
            let Some((slot, life)) = self.unregistered.pop() else {
                break;
            };
            self.unregistered_now(slot as usize, life);
            worked = true;
        }
        let now = self.shared.clock.now_ms();
        for _ in 0..BATCH {
            match self.deadlines.peek() {
                Some(due) if due.at() <= now => {}
                _ => break,
            }
            if let Some(due) = self.deadlines.pop() {
                if is_current(&self.meta, due) {
                    self.check_due(due, now);
                }
                worked = true;
            }
        }
        for _ in 0..BATCH {
            if self.tasks.len() >= self.config.max_in_flight {
                break;
            }
            let Some(slot) = self.waiting.pop_front() else {
                break;
            };
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            self.start_gated_delete(slot as usize);
            worked = true;
        }
        self.compact_if_mostly_outdated();
        self.hand_back_freed_slots();
        self.summarize_folded_warnings();
        self.shared
            .scheduled
            .store(self.scheduled, Ordering::Relaxed);
        worked
    }

    fn next_wake(&self) -> tokio::time::Instant {
        match self.deadlines.peek() {
            Some(due) => self.shared.clock.instant_at_ms(due.at()),
            None => tokio::time::Instant::now() + IDLE_WAIT,
        }
    }

    fn cell(&self, slot: usize) -> &Cell {
        self.chunks[slot / CHUNK].cell(slot as u32)
    }

    fn is_unregistered(&self, slot: usize) -> bool {
        self.cell(slot).life() & 1 == 1
    }

    fn consumer(&self, slot: usize) -> &Arc<C> {
        self.consumers[slot]
            .as_ref()
            .expect("the driver holds every slot it schedules or runs")
    }

    /// When the consumer in `slot` becomes inactive, if nothing touches it before.
    fn idle_deadline_ms(&self, slot: usize, now_ms: u64) -> u64 {
        self.cell(slot)
            .last_active_ms(now_ms)
            .saturating_add(u64::from(self.meta[slot].threshold_ms))
    }

    /// Moves a slot to `state`, keeping the counters.
    fn set_state(&mut self, slot: usize, state: u8) {
        let was = std::mem::replace(&mut self.meta[slot].state, state);
        if was == SCHEDULED {
            self.scheduled -= 1;
        }
        if state == SCHEDULED {
            self.scheduled += 1;
        }
    }

    fn schedule(&mut self, slot: usize, at_ms: u64) {
        self.set_state(slot, SCHEDULED);
        self.meta[slot].at = at_ms as u32;
        self.deadlines.push(Due {
            at_ms,
            slot: slot as u32,
        });
    }

    fn track(&mut self, registration: Registration<C>) {
        let slot = registration.slot as usize;
        if slot / CHUNK >= self.chunks.len() {
            let table = Slots::lock(&self.slots);
            let known = self.chunks.len();
            self.chunks.extend(table.chunks[known..].iter().cloned());
        }
        if slot >= self.consumers.len() {
            self.consumers.resize(slot + 1, None);
            self.meta.resize(slot + 1, Meta::default());
        }
        self.consumers[slot] = Some(registration.consumer);
        self.meta[slot] = Meta {
            threshold_ms: registration.threshold_ms,
            ..Meta::default()
        };
        let now = self.shared.clock.now_ms();
        let at_ms = self.idle_deadline_ms(slot, now);
        self.schedule(slot, at_ms);
        // Unregistered before the driver saw it: the unregistration may have
        // been taken (and passed over) already.
        if self.cell(slot).life() != registration.life {
            self.unregistered_now(slot, registration.life | 1);
        }
    }

    /// The broker unregistered the consumer in `slot` (at generation `life`):
    /// a waiting one is let go of now, dropping the reaper's reference to
    /// it, unless its instance is stale (still open although the metalayer
    /// removed or replaced its assignment, see `Job::let_go`), which is
    /// checked now instead. A queued or running one is let go of when its
    /// run ends (a running one was told to stop).
    fn unregistered_now(&mut self, slot: usize, life: u32) {
        let current = self
            .chunks
            .get(slot / CHUNK)
            .is_some_and(|chunk| chunk.cell(slot as u32).life() == life);
        if !current || self.meta.get(slot).is_none_or(|m| m.state != SCHEDULED) {
            return;
        }
        if self.is_stale_open(slot) {
            self.expire(slot);
        } else {
            tracing::trace!(consumer = %self.consumer(slot).key(), "unregistered consumer dropped");
            self.release(slot);
        }
    }

    /// Whether an unregistered consumer still has to be checked: its instance
    /// is open although the metalayer removed or replaced its assignment
    /// (see `Job::let_go`), so letting go of it would leave it open forever.
    fn is_stale_open(&self, slot: usize) -> bool {
        stale_open_instance(self.metalayer.as_ref(), self.consumer(slot).as_ref()).is_some()
    }

    /// A deadline came up: drop it (unregistered), push it back (touched
    /// since), or start reaping it.
    fn check_due(&mut self, due: Due, now_ms: u64) {
        let slot = due.slot();
        let idle_deadline = self.idle_deadline_ms(slot, now_ms);
        if self.is_unregistered(slot) && !self.is_stale_open(slot) {
            tracing::trace!(consumer = %self.consumer(slot).key(), "unregistered consumer dropped");
            self.release(slot);
        } else if self.is_unregistered(slot) {
            // A stale instance: the run deletes it (or re-arms while the
            // metalayer is not ready), whatever its activity.
            self.expire(slot);
        } else if idle_deadline > now_ms {
            self.shared.rechecked.fetch_add(1, Ordering::Relaxed);
            self.schedule(slot, idle_deadline.max(due.at()));
        } else {
            self.expire(slot);
        }
    }

    /// Starts the gated delete now, or queues it behind the runs in flight.
    fn expire(&mut self, slot: usize) {
        if self.tasks.len() < self.config.max_in_flight {
            self.start_gated_delete(slot);
        } else {
            self.set_state(slot, QUEUED);
            self.shared.queued.fetch_add(1, Ordering::Relaxed);
            self.waiting.push_back(slot as u32);
        }
    }

    /// Runs the gated delete for an expired consumer. Its first steps are
    /// synchronous (standalone delete, re-arm while the metalayer is down,
    /// ...), so it is polled once here and becomes a task only if it has to
    /// wait: a mass expiry spawns tasks only for the deletes that wait for a
    /// commit.
    fn start_gated_delete(&mut self, slot: usize) {
        self.set_state(slot, RUNNING);
        // The generation the consumer was registered at (odd once unregistered).
        let life = self.cell(slot).life() & !1;
        let entry = Entry::new(
            self.consumer(slot).clone(),
            slot as u32,
            life,
            self.meta[slot].threshold_ms,
            self.chunks[slot / CHUNK].clone(),
        );
        let stop = CancellationToken::new();
        let mut run = Box::pin(run_gated_delete(
            self.shared.clone(),
            self.metalayer.clone(),
            self.config.clone(),
            entry,
            stop.clone(),
        ));
        // The broker's code runs in this poll: a panic in it must not take the
        // driver (and every other consumer's tracking) down.
        let mut context = Context::from_waker(&self.first_poll_waker);
        let first_poll = catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(&mut context)));
        match first_poll {
            Ok(Poll::Ready(finished)) => self.conclude(slot, finished),
            Err(_) => {
                tracing::error!(consumer = %self.consumer(slot).key(),
                    "gated delete panicked; the consumer will be checked again");
                let outcome = Outcome::rearmed(RearmReason::Panicked);
                self.conclude(
                    slot,
                    Finished {
                        outcome,
                        proposals: 0,
                    },
                );
            }
            Ok(Poll::Pending) => {
                // From now on unregistering cancels the run; if it happened
                // while we polled, cancel it now.
                self.shared
                    .running_lock()
                    .insert(slot as u32, (life, stop.clone()));
                if self.is_unregistered(slot) {
                    stop.cancel();
                }
                // The runtime polls it again at once, with a real waker.
                let handle = self.tasks.spawn(run);
                self.shared.spawned.fetch_add(1, Ordering::Relaxed);
                self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
                self.running.insert(handle.id(), slot as u32);
            }
        }
    }

    /// A spawned gated delete ended.
    fn finish(&mut self, joined: Result<(Id, Finished), JoinError>) {
        let (id, finished) = match joined {
            Ok((id, finished)) => (id, finished),
            Err(error) => {
                let outcome = Outcome::Rearmed {
                    reason: RearmReason::Panicked,
                };
                tracing::error!(%error, "gated delete panicked; the consumer will be checked again");
                (
                    error.id(),
                    Finished {
                        outcome,
                        proposals: 0,
                    },
                )
            }
        };
        match self.running.remove(&id) {
            Some(slot) => {
                self.shared.running_lock().remove(&slot);
                self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                self.conclude(slot as usize, finished);
            }
            None => {
                tracing::error!(task = %id, "finished gated delete was not known to the driver")
            }
        }
    }

    /// Logs a finished run, tells the observer, then re-arms or lets go.
    fn conclude(&mut self, slot: usize, finished: Finished) {
        self.shared.finished.fetch_add(1, Ordering::Relaxed);
        if finished.outcome.deleted() {
            self.shared.deleted.fetch_add(1, Ordering::Relaxed);
        }
        let consumer = self.consumer(slot);
        self.log_outcome(consumer, u32::from(self.meta[slot].rearms), &finished);
        if let Some(observer) = &self.observer {
            observer(&Report {
                key: consumer.key().clone(),
                assignment: consumer.assignment(),
                proposals: finished.proposals,
                outcome: finished.outcome.clone(),
            });
        }
        match finished.outcome {
            Outcome::Rearmed { reason }
                if !self.is_unregistered(slot) || self.is_stale_open(slot) =>
            {
                self.rearm(slot, reason)
            }
            _ => self.release(slot),
        }
    }

    fn rearm(&mut self, slot: usize, reason: RearmReason) {
        let now = self.shared.clock.now_ms();
        let rearms = self.meta[slot].rearms;
        let (delay, rearms) = match reason {
            RearmReason::MetalayerUnavailable => (
                self.config.unavailable_delay(u32::from(rearms)),
                rearms.saturating_add(1),
            ),
            RearmReason::NotCommitted | RearmReason::Panicked => (self.config.max_backoff, 0),
            RearmReason::ActiveAgain => (Duration::ZERO, 0),
        };
        let at_ms = (now + duration_ms(delay)).max(self.idle_deadline_ms(slot, now));
        self.meta[slot].rearms = rearms;
        self.schedule(slot, at_ms);
    }

    /// The driver lets go of a slot for good: drops its consumer, ends the
    /// handle's generation and frees the slot for reuse. Its heap element,
    /// if any, is outdated from now on.
    fn release(&mut self, slot: usize) {
        self.set_state(slot, FREE);
        self.consumers[slot] = None;
        self.meta[slot] = Meta::default();
        self.cell(slot).retire();
        self.freed.push(slot as u32);
        self.shared.tracked.fetch_sub(1, Ordering::Relaxed);
    }

    /// Hands the slots let go of back to the table, for new registrations.
    fn hand_back_freed_slots(&mut self) {
        if !self.freed.is_empty() {
            Slots::lock(&self.slots).free.append(&mut self.freed);
        }
    }

    /// Every finished run is logged with the consumer's key, the number of
    /// proposals (`attempt`) and the outcome. Anomalies warn; the warnings a
    /// mass event repeats go through a gate that folds them into counts.
    fn log_outcome(&self, consumer: &C, rearms: u32, finished: &Finished) {
        let key = consumer.key();
        let assignment = match consumer.assignment() {
            Some(id) => id.to_string(),
            None => "none".to_owned(),
        };
        let attempt = finished.proposals;
        let outcome = finished.outcome.name();
        match &finished.outcome {
            Outcome::ForcedAfterAssignmentChange { change } => tracing::warn!(consumer = %key,
                assignment = %assignment, attempt, outcome, change = %change,
                "inactive consumer forcibly cleaned up locally: its assignment changed while it stayed open"),
            Outcome::Rearmed {
                reason: RearmReason::MetalayerUnavailable,
            } => {
                let recheck_in = self.config.unavailable_delay(rearms);
                let now = self.shared.clock.now_ms();
                match self.shared.unavailable_warnings.admit(now) {
                    Admit::Log { folded } => {
                        tracing::warn!(consumer = %key, assignment = %assignment, attempt,
                        outcome, recheck_in = ?recheck_in, folded_similar = folded,
                        "inactive consumer kept: the metalayer is not ready; its check is re-armed")
                    }
                    Admit::Fold => {
                        tracing::debug!(consumer = %key, assignment = %assignment, attempt,
                        outcome, recheck_in = ?recheck_in,
                        "inactive consumer kept: the metalayer is not ready; its check is re-armed")
                    }
                }
            }
            Outcome::Rearmed { reason } => {
                tracing::info!(consumer = %key, assignment = %assignment, attempt,
                outcome, reason = ?reason, "inactive consumer's check re-armed")
            }
            Outcome::DeletedLocally { reason } => {
                tracing::debug!(consumer = %key, assignment = %assignment,
                attempt, outcome, reason = ?reason, "inactive consumer deleted locally")
            }
            Outcome::DeletedByMetalayer => {
                tracing::debug!(consumer = %key, assignment = %assignment, attempt,
                outcome, "inactive consumer deleted by the metalayer")
            }
            Outcome::AssignmentDeletedAfterClose => {
                tracing::info!(consumer = %key, assignment = %assignment, attempt,
                outcome, "closed consumer's assignment deleted by the metalayer")
            }
            Outcome::StoppedConsumerClosed
            | Outcome::StoppedShutdown
            | Outcome::StoppedLostLeadership
            | Outcome::StoppedUnregistered => {
                tracing::debug!(consumer = %key, assignment = %assignment,
                attempt, outcome, "gated delete stopped without deleting")
            }
        }
    }

    /// Drops outdated heap elements (their slot was let go of, or scheduled
    /// again) in one pass once they are most of the heap, so churn (register,
    /// unregister, repeat) cannot grow it without bound.
    fn compact_if_mostly_outdated(&mut self) {
        let outdated = self.deadlines.len() - self.scheduled;
        if outdated >= MIN_OUTDATED_TO_COMPACT && outdated * 2 >= self.deadlines.len() {
            let meta = &self.meta;
            self.deadlines.retain(|due| is_current(meta, *due));
            tracing::debug!(
                outdated,
                remaining = self.deadlines.len(),
                "dropped outdated deadlines"
            );
        }
    }

    /// One summary line for warnings folded in a window that has ended.
    fn summarize_folded_warnings(&self) {
        let now = self.shared.clock.now_ms();
        let retries = self.shared.retry_warnings.take_expired_folds(now);
        let unavailable = self.shared.unavailable_warnings.take_expired_folds(now);
        if retries + unavailable > 0 {
            tracing::warn!(
                not_cleaned_up_retrying = retries,
                metalayer_not_ready = unavailable,
                "similar warnings about inactive consumers were folded into this summary"
            );
        }
    }

    /// After shutdown: every running gated delete sees the cancelled token and
    /// ends with `StoppedShutdown`; wait for all of them, then drop the rest.
    async fn wind_down(mut self) {
        while let Some(joined) = self.tasks.join_next_with_id().await {
            self.finish(joined);
        }
        self.inbox.close();
        while let Ok(registration) = self.inbox.try_recv() {
            self.track(registration);
        }
        let mut left = 0;
        for slot in 0..self.consumers.len() {
            if self.consumers[slot].is_some() {
                left += 1;
                self.release(slot);
            }
        }
        self.deadlines.clear();
        self.waiting.clear();
        self.hand_back_freed_slots();
        self.shared.queued.store(0, Ordering::Relaxed);
        self.shared.scheduled.store(0, Ordering::Relaxed);
        tracing::debug!(
            still_tracked = left,
            "reaper stopped (tracked consumers are left alone)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-consumer figures the README's layout table quotes.
    #[test]
    fn layout() {
        assert_eq!(std::mem::size_of::<Due>(), 12);
        assert_eq!(std::mem::size_of::<Meta>(), 12);
        assert_eq!(std::mem::size_of::<Option<Arc<()>>>(), 8);
    }

    #[test]
    fn the_heap_pops_the_earliest_deadline_first() {
        let mut heap: BinaryHeap<Due> = [30, 10, 20]
            .into_iter()
            .map(|at_ms| Due { at_ms, slot: 0 })
            .collect();
        let order: Vec<u64> = std::iter::from_fn(|| heap.pop().map(Due::at)).collect();
        assert_eq!(order, [10, 20, 30]);
    }

    #[test]
    fn an_element_is_current_only_for_its_slots_deadline_while_scheduled() {
        let mut meta = vec![Meta::default(); 2];
        meta[1] = Meta {
            at: 40,
            state: SCHEDULED,
            ..Meta::default()
        };
        assert!(is_current(&meta, Due { at_ms: 40, slot: 1 }));
        assert!(
            !is_current(&meta, Due { at_ms: 39, slot: 1 }),
            "rescheduled since"
        );
        meta[1].state = RUNNING;
        assert!(!is_current(&meta, Due { at_ms: 40, slot: 1 }), "running");
        assert!(!is_current(&meta, Due { at_ms: 0, slot: 0 }), "free");
    }
}
