//! The inactivity reaper: deletes consumers nobody pulled from for
//! `threshold`. Standalone consumers go at once; clustered ones by proposing
//! the delete to the metalayer, with backoff, until it is applied.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, Duration};
use tracing::{debug, info, warn};

use crate::cluster::{ClusterHandle, ConsumerAssignment, Proposal};
use crate::registry::{Consumer, ConsumerRegistry};

pub struct Reaper {
    pub registry: Arc<ConsumerRegistry>,
    pub cluster: Option<Arc<ClusterHandle>>,
    pub shutdown: watch::Receiver<bool>,
    pub threshold: Duration,
    pub retry_start: Duration,
    pub retry_max: Duration,
    /// Exported as a gauge.
    pub deletes_inflight: AtomicUsize,
    /// Told the name of every consumer the reaper removed.
    pub observers: Mutex<Vec<mpsc::Sender<String>>>,
}

impl Reaper {
    pub fn unsubscribe(&self, observer: &mpsc::Sender<String>) {
        let mut observers = self.observers.lock().unwrap();
        observers.retain(|o| !o.same_channel(observer));
    }

    fn tell_observers(&self, name: &str) {
        for observer in self.observers.lock().unwrap().iter() {
            let _ = observer.try_send(name.to_owned());
        }
    }

    /// Arms the one-shot inactivity timer of `consumer`.
    pub fn schedule_inactivity_check(self: &Arc<Self>, consumer: Arc<Consumer>) {
        let (reaper, threshold) = (Arc::clone(self), self.threshold);
        tokio::spawn(async move {
            sleep(threshold).await;
            reaper.delete_not_active(consumer).await;
        });
    }

    /// Runs when the inactivity timer of `consumer` fires.
    ///
    /// Lifecycle bugs:
    /// - `silent_early_return` (twice): until this server has joined the
    ///   cluster, and while the meta group has no leader, it returns without
    ///   a word. The timer was one-shot and is consumed, so the idle consumer
    ///   is never looked at again: a ghost until restart.
    /// - `pointer_value_comparison`: `Arc::ptr_eq` reads any re-fetched
    ///   assignment as replaced (a snapshot install re-creates them all), so
    ///   a live consumer is force-deleted locally while the metalayer still
    ///   has it — the premature delete this retry loop exists to avoid.
    pub async fn delete_not_active(self: &Arc<Self>, consumer: Arc<Consumer>) {
        if consumer.idle_for() < self.threshold {
            // Pulled from since the timer was armed: look again later.
            self.schedule_inactivity_check(consumer);
            return;
        }
        if !consumer.clustered {
            info!(consumer = %consumer.name, "deleting inactive consumer");
            self.registry.delete_consumer(&consumer.name);
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            return; // expect: silent_early_return
        };
        let Some(meta) = cluster.metalayer() else {
            return; // expect: silent_early_return
        };
        let Some(ca) = consumer.assignment() else {
            warn!(consumer = %consumer.name, "no assignment; deleting locally");
            self.registry.delete_consumer(&consumer.name);
            return;
        };

        self.deletes_inflight.fetch_add(1, Ordering::Relaxed);
        let _inflight = scopeguard::guard(&self.deletes_inflight, |inflight| {
            inflight.fetch_sub(1, Ordering::Relaxed);
        });
        let mut consumer_quit = consumer.quit_signal();
        let mut shutdown = self.shutdown.clone();
        let mut backoff = self.retry_start;
        loop {
            if let Err(err) = meta.forward_proposal(Proposal::delete(&ca)) {
                warn!(consumer = %ca.name, ?err, "delete proposal not forwarded");
            }
            tokio::select! {
                _ = sleep(backoff) => {}
                _ = consumer_quit.wait_for(|stopped| *stopped) => {
                    debug!(consumer = %ca.name, "consumer stopped by the metalayer");
                    self.tell_observers(&ca.name);
                    return;
                }
                _ = shutdown.changed() => {
                    debug!(consumer = %ca.name, "shutting down; delete left to the next leader");
                    return;
                }
            }
            let Some(nca) = meta.consumer_assignment(&ca.name) else {
                warn!(consumer = %ca.name, "assignment gone; deleting locally");
                self.registry.delete_consumer(&ca.name);
                return;
            };
            let replaced = !Arc::ptr_eq(&nca, &ca); // expect: pointer_value_comparison
            if replaced && !consumer.is_closed() {
                warn!(consumer = %ca.name, "forcibly cleaned up due to assignment change");
                self.registry.delete_consumer(&ca.name);
                self.tell_observers(&ca.name);
                return;
            }
            warn!(consumer = %ca.name, retry_in = ?backoff, "consumer not cleaned up, retrying");
            backoff = (backoff * 2).min(self.retry_max);
        }
    }

    /// Resumes the deletes an earlier meta leader proposed but never saw
    /// committed. Runs when this server becomes meta leader.
    ///
    /// Lifecycle bug (`pointer_value_comparison`): whole assignments compared
    /// by value. Any change that leaves the consumer the same — a replica
    /// moved to another server — makes them unequal, and the pending delete
    /// of an idle consumer is dropped for good: nothing re-arms it.
    pub async fn resume_pending(self: &Arc<Self>, pending: Vec<Arc<ConsumerAssignment>>) {
        let Some(meta) = self.cluster.as_ref().and_then(|c| c.metalayer()) else {
            warn!(
                count = pending.len(),
                "no metalayer; pending deletes dropped"
            );
            return;
        };
        for ca in pending {
            let nca = meta.consumer_assignment(&ca.name);
            let consumer = self.registry.get(&ca.name);
            match (nca, consumer) {
                (Some(nca), Some(consumer)) if nca == ca => self.delete_not_active(consumer).await, // expect: pointer_value_comparison
                _ => {
                    debug!(consumer = %ca.name, "assignment changed since the delete was proposed")
                }
            }
        }
    }

    /// The metalayer pushed a new assignment for a consumer this server runs.
    pub fn on_assignment_update(&self, consumer: &Consumer, nca: Arc<ConsumerAssignment>) {
        let previous = consumer.assignment();
        let recreated = previous.is_some_and(|ca| ca.generation != nca.generation);
        consumer.set_assignment(Some(nca));
        if recreated {
            // A new incarnation starts with a fresh inactivity window.
            consumer.touch();
        }
    }
}
