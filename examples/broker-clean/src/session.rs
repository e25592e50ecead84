//! Client sessions. A session owns the ephemeral consumers its client
//! created; when the session expires they are deleted cluster-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use scopeguard::ScopeGuard;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Duration, Instant};
use tracing::{debug, warn};

use crate::cluster::{ClusterError, ClusterHandle, Proposal};
use crate::registry::{Consumer, ConsumerRegistry};

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
    NotAssigned(String),
    Disconnected,
    Cluster(ClusterError),
}

pub struct SessionManager {
    pub registry: Arc<ConsumerRegistry>,
    pub cluster: Arc<ClusterHandle>,
    /// Open sessions and the instant each expires unless kept alive.
    pub sessions: Mutex<HashMap<SessionId, (Session, Instant)>>,
    /// How long a session whose cleanup could not be proposed waits before
    /// it is tried again.
    pub cleanup_retry: Duration,
}

impl SessionManager {
    /// Creates a session's ephemeral consumer: locally first, so it serves
    /// at once, then through the metalayer. The local consumer is rolled
    /// back if the proposal fails, and kept (guard disarmed) if it succeeds.
    pub fn create_ephemeral(
        &self,
        session: &Session,
        stream: &str,
        name: &str,
        group: Vec<String>,
    ) -> Result<Arc<Consumer>, SessionError> {
        let consumer = Consumer::new(stream, name, &session.client, true);
        self.registry.insert(Arc::clone(&consumer));
        let rollback = scopeguard::guard(&self.registry, |r| r.delete_consumer(&consumer.name));
        let meta = self.cluster.metalayer().ok_or(SessionError::NoMetalayer)?;
        let (stream, name) = (stream.to_owned(), name.to_owned());
        let add = meta.forward_proposal(Proposal::AddConsumer {
            stream,
            name,
            group,
        });
        add.map_err(SessionError::Cluster)?;
        ScopeGuard::into_inner(rollback);
        Ok(consumer)
    }

    /// Serves one client's pulls and acks on its ephemeral consumer. The
    /// consumer outlives this call: when the client closes the session it
    /// is deleted through the metalayer; when the connection fails it is
    /// left for the client to resume, or for the inactivity reaper.
    pub async fn serve_ephemeral(
        &self,
        consumer: Arc<Consumer>,
        mut requests: mpsc::Receiver<Request>,
        replies: mpsc::Sender<Vec<u64>>,
    ) -> Result<(), SessionError> {
        while let Some(request) = requests.recv().await {
            consumer.touch();
            if let Request::Pull { batch } = request {
                let reply = replies.send(consumer.next_batch(batch)).await;
                reply.map_err(|_| SessionError::Disconnected)?;
            }
        }
        debug!(consumer = %consumer.name, "session closed by the client");
        self.propose_delete(&consumer)
    }

    fn propose_delete(&self, consumer: &Consumer) -> Result<(), SessionError> {
        let meta = self.cluster.metalayer().ok_or(SessionError::NoMetalayer)?;
        match consumer.assignment() {
            Some(ca) => meta
                .forward_proposal(Proposal::delete(&ca))
                .map_err(SessionError::Cluster),
            // Its creation is not applied yet: the reaper will find it idle.
            None => Err(SessionError::NotAssigned(consumer.name.clone())),
        }
    }

    /// Pushes a durable consumer's messages to the session's client until
    /// the consumer stops or the client goes. A durable consumer outlives
    /// its sessions, so nothing is deleted here.
    pub async fn push_until_disconnect(
        &self,
        consumer: Arc<Consumer>,
        outbound: mpsc::Sender<Vec<u64>>,
    ) -> Result<(), SessionError> {
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

    /// Extends a session's deadline (the client sent a keepalive).
    pub fn keep_alive(&self, id: SessionId) -> Result<(), SessionError> {
        let mut sessions = self.sessions.lock().unwrap();
        let (session, expires_at) = sessions
            .get_mut(&id)
            .ok_or(SessionError::UnknownSession(id))?;
        *expires_at = Instant::now() + session.ttl;
        Ok(())
    }

    fn next_expiry(&self) -> Instant {
        let sessions = self.sessions.lock().unwrap();
        let earliest = sessions.values().map(|(_, expires_at)| *expires_at).min();
        earliest.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
    }

    fn take_expired(&self, now: Instant) -> Vec<Session> {
        let mut sessions = self.sessions.lock().unwrap();
        let expired: Vec<SessionId> = sessions
            .iter()
            .filter(|(_, (_, expires_at))| *expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        expired
            .iter()
            .filter_map(|id| sessions.remove(id))
            .map(|(s, _)| s)
            .collect()
    }

    /// Tracks opened sessions and cleans up those that expire: one loop and
    /// one timer, whatever the number of sessions.
    pub async fn track_sessions(&self, mut opened: mpsc::Receiver<Session>) {
        loop {
            tokio::select! {
                session = opened.recv() => match session {
                    Some(session) => {
                        let expires_at = Instant::now() + session.ttl;
                        self.sessions.lock().unwrap().insert(session.id, (session, expires_at));
                    }
                    None => break,
                },
                () = sleep_until(self.next_expiry()) => {
                    for session in self.take_expired(Instant::now()) {
                        if let Err(err) = self.cleanup_session(session) {
                            warn!(?err, "session cleanup failed; will retry");
                        }
                    }
                }
            }
        }
    }

    /// A session expired: delete its ephemeral consumers cluster-wide. Any
    /// server may do it (proposals are forwarded to the meta leader); if it
    /// cannot be done now, the session is put back to be tried again.
    pub fn cleanup_session(&self, session: Session) -> Result<(), SessionError> {
        let Some(meta) = self.cluster.metalayer() else {
            self.requeue(session);
            return Err(SessionError::NoMetalayer);
        };
        for consumer in self.registry.owned_by(&session.client) {
            if let Some(ca) = consumer.assignment() {
                if let Err(err) = meta.forward_proposal(Proposal::delete(&ca)) {
                    self.requeue(session);
                    return Err(SessionError::Cluster(err));
                }
            }
        }
        debug!(session = session.id, client = %session.client, "session cleaned up");
        Ok(())
    }

    fn requeue(&self, session: Session) {
        let retry_at = Instant::now() + self.cleanup_retry;
        self.sessions
            .lock()
            .unwrap()
            .insert(session.id, (session, retry_at));
    }
}
