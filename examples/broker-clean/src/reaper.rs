//! The inactivity reaper: deletes consumers nobody pulled from for
//! `threshold`. Standalone consumers go at once; clustered ones by proposing
//! the delete to the metalayer, with backoff, until it is applied.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
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
    /// The inactivity checks in flight, so that shutdown can end them.
    pub checks: Mutex<JoinSet<()>>,
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
        let mut checks = self.checks.lock().unwrap();
        // Collect finished checks so the set holds only live ones.
        while checks.try_join_next().is_some() {}
        checks.spawn(async move {
            sleep(threshold).await;
            reaper.delete_not_active(consumer).await;
        });
    }

    /// Ends every pending check; called once on server shutdown.
    pub async fn stop_checks(&self) {
        let mut checks = std::mem::take(&mut *self.checks.lock().unwrap());
        checks.shutdown().await;
    }

    /// Runs when the inactivity timer of `consumer` fires. A check that
    /// cannot finish now says why and re-arms itself; the local delete of a
    /// clustered consumer is left to the metalayer.
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
        let Some(meta) = self.cluster.as_ref().and_then(|c| c.metalayer()) else {
            warn!(consumer = %consumer.name, "inactive, but no metalayer yet; checking again later");
            self.schedule_inactivity_check(consumer);
            return;
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
            if consumer.is_closed() {
                debug!(consumer = %ca.name, "consumer closed meanwhile; nothing left to retry");
                return;
            }
            if !nca.same_identity(&ca) {
                warn!(consumer = %ca.name, "forcibly cleaned up: a newer incarnation is assigned");
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
    pub async fn resume_pending(self: &Arc<Self>, pending: Vec<Arc<ConsumerAssignment>>) {
        let Some(meta) = self.cluster.as_ref().and_then(|c| c.metalayer()) else {
            warn!(
                count = pending.len(),
                "no metalayer; re-arming the pending deletes"
            );
            for ca in &pending {
                if let Some(consumer) = self.registry.get(&ca.name) {
                    self.schedule_inactivity_check(consumer);
                }
            }
            return;
        };
        for ca in pending {
            let nca = meta.consumer_assignment(&ca.name);
            let consumer = self.registry.get(&ca.name);
            match (nca, consumer) {
                (Some(nca), Some(consumer)) if nca.generation == ca.generation => {
                    self.delete_not_active(consumer).await;
                }
                _ => {
                    debug!(consumer = %ca.name, "consumer re-created or gone since the delete was proposed")
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
