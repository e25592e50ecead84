//! The one task that owns every inactivity deadline.
//!
//! Deadlines sit in a min-heap keyed by the time a consumer would become
//! inactive. `touch` never reaches the driver: when a deadline comes up the
//! driver reads the consumer's last-activity timestamp and, if it moved,
//! pushes the entry back at its new deadline. Unregistered entries are dropped
//! lazily when they come up, or all at once when they are many.
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
use std::sync::Arc;
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
use crate::reaper::{Entry, Observer, Shared};

/// Ready items handled per kind before the driver yields.
const BATCH: usize = 512;
/// Unregistered entries tolerated in the heap before it is compacted.
pub(crate) const MIN_GARBAGE_TO_COMPACT: usize = 1024;
/// The timer's deadline when nothing is scheduled.
const IDLE_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A consumer's next check.
struct Due<C> {
    at_ms: u64,
    entry: Arc<Entry<C>>,
    /// Consecutive re-arms because the metalayer was unavailable.
    rearms: u32,
}

impl<C> PartialEq for Due<C> {
    fn eq(&self, other: &Self) -> bool {
        self.at_ms == other.at_ms
    }
}
impl<C> Eq for Due<C> {}
impl<C> PartialOrd for Due<C> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<C> Ord for Due<C> {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest deadline must be on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.at_ms.cmp(&self.at_ms)
    }
}

pub(crate) struct Driver<M, C: Consumer> {
    shared: Arc<Shared>,
    metalayer: Arc<M>,
    config: Arc<Config>,
    inbox: mpsc::UnboundedReceiver<Arc<Entry<C>>>,
    observer: Option<Observer<C::Key>>,
    deadlines: BinaryHeap<Due<C>>,
    /// Expired consumers waiting for a free slot, oldest first.
    waiting: VecDeque<Due<C>>,
    tasks: JoinSet<Finished>,
    running: HashMap<Id, Due<C>>,
    inbox_open: bool,
    /// Unregistered entries a compaction kept (stale instances still to clean
    /// up): the next compaction waits for this many more.
    garbage_kept: usize,
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
    entry: Arc<Entry<C>>,
    stop: CancellationToken,
) -> Finished
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    let job = Job {
        metalayer: metalayer.as_ref(),
        entry: entry.as_ref(),
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
        metalayer: Arc<M>,
        config: Arc<Config>,
        inbox: mpsc::UnboundedReceiver<Arc<Entry<C>>>,
        observer: Option<Observer<C::Key>>,
    ) -> Self {
        Driver {
            shared,
            metalayer,
            config,
            inbox,
            observer,
            deadlines: BinaryHeap::new(),
            waiting: VecDeque::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            inbox_open: true,
            garbage_kept: 0,
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
                    for entry in arrivals.drain(..) {
                        self.track(entry);
                    }
                }
                () = self.shared.compaction_due.notified() => {}
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
            let Ok(entry) = self.inbox.try_recv() else {
                break;
            };
            self.track(entry);
            worked = true;
        }
        let now = self.shared.clock.now_ms();
        for _ in 0..BATCH {
            match self.deadlines.peek() {
                Some(due) if due.at_ms <= now => {}
                _ => break,
            }
            if let Some(due) = self.deadlines.pop() {
                self.check_due(due, now);
                worked = true;
            }
        }
        for _ in 0..BATCH {
            if self.tasks.len() >= self.config.max_in_flight {
                break;
            }
            let Some(due) = self.waiting.pop_front() else {
                break;
            };
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            self.start_gated_delete(due);
            worked = true;
        }
        self.compact_if_mostly_garbage();
        self.summarize_folded_warnings();
        self.shared
            .scheduled
            .store(self.deadlines.len(), Ordering::Relaxed);
        worked
    }

    fn next_wake(&self) -> tokio::time::Instant {
        match self.deadlines.peek() {
            Some(due) => self.shared.clock.instant_at_ms(due.at_ms),
            None => tokio::time::Instant::now() + IDLE_WAIT,
        }
    }

    fn track(&mut self, entry: Arc<Entry<C>>) {
        let at_ms = entry.idle_deadline_ms();
        self.deadlines.push(Due {
            at_ms,
            entry,
            rearms: 0,
        });
    }

    /// Whether an unregistered entry still has to be checked: its instance
    /// is open although the metalayer removed or replaced its assignment
    /// (see `Job::let_go`), so letting go of it would leave it open forever.
    fn is_stale_open(&self, entry: &Entry<C>) -> bool {
        stale_open_instance(self.metalayer.as_ref(), entry).is_some()
    }

    /// A deadline came up: drop it (unregistered), push it back (touched
    /// since), or start reaping it.
    fn check_due(&mut self, due: Due<C>, now_ms: u64) {
        let idle_deadline = due.entry.idle_deadline_ms();
        if due.entry.is_unregistered() && !self.is_stale_open(&due.entry) {
            tracing::trace!(consumer = %due.entry.consumer.key(), "unregistered consumer dropped");
            self.shared.release(&due.entry);
        } else if due.entry.is_unregistered() {
            // A stale instance: the run deletes it (or re-arms while the
            // metalayer is not ready), whatever its activity.
            self.expire(due);
        } else if idle_deadline > now_ms {
            self.shared.rechecked.fetch_add(1, Ordering::Relaxed);
            let at_ms = idle_deadline.max(due.at_ms);
            self.deadlines.push(Due { at_ms, ..due });
        } else {
            self.expire(due);
        }
    }

    /// Starts the gated delete now, or queues it behind the runs in flight.
    fn expire(&mut self, due: Due<C>) {
        if self.tasks.len() < self.config.max_in_flight {
            self.start_gated_delete(due);
        } else {
            self.shared.queued.fetch_add(1, Ordering::Relaxed);
            self.waiting.push_back(due);
        }
    }

    /// Runs the gated delete for an expired consumer. Its first steps are
    /// synchronous (standalone delete, re-arm while the metalayer is down,
    /// ...), so it is polled once here and becomes a task only if it has to
    /// wait: a mass expiry spawns tasks only for the deletes that wait for a
    /// commit.
    fn start_gated_delete(&mut self, due: Due<C>) {
        let stop = CancellationToken::new();
        let mut run = Box::pin(run_gated_delete(
            self.shared.clone(),
            self.metalayer.clone(),
            self.config.clone(),
            due.entry.clone(),
            stop.clone(),
        ));
        // The broker's code runs in this poll: a panic in it must not take the
        // driver (and every other consumer's tracking) down.
        let mut context = Context::from_waker(&self.first_poll_waker);
        let first_poll = catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(&mut context)));
        match first_poll {
            Ok(Poll::Ready(finished)) => self.conclude(due, finished),
            Err(_) => {
                tracing::error!(consumer = %due.entry.consumer.key(),
                    "gated delete panicked; the consumer will be checked again");
                let outcome = Outcome::rearmed(RearmReason::Panicked);
                self.conclude(
                    due,
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
                    .insert(due.entry.id, stop.clone());
                if due.entry.is_unregistered() {
                    stop.cancel();
                }
                // The runtime polls it again at once, with a real waker.
                let handle = self.tasks.spawn(run);
                self.shared.spawned.fetch_add(1, Ordering::Relaxed);
                self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
                self.running.insert(handle.id(), due);
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
            Some(due) => {
                self.shared.running_lock().remove(&due.entry.id);
                self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                self.conclude(due, finished);
            }
            None => {
                tracing::error!(task = %id, "finished gated delete was not known to the driver")
            }
        }
    }

    /// Logs a finished run, tells the observer, then re-arms or lets go.
    fn conclude(&mut self, due: Due<C>, finished: Finished) {
        self.shared.finished.fetch_add(1, Ordering::Relaxed);
        if finished.outcome.deleted() {
            self.shared.deleted.fetch_add(1, Ordering::Relaxed);
        }
        self.log_outcome(&due, &finished);
        if let Some(observer) = &self.observer {
            observer(&Report {
                key: due.entry.consumer.key().clone(),
                assignment: due.entry.consumer.assignment(),
                proposals: finished.proposals,
                outcome: finished.outcome.clone(),
            });
        }
        match finished.outcome {
            Outcome::Rearmed { reason }
                if !due.entry.is_unregistered() || self.is_stale_open(&due.entry) =>
            {
                self.rearm(due, reason)
            }
            _ => self.shared.release(&due.entry),
        }
    }

    fn rearm(&mut self, due: Due<C>, reason: RearmReason) {
        let now = self.shared.clock.now_ms();
        let (delay, rearms) = match reason {
            RearmReason::MetalayerUnavailable => {
                (self.config.unavailable_delay(due.rearms), due.rearms + 1)
            }
            RearmReason::NotCommitted | RearmReason::Panicked => (self.config.max_backoff, 0),
            RearmReason::ActiveAgain => (Duration::ZERO, 0),
        };
        let at_ms = (now + duration_ms(delay)).max(due.entry.idle_deadline_ms());
        self.deadlines.push(Due {
            at_ms,
            rearms,
            ..due
        });
    }

    /// Every finished run is logged with the consumer's key, the number of
    /// proposals (`attempt`) and the outcome. Anomalies warn; the warnings a
    /// mass event repeats go through a gate that folds them into counts.
    fn log_outcome(&self, due: &Due<C>, finished: &Finished) {
        let key = due.entry.consumer.key();
        let assignment = match due.entry.consumer.assignment() {
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
                let recheck_in = self.config.unavailable_delay(due.rearms);
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

    /// Drops unregistered entries in one pass once they are most of the heap,
    /// so churn (register, unregister, repeat) cannot grow it without bound.
    fn compact_if_mostly_garbage(&mut self) {
        let garbage = self.shared.garbage.load(Ordering::Relaxed);
        self.garbage_kept = self.garbage_kept.min(garbage);
        if garbage - self.garbage_kept >= MIN_GARBAGE_TO_COMPACT
            && garbage * 2 >= self.deadlines.len()
        {
            let shared = &self.shared;
            let metalayer = self.metalayer.as_ref();
            self.deadlines.retain(|due| {
                // A stale instance stays until its check comes up.
                let keep = !due.entry.is_unregistered()
                    || stale_open_instance(metalayer, &due.entry).is_some();
                if !keep {
                    shared.release(&due.entry);
                }
                keep
            });
            self.garbage_kept = self.shared.garbage.load(Ordering::Relaxed);
            tracing::debug!(
                garbage,
                kept = self.garbage_kept,
                remaining = self.deadlines.len(),
                "dropped unregistered consumers"
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
        while let Ok(entry) = self.inbox.try_recv() {
            self.track(entry);
        }
        let left = self.deadlines.len() + self.waiting.len();
        for due in self.deadlines.drain().chain(self.waiting.drain(..)) {
            self.shared.release(&due.entry);
        }
        self.shared.queued.store(0, Ordering::Relaxed);
        self.shared.scheduled.store(0, Ordering::Relaxed);
        tracing::debug!(
            still_tracked = left,
            "reaper stopped (tracked consumers are left alone)"
        );
    }
}
