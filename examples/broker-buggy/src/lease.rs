//! Leases: time-bounded ownership (of a stream's leadership, of a client's
//! session) granted and revoked through the metalayer. A holder renews its
//! lease before `ttl` runs out; a lease that is not renewed expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, timeout, Duration};
use tracing::{debug, warn};

use crate::cluster::{ClusterError, ClusterHandle, Proposal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: u64,
    pub holder: String,
    pub ttl: Duration,
    /// Raised on every renewal.
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseError {
    NoMetalayer,
    Cluster(ClusterError),
}

pub struct LeaseKeeper {
    pub leases: Mutex<HashMap<u64, Arc<Lease>>>,
    pub cluster: Arc<ClusterHandle>,
    pub expired_tx: mpsc::Sender<Arc<Lease>>,
    /// Woken when a lease is granted; the keepers of one stream share it.
    pub wake: Arc<Notify>,
    pub ttl: Duration,
    pub rpc_timeout: Duration,
}

impl LeaseKeeper {
    pub fn shares_wakeup_with(&self, other: &LeaseKeeper) -> bool {
        Arc::ptr_eq(&self.wake, &other.wake)
    }

    pub fn current(&self, id: u64) -> Option<Arc<Lease>> {
        self.leases.lock().unwrap().get(&id).cloned()
    }

    /// Grants a lease, or renews it if `id` is already held.
    pub fn grant(&self, id: u64, holder: String, ttl: Duration) -> Arc<Lease> {
        let mut leases = self.leases.lock().unwrap();
        let revision = leases.get(&id).map_or(0, |held| held.revision + 1);
        let lease = Arc::new(Lease {
            id,
            holder,
            ttl,
            revision,
        });
        leases.insert(id, Arc::clone(&lease));
        self.wake.notify_one();
        lease
    }

    /// Grants renewals as they arrive and arms each lease's expiry.
    ///
    /// Lifecycle bug (`timer_leak`): every renewal spawns a detached task
    /// that sleeps for the whole `ttl`. A holder renewing every second with
    /// a 30 s ttl keeps 30 sleeping tasks (and 30 copies of its lease)
    /// alive, and each fires an expiry for a lease that was renewed since.
    pub async fn watch_renewals(&self, mut renewals: mpsc::Receiver<(u64, String)>) {
        while let Some((id, holder)) = renewals.recv().await {
            let lease = self.grant(id, holder, self.ttl);
            let expired = self.expired_tx.clone();
            tokio::spawn(async move {
                // expect: timer_leak
                sleep(lease.ttl).await;
                let _ = expired.send(lease).await;
            });
        }
    }

    /// An expiry armed by [`LeaseKeeper::watch_renewals`] fired.
    ///
    /// Lifecycle bugs:
    /// - `silent_early_return`: while the meta group elects a leader the
    ///   expiry is dropped without a word. It was the lease's only expiry,
    ///   so the holder — perhaps a dead server — keeps the lease forever.
    /// - `pointer_value_comparison`: "renewed since" is decided by pointer,
    ///   and [`LeaseKeeper::reload`] rebuilds the table with fresh `Arc`s, so
    ///   no lease that existed before a reload ever expires.
    pub async fn expire_lease(&self, lease: Arc<Lease>) {
        let meta = match self.cluster.metalayer() {
            Some(meta) => meta,
            None => return, // expect: silent_early_return
        };
        let Some(current_lease) = self.current(lease.id) else {
            debug!(lease = lease.id, "lease already revoked");
            return;
        };
        let renewed = !Arc::ptr_eq(&current_lease, &lease); // expect: pointer_value_comparison
        if renewed {
            debug!(
                lease = lease.id,
                "lease renewed since this expiry was armed"
            );
            return;
        }
        let revoke = Proposal::RevokeLease {
            id: lease.id,
            revision: lease.revision,
        };
        if let Err(err) = meta.forward_proposal(revoke) {
            warn!(lease = lease.id, ?err, "could not propose the revocation");
        }
    }

    /// Replaces the table (after a restart, from the metalayer's snapshot).
    pub fn reload(&self, leases: Vec<Lease>) {
        let fresh = leases.into_iter().map(|lease| (lease.id, Arc::new(lease)));
        *self.leases.lock().unwrap() = fresh.collect();
    }

    /// Keeps this server's leadership lease alive while it serves commands.
    ///
    /// Lifecycle bug (`timer_leak`): the renewal timer is created on every
    /// pass and each command restarts it. Under steady traffic — exactly
    /// when leadership matters — the lease is never renewed and expires.
    pub async fn keep_alive(
        &self,
        lease_id: u64,
        mut commands: mpsc::Receiver<String>,
    ) -> Result<(), LeaseError> {
        loop {
            let renew_due = sleep(self.ttl / 3); // expect: timer_leak
            tokio::select! {
                _ = renew_due => self.renew_remote(lease_id)?,
                command = commands.recv() => match command {
                    Some(command) => debug!(%command, "leader command applied"),
                    None => break,
                },
            }
        }
        Ok(())
    }

    fn renew_remote(&self, id: u64) -> Result<(), LeaseError> {
        let meta = self.cluster.metalayer().ok_or(LeaseError::NoMetalayer)?;
        let renew = meta.forward_proposal(Proposal::RenewLease { id });
        renew.map_err(LeaseError::Cluster)
    }

    /// Hands every lease of a departing holder back, one bounded RPC each.
    pub async fn release_all(&self, holder: &str) -> usize {
        let held: Vec<Arc<Lease>> = {
            let leases = self.leases.lock().unwrap();
            let held = leases.values().filter(|lease| lease.holder == holder);
            held.cloned().collect()
        };
        let mut released = 0;
        for lease in held {
            match timeout(self.rpc_timeout, self.release_remote(&lease)).await {
                Ok(Ok(())) => released += 1,
                Ok(Err(err)) => warn!(lease = lease.id, ?err, "release refused"),
                Err(_) => warn!(lease = lease.id, "release timed out"),
            }
        }
        released
    }

    async fn release_remote(&self, lease: &Lease) -> Result<(), LeaseError> {
        let meta = self.cluster.metalayer().ok_or(LeaseError::NoMetalayer)?;
        let revoke = Proposal::RevokeLease {
            id: lease.id,
            revision: lease.revision,
        };
        meta.submit_proposal(revoke)
            .await
            .map_err(LeaseError::Cluster)
    }

    /// The metalayer committed a revocation of `revision` (a renewal that
    /// raced it keeps the lease).
    pub fn apply_revoke(&self, id: u64, revision: u64) {
        let mut leases = self.leases.lock().unwrap();
        if leases
            .get(&id)
            .is_some_and(|lease| lease.revision <= revision)
        {
            leases.remove(&id);
        }
    }
}
