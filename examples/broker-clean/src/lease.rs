//! Leases: time-bounded ownership (of a stream's leadership, of a client's
//! session) granted and revoked through the metalayer. A holder renews its
//! lease before `ttl` runs out; a lease that is not renewed expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Duration, Instant};
use tracing::{debug, warn};

use crate::cluster::{ClusterError, ClusterHandle, Proposal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: u64,
    pub holder: String,
    /// Raised on every renewal.
    pub revision: u64,
    pub expires_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseError {
    NoMetalayer,
    Cluster(ClusterError),
}

pub struct LeaseKeeper {
    pub leases: Mutex<HashMap<u64, Lease>>,
    pub cluster: Arc<ClusterHandle>,
    pub ttl: Duration,
    /// How long an expired lease waits before its revocation is proposed
    /// again, should the first proposal not commit.
    pub revoke_retry: Duration,
    pub rpc_timeout: Duration,
}

impl LeaseKeeper {
    pub fn current(&self, id: u64) -> Option<Lease> {
        self.leases.lock().unwrap().get(&id).cloned()
    }

    /// Grants a lease, or renews it if `id` is already held.
    pub fn grant(&self, id: u64, holder: String) -> Lease {
        let mut leases = self.leases.lock().unwrap();
        let revision = leases.get(&id).map_or(0, |held| held.revision + 1);
        let expires_at = Instant::now() + self.ttl;
        let lease = Lease {
            id,
            holder,
            revision,
            expires_at,
        };
        leases.insert(id, lease.clone());
        lease
    }

    /// The earliest deadline in the table (an hour away when it is empty:
    /// a grant wakes the loop anyway).
    fn next_expiry(&self) -> Instant {
        let leases = self.leases.lock().unwrap();
        let earliest = leases.values().map(|lease| lease.expires_at).min();
        earliest.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
    }

    /// The leases past their deadline. Each is re-queued `revoke_retry`
    /// later, so one whose revocation does not commit is proposed again:
    /// an expiry is never used up.
    fn requeue_expired(&self, now: Instant) -> Vec<Lease> {
        let mut leases = self.leases.lock().unwrap();
        let expired = leases.values_mut().filter(|lease| lease.expires_at <= now);
        expired
            .map(|lease| {
                lease.expires_at = now + self.revoke_retry;
                lease.clone()
            })
            .collect()
    }

    /// Grants renewals as they arrive and expires the leases that were not
    /// renewed: one loop and one timer, whatever the number of leases.
    pub async fn watch_renewals(&self, mut renewals: mpsc::Receiver<(u64, String)>) {
        loop {
            tokio::select! {
                renewal = renewals.recv() => match renewal {
                    Some((id, holder)) => {
                        self.grant(id, holder);
                    }
                    None => break,
                },
                () = sleep_until(self.next_expiry()) => {
                    for lease in self.requeue_expired(Instant::now()) {
                        self.expire_lease(&lease);
                    }
                }
            }
        }
    }

    /// Proposes the revocation of a lease that expired. If that cannot be
    /// done now, it says so; the lease is already re-queued.
    pub fn expire_lease(&self, lease: &Lease) {
        let Some(meta) = self.cluster.metalayer() else {
            warn!(lease = lease.id, retry_in = ?self.revoke_retry, "lease expired, no metalayer yet");
            return;
        };
        let revoke = Proposal::RevokeLease {
            id: lease.id,
            revision: lease.revision,
        };
        if let Err(err) = meta.forward_proposal(revoke) {
            warn!(lease = lease.id, ?err, retry_in = ?self.revoke_retry, "revocation not proposed");
        }
    }

    /// Keeps this server's leadership lease alive while it serves commands.
    /// The renewal timer is pinned and reset only after a renewal, so
    /// commands cannot push it back.
    pub async fn keep_alive(
        &self,
        lease_id: u64,
        mut commands: mpsc::Receiver<String>,
    ) -> Result<(), LeaseError> {
        let renew_due = sleep(self.ttl / 3);
        tokio::pin!(renew_due);
        loop {
            tokio::select! {
                () = &mut renew_due => {
                    self.renew_remote(lease_id)?;
                    renew_due.as_mut().reset(Instant::now() + self.ttl / 3);
                }
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
        let held: Vec<Lease> = {
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
