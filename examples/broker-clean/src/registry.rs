//! The consumer registry: the consumers this server runs, keyed by name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};
use tokio::time::{Duration, Instant};
use tracing::info;

use crate::cluster::ConsumerAssignment;

/// A consumer as this server runs it.
#[derive(Debug)]
pub struct Consumer {
    pub stream: String,
    pub name: String,
    /// The client that created it; ephemeral consumers go with their client.
    pub owner: String,
    /// Replicated through the metalayer (false for standalone consumers).
    pub clustered: bool,
    /// Woken when the stream has new messages for this consumer.
    pub pending: Notify,
    assignment: Mutex<Option<Arc<ConsumerAssignment>>>,
    last_active: Mutex<Instant>,
    next_seq: AtomicU64,
    closed: AtomicBool,
    quit: watch::Sender<bool>,
}

impl Consumer {
    pub fn new(stream: &str, name: &str, owner: &str, clustered: bool) -> Arc<Consumer> {
        Arc::new(Consumer {
            stream: stream.to_owned(),
            name: name.to_owned(),
            owner: owner.to_owned(),
            clustered,
            pending: Notify::new(),
            assignment: Mutex::new(None),
            last_active: Mutex::new(Instant::now()),
            next_seq: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            quit: watch::channel(false).0,
        })
    }

    pub fn assignment(&self) -> Option<Arc<ConsumerAssignment>> {
        self.assignment.lock().unwrap().clone()
    }

    pub fn set_assignment(&self, assignment: Option<Arc<ConsumerAssignment>>) {
        *self.assignment.lock().unwrap() = assignment;
    }

    /// Marks the consumer as in use (a pull, an ack).
    pub fn touch(&self) {
        *self.last_active.lock().unwrap() = Instant::now();
    }

    pub fn idle_for(&self) -> Duration {
        self.last_active.lock().unwrap().elapsed()
    }

    /// The sequence numbers of the next `max` messages to deliver.
    pub fn next_batch(&self, max: usize) -> Vec<u64> {
        let first = self.next_seq.fetch_add(max as u64, Ordering::Relaxed);
        (first..first + max as u64).collect()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Turns `true` once the consumer is stopped, however that happened.
    pub fn quit_signal(&self) -> watch::Receiver<bool> {
        self.quit.subscribe()
    }

    pub fn stop(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.quit.send_replace(true);
        }
    }
}

#[derive(Debug, Default)]
pub struct ConsumerRegistry {
    consumers: Mutex<HashMap<String, Arc<Consumer>>>,
}

impl ConsumerRegistry {
    /// Registers `consumer`; a different consumer of the same name is
    /// stopped and replaced, registering the same one again changes nothing.
    pub fn insert(&self, consumer: Arc<Consumer>) {
        let mut consumers = self.consumers.lock().unwrap();
        let previous = consumers.insert(consumer.name.clone(), Arc::clone(&consumer));
        if let Some(previous) = previous.filter(|p| !Arc::ptr_eq(p, &consumer)) {
            previous.stop();
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Consumer>> {
        self.consumers.lock().unwrap().get(name).cloned()
    }

    pub fn owned_by(&self, owner: &str) -> Vec<Arc<Consumer>> {
        let consumers = self.consumers.lock().unwrap();
        consumers
            .values()
            .filter(|c| c.owner == owner)
            .cloned()
            .collect()
    }

    /// Stops the consumer and forgets it. Local only: the metalayer is not
    /// told, so for a clustered consumer this must follow a committed delete.
    pub fn delete_consumer(&self, name: &str) {
        let removed = self.consumers.lock().unwrap().remove(name);
        if let Some(consumer) = removed {
            consumer.stop();
            info!(stream = %consumer.stream, consumer = %consumer.name, "consumer deleted");
        }
    }
}

/// A consumer's checkpoint directory, handed to the flusher and the
/// replicator alike. The copies share one `Inner`; the directory goes when
/// the last of them does.
#[derive(Clone, Debug)]
pub struct CheckpointDir {
    inner: Arc<CheckpointDirInner>,
}

#[derive(Debug)]
struct CheckpointDirInner {
    path: std::path::PathBuf,
}

impl CheckpointDir {
    pub fn create(path: std::path::PathBuf) -> std::io::Result<CheckpointDir> {
        std::fs::create_dir_all(&path)?;
        Ok(CheckpointDir {
            inner: Arc::new(CheckpointDirInner { path }),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.inner.path
    }
}

impl Drop for CheckpointDirInner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
