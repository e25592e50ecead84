//! The gated delete: one explicit state machine, read top to bottom.
//!
//! Every exit is a typed [`Outcome`]; the driver logs it with the consumer's
//! key and the number of proposals, and re-arms the check when the outcome is
//! `Rearmed`. Nothing here deletes on scope exit: each delete is a visible
//! call on the one path that is allowed to make it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lifecycle_macros::quorum_gated_delete;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::broker::{AssignmentId, Consumer, Metalayer, QuitReason};
use crate::config::{next_backoff, Config};
use crate::faults::ReaperFault;
use crate::outcome::{AssignmentChange, LocalReason, Outcome, RearmReason};
use crate::pace::Admit;
use crate::reaper::{Entry, Shared};

/// Everything one run of the gated delete needs, borrowed from the driver's task.
pub(crate) struct Job<'a, M, C> {
    pub(crate) metalayer: &'a M,
    pub(crate) entry: &'a Entry<C>,
    pub(crate) shared: &'a Shared,
    pub(crate) config: &'a Config,
    /// Cancelled when the broker unregisters the consumer (shutdown is
    /// `shared.shutdown`).
    pub(crate) stop: &'a CancellationToken,
}

/// What one run ended with, and how many proposals it forwarded.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) outcome: Outcome,
    pub(crate) proposals: u32,
}

/// Deletes one inactive consumer: locally when nothing needs coordinating,
/// otherwise only once the metalayer has committed the delete.
///
/// The consumer's check has already fired (it was idle past its threshold).
/// `#[quorum_gated_delete]` holds this function to lifecycle-lint's rules at
/// every build: no delete on scope exit, no restarting timers, no silent
/// early return, no assignment compared by pointer.
#[quorum_gated_delete]
pub(crate) async fn gated_delete<M, C>(job: &Job<'_, M, C>) -> Finished
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    let consumer = job.entry.consumer.as_ref();
    let key = consumer.key();
    let done = |outcome: Outcome, proposals: u32| Finished { outcome, proposals };
    // Deliberate bugs (tests only; always false in a default build).
    let heeds_shutdown = !job.shared.fault(ReaperFault::IgnoreShutdown);
    let heeds_step_down = !job.shared.fault(ReaperFault::IgnoreStepDown);
    let closed_is_done = job.shared.fault(ReaperFault::ClosedIsDone);

    // 1. Someone else has already acted, or this replica may not.
    if heeds_shutdown && job.shared.shutdown.is_cancelled() {
        return done(Outcome::StoppedShutdown, 0);
    }
    if heeds_step_down && (job.stop.is_cancelled() || job.entry.is_unregistered()) {
        return job.let_go(job.why_stopped(), 0).await;
    }
    // A closed instance whose assignment the metalayer still holds is not
    // done with: its assignment is reaped below (without a local delete).
    let mut closed = consumer.is_closed();
    if closed && (closed_is_done || !job.holds_assignment_of_closed()) {
        return done(Outcome::StoppedConsumerClosed, 0);
    }
    if heeds_step_down && !consumer.is_leader() {
        return job.let_go(Outcome::StoppedLostLeadership, 0).await;
    }
    if job.entry.idle_deadline_ms() > job.shared.clock.now_ms() {
        return done(Outcome::rearmed(RearmReason::ActiveAgain), 0);
    }

    // 2. Nothing to coordinate: delete here, now.
    if !job.metalayer.is_clustered() {
        if !job.delete_locally().await {
            return done(Outcome::StoppedShutdown, 0);
        }
        return done(Outcome::deleted_locally(LocalReason::Standalone), 0);
    }
    let Some(held) = consumer.assignment() else {
        if !job.delete_locally().await {
            return done(Outcome::StoppedShutdown, 0);
        }
        return done(Outcome::deleted_locally(LocalReason::NotAssigned), 0);
    };

    // 3. Clustered: propose, then wait for the apply path to stop the consumer,
    //    proposing again with backoff until something decides the matter. For
    //    an instance already closed, the quit signal says nothing any more:
    //    the assignment's disappearance from the metalayer is the answer.
    let quit = consumer.quit();
    tokio::pin!(quit);
    if closed && fired(quit.as_mut()).await == Some(QuitReason::AssignmentRemoved) {
        // Stopped by the apply path before this run began (the view may lag).
        return done(Outcome::StoppedConsumerClosed, 0);
    }
    let timer = sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut backoff = job.config.initial_backoff;
    let mut waited = Duration::ZERO;
    let mut proposals: u32 = 0;
    let mut proposed_closed = false;
    loop {
        // 3a. Wait for a proposal slot (mass expiry must not flood the
        //     metalayer) — only if a proposal could go out: while the
        //     metalayer is not ready, re-arm at once, taking no slot (an outage
        //     must not eat the proposal budget) and, on the first poll, not
        //     becoming a task.
        if !job.metalayer.is_ready() {
            if job.shared.fault(ReaperFault::DropUnavailableRearm) {
                return done(Outcome::StoppedConsumerClosed, proposals);
            }
            return done(
                Outcome::rearmed(RearmReason::MetalayerUnavailable),
                proposals,
            );
        }
        let slot = job.shared.pacer.reserve(job.shared.clock.now_nanos());
        job.shared.slots.fetch_add(1, Ordering::Relaxed);
        let slot = job.shared.clock.instant_at_nanos(slot);
        timer.as_mut().reset(slot);
        loop {
            tokio::select! {
                biased;
                reason = &mut quit, if !closed => match reason {
                    QuitReason::AssignmentRemoved => {
                        return done(Outcome::DeletedByMetalayer, proposals)
                    }
                    // Stopped for another reason: not a commit. Keep the
                    // slot; the checks below decide (the assignment is reaped
                    // if it still exists).
                    _ => closed = true,
                },
                () = job.shared.shutdown.cancelled(), if heeds_shutdown => return done(Outcome::StoppedShutdown, proposals),
                () = job.stop.cancelled(), if heeds_step_down => return job.let_go(job.why_stopped(), proposals).await,
                () = &mut timer => break,
            }
        }

        // 3b. Check everything again right before proposing.
        if heeds_step_down && job.entry.is_unregistered() {
            return job.let_go(job.why_stopped(), proposals).await;
        }
        if !closed && consumer.is_closed() {
            // Closed since the wait ended: its quit, if it fired, says why.
            if fired(quit.as_mut()).await == Some(QuitReason::AssignmentRemoved) {
                return done(Outcome::DeletedByMetalayer, proposals);
            }
            closed = true;
        }
        if closed && closed_is_done {
            return done(Outcome::StoppedConsumerClosed, proposals);
        }
        if heeds_step_down && !consumer.is_leader() {
            if closed {
                return done(Outcome::StoppedConsumerClosed, proposals);
            }
            return job.let_go(Outcome::StoppedLostLeadership, proposals).await;
        }
        if !job.metalayer.is_ready() {
            // Never a silent return: the driver warns and re-checks later.
            return done(
                Outcome::rearmed(RearmReason::MetalayerUnavailable),
                proposals,
            );
        }
        if job.entry.idle_deadline_ms() > job.shared.clock.now_ms()
            && !job.shared.fault(ReaperFault::SkipActivityRecheck)
        {
            return done(Outcome::rearmed(RearmReason::ActiveAgain), proposals);
        }
        // The identity the proposal names: the instance's own, always (a
        // deliberate bug may name another).
        let mut target = held;
        match job.metalayer.assignment(key) {
            // Closed already: nothing to delete here, only the assignment to reap.
            Some(current) if closed && current.same_identity(held) => {}
            // Gone (or replaced) since: by this run's proposal if it made one
            // for the closed instance.
            _ if closed && proposed_closed => {
                return done(Outcome::AssignmentDeletedAfterClose, proposals)
            }
            _ if closed => return done(Outcome::StoppedConsumerClosed, proposals),
            None if proposals == 0 => {
                if !job.delete_locally().await {
                    return done(Outcome::StoppedShutdown, 0);
                }
                return done(Outcome::deleted_locally(LocalReason::NoAssignment), 0);
            }
            None => {
                if !job.delete_locally().await {
                    return done(Outcome::StoppedShutdown, proposals);
                }
                return done(Outcome::forced(AssignmentChange::Gone), proposals);
            }
            Some(current)
                if !current.same_identity(held)
                    && job.shared.fault(ReaperFault::ProposeMetalayerIdentity) =>
            {
                target = current;
            }
            Some(current) if !current.same_identity(held) => {
                if !job.delete_locally().await {
                    return done(Outcome::StoppedShutdown, proposals);
                }
                let change = AssignmentChange::Replaced { by: current };
                return done(Outcome::forced(change), proposals);
            }
            Some(_) => {}
        }
        if proposals == job.config.max_attempts {
            return done(Outcome::rearmed(RearmReason::NotCommitted), proposals);
        }

        // 3c. Propose deleting exactly the assignment this instance came from.
        if proposals > 0 {
            job.warn_not_cleaned_up(proposals, waited);
        }
        if job.shared.fault(ReaperFault::ProposeUnknownIdentity) {
            target = AssignmentId::from_raft_index(u64::MAX - held.raft_index());
        }
        if !closed
            && job.shared.fault(ReaperFault::DeleteBeforeCommit)
            && !job.delete_locally().await
        {
            return done(Outcome::StoppedShutdown, proposals);
        }
        proposals += 1;
        proposed_closed = closed;
        let forwarded = job.metalayer.forward_delete_proposal(key, target);
        job.shared.count_proposal();
        tracing::debug!(consumer = %key, attempt = proposals, assignment = %target,
            forwarded = ?forwarded, closed, "inactive consumer: delete proposed to the metalayer");

        // 3d. Wait for the commit (seen as the consumer's quit, or for a closed
        //     instance as the assignment gone at the next check), or the backoff.
        timer.as_mut().reset(Instant::now() + backoff);
        loop {
            tokio::select! {
                biased;
                reason = &mut quit, if !closed => match reason {
                    QuitReason::AssignmentRemoved => {
                        return done(Outcome::DeletedByMetalayer, proposals)
                    }
                    // Not the commit: from now on the assignment's
                    // disappearance is the answer, checked after the backoff.
                    _ => closed = true,
                },
                () = job.shared.shutdown.cancelled(), if heeds_shutdown => return done(Outcome::StoppedShutdown, proposals),
                () = job.stop.cancelled(), if heeds_step_down => return job.let_go(job.why_stopped(), proposals).await,
                () = &mut timer => break,
            }
        }
        waited = backoff;
        backoff = next_backoff(backoff, job.config.max_backoff);
    }
}

/// Polls `quit` once: its reason if it has fired, `None` if it has not (a
/// consumer closed without its quit).
async fn fired<F: Future<Output = QuitReason>>(quit: Pin<&mut F>) -> Option<QuitReason> {
    tokio::select! {
        biased;
        reason = quit => Some(reason),
        () = std::future::ready(()) => None,
    }
}

impl<M, C> Job<'_, M, C>
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    /// Whether the metalayer still holds this (closed) instance's own
    /// assignment: then it must still be reaped, through the metalayer.
    fn holds_assignment_of_closed(&self) -> bool {
        let consumer = self.entry.consumer.as_ref();
        self.metalayer.is_clustered()
            && consumer.assignment().is_some_and(|held| {
                self.metalayer
                    .assignment(consumer.key())
                    .is_some_and(|current| current.same_identity(held))
            })
    }

    /// Deletes this instance locally: inline if the broker declared its
    /// delete quick (`Consumer::DELETE_MAY_BLOCK = false`), otherwise on
    /// tokio's blocking pool, at most `Config::max_local_deletes` at once, so a
    /// slow delete (disk) holds up only its own run — never the driver, never
    /// a runtime worker. Returns false, having deleted nothing, if the reaper
    /// shut down while the delete waited for its turn. A panic in the
    /// broker's delete is passed on to the run (the driver re-arms it).
    async fn delete_locally(&self) -> bool {
        if !C::DELETE_MAY_BLOCK {
            self.entry.consumer.delete_locally();
            return true;
        }
        let permit = tokio::select! {
            biased;
            () = self.shared.shutdown.cancelled() => return false,
            permit = self.shared.local_deletes.acquire() => permit,
        };
        let Ok(_permit) = permit else {
            return false; // closed: the reaper is gone
        };
        let consumer = Arc::clone(&self.entry.consumer);
        match tokio::task::spawn_blocking(move || consumer.delete_locally()).await {
            Ok(()) => true,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // The runtime shut down before the delete could start.
            Err(_) => false,
        }
    }

    /// The run stops because this replica no longer reaps the consumer for
    /// inactivity (unregistered, or no longer its leader). An instance that
    /// is still open although the metalayer removed or replaced its
    /// assignment is nobody else's to clean up — the new leader has its own
    /// instance, stopped by the apply path — so it is deleted here, as on the
    /// forced path: its removal is committed. If the metalayer is not ready,
    /// the check is re-armed rather than forgotten.
    async fn let_go(&self, stopped: Outcome, proposals: u32) -> Finished {
        let done = |outcome: Outcome| Finished { outcome, proposals };
        if stopped == Outcome::StoppedShutdown || self.shared.fault(ReaperFault::SkipStaleCleanup) {
            return done(stopped);
        }
        let Some(current) = stale_open_instance(self.metalayer, self.entry.consumer.as_ref())
        else {
            return done(stopped);
        };
        if !self.metalayer.is_ready() {
            return done(Outcome::rearmed(RearmReason::MetalayerUnavailable));
        }
        if !self.delete_locally().await {
            return done(Outcome::StoppedShutdown);
        }
        match current {
            None => done(Outcome::forced(AssignmentChange::Gone)),
            Some(by) => done(Outcome::forced(AssignmentChange::Replaced { by })),
        }
    }
}

/// For a clustered instance still open whose assignment the metalayer no
/// longer holds (`Some(None)`) or holds under another identity
/// (`Some(Some(by))`): a stale instance, whoever leads the consumer. `None`
/// for every other instance.
pub(crate) fn stale_open_instance<M, C>(metalayer: &M, consumer: &C) -> Option<Option<AssignmentId>>
where
    M: Metalayer<C::Key>,
    C: Consumer,
{
    let held = consumer.assignment()?;
    if consumer.is_closed() || !metalayer.is_clustered() {
        return None;
    }
    match metalayer.assignment(consumer.key()) {
        Some(current) if current.same_identity(held) => None,
        current => Some(current),
    }
}

impl<M, C: Consumer> Job<'_, M, C> {
    /// Why the run was told to stop.
    fn why_stopped(&self) -> Outcome {
        if self.shared.shutdown.is_cancelled() {
            Outcome::StoppedShutdown
        } else if !self.entry.consumer.is_leader() {
            Outcome::StoppedLostLeadership
        } else {
            Outcome::StoppedUnregistered
        }
    }

    /// "Not cleaned up, retrying", through the warning gate.
    fn warn_not_cleaned_up(&self, attempt: u32, waited: Duration) {
        let key = self.entry.consumer.key();
        match self.shared.retry_warnings.admit(self.shared.clock.now_ms()) {
            Admit::Log { folded } => tracing::warn!(consumer = %key, attempt, waited = ?waited,
                folded_similar = folded,
                "inactive consumer not cleaned up by the metalayer yet, proposing again"),
            Admit::Fold => tracing::debug!(consumer = %key, attempt, waited = ?waited,
                "inactive consumer not cleaned up by the metalayer yet, proposing again"),
        }
    }
}
