//! Client sessions. A session owns the ephemeral consumers its client
//! created; when the session expires they are deleted cluster-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scopeguard::ScopeGuard;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{sleep, Duration};
use tracing::debug;

use crate::cluster::{ClusterError, ClusterHandle, ConsumerAssignment, Proposal};
use crate::registry::{Consumer, ConsumerRegistry, EphemeralRegistration};

pub type SessionId = u64;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub client: String,
    pub ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Pull { batch: usize },
    Ack { seq: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    UnknownSession(SessionId),
    NoMetalayer,
    Disconnected,
    Cluster(ClusterError),
}

pub struct SessionManager {
    pub registry: Arc<ConsumerRegistry>,
    pub cluster: Arc<ClusterHandle>,
    pub sessions: Mutex<HashMap<SessionId, Session>>,
    pub expired_tx: mpsc::Sender<SessionId>,
}

impl SessionManager {
    /// Creates a session's ephemeral consumer: locally first, so it serves
    /// at once, then through the metalayer. The local consumer is rolled
    /// back if the proposal fails, and kept (guard disarmed) if it succeeds.
    pub fn create_ephemeral(
        &self,
        session: &Session,
        ca: ConsumerAssignment,
    ) -> Result<Arc<Consumer>, SessionError> {
        let consumer = Consumer::new(&ca.stream, &ca.name, &session.client, true);
        self.registry.insert(Arc::clone(&consumer));
        let rollback = scopeguard::guard(&self.registry, |r| r.delete_consumer(&consumer.name));
        let meta = self.cluster.metalayer().ok_or(SessionError::NoMetalayer)?;
        let add = meta.forward_proposal(Proposal::AddConsumer(ca));
        add.map_err(SessionError::Cluster)?;
        ScopeGuard::into_inner(rollback);
        Ok(consumer)
    }

    /// Serves one client's pulls and acks on its ephemeral consumer; when
    /// the client closes the session, asks the metalayer to delete it.
    ///
    /// Lifecycle bug (`deferred_delete`): the registration deletes the
    /// consumer locally when this function exits, on any path: right after
    /// the delete proposal is merely queued (before the metalayer agreed),
    /// and on the `?` of a reply to a client that is reconnecting elsewhere,
    /// while the metalayer still assigns the consumer to this server.
    pub async fn serve_ephemeral(
        &self,
        consumer: Arc<Consumer>,
        mut requests: mpsc::Receiver<Request>,
        replies: mpsc::Sender<Vec<u64>>,
    ) -> Result<(), SessionError> {
        let registration = EphemeralRegistration::new(Arc::clone(&self.registry), consumer); // expect: deferred_delete
        let consumer = &registration.consumer;
        while let Some(request) = requests.recv().await {
            consumer.touch();
            if let Request::Pull { batch } = request {
                let reply = replies.send(consumer.next_batch(batch)).await;
                reply.map_err(|_| SessionError::Disconnected)?;
            }
        }
        debug!(consumer = %consumer.name, "session closed by the client");
        if let (Some(meta), Some(ca)) = (self.cluster.metalayer(), consumer.assignment()) {
            let delete = meta.forward_proposal(Proposal::delete(&ca));
            delete.map_err(SessionError::Cluster)?;
        }
        Ok(())
    }

    /// Pushes a durable consumer's messages to the session's client.
    ///
    /// Lifecycle bug (`deferred_delete`): `defer!` deletes the consumer
    /// whenever the push loop ends — a client disconnect, a server restart —
    /// so a *durable* consumer and its delivery state are lost here while
    /// the other replicas still have them.
    pub async fn push_until_disconnect(
        &self,
        consumer: Arc<Consumer>,
        outbound: mpsc::Sender<Vec<u64>>,
    ) -> Result<(), SessionError> {
        let (registry, name) = (Arc::clone(&self.registry), consumer.name.clone());
        scopeguard::defer! { registry.delete_consumer(&name); } // expect: deferred_delete
        let mut quit = consumer.quit_signal();
        loop {
            tokio::select! {
                _ = quit.wait_for(|stopped| *stopped) => break,
                () = consumer.pending.notified() => {
                    let sent = outbound.send(consumer.next_batch(64)).await;
                    sent.map_err(|_| SessionError::Disconnected)?;
                }
            }
        }
        Ok(())
    }

    /// Tracks opened sessions and arms an expiry watchdog for each.
    ///
    /// Lifecycle bug (`timer_leak`): the watchdogs go into a `JoinSet` that
    /// is never joined, so every session ever opened keeps an entry there
    /// until the tracker stops — and then they are all aborted, so no open
    /// session expires after a tracker restart.
    pub async fn track_sessions(&self, mut opened: mpsc::Receiver<Session>) {
        let mut watchdogs = JoinSet::new();
        while let Some(session) = opened.recv().await {
            let (id, ttl) = (session.id, session.ttl);
            self.sessions.lock().unwrap().insert(id, session);
            let expired = self.expired_tx.clone();
            watchdogs.spawn(async move {
                // expect: timer_leak
                sleep(ttl).await;
                let _ = expired.send(id).await;
            });
        }
    }

    /// A session expired: delete its ephemeral consumers cluster-wide.
    ///
    /// Lifecycle bug (`silent_early_return`): while the meta group elects a
    /// leader, the session — already taken out of the table — is dropped
    /// and success reported. Its expiry fired once and is used up, so
    /// nobody proposes deleting its consumers: they stay on as ghosts.
    pub fn cleanup_session(&self, id: SessionId) -> Result<(), SessionError> {
        let Some(session) = self.sessions.lock().unwrap().remove(&id) else {
            return Err(SessionError::UnknownSession(id));
        };
        let Some(meta) = self.cluster.metalayer() else {
            return Ok(()); // expect: silent_early_return
        };
        for consumer in self.registry.owned_by(&session.client) {
            if let Some(ca) = consumer.assignment() {
                let delete = meta.forward_proposal(Proposal::delete(&ca));
                delete.map_err(SessionError::Cluster)?;
            }
        }
        debug!(session = id, client = %session.client, "session cleaned up");
        Ok(())
    }
}
