//! The delivery side of a push consumer: batches deliveries, coalesces
//! acks, keeps the client's view in sync and sends idle heartbeats.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::{interval, sleep, sleep_until, Duration, Instant};
use tracing::debug;

use crate::registry::Consumer;

#[derive(Debug, Clone)]
pub struct FlushSettings {
    pub flush_after: Duration,
    pub max_batch: usize,
    pub heartbeat: Duration,
    pub resync_every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Batch(Vec<u64>),
    Acked(Vec<u64>),
    Heartbeat,
    Resync { last_seq: u64 },
}

pub struct Flusher {
    pub consumer: Arc<Consumer>,
    pub outbound: mpsc::Sender<Outbound>,
    /// Reloaded from the config file at run time.
    pub settings: watch::Receiver<FlushSettings>,
}

impl Flusher {
    /// Batches deliveries: a full batch goes at once, a partial one at most
    /// `flush_after` after its first delivery.
    ///
    /// Lifecycle bug (`timer_leak`): the flush timer is created anew on each
    /// pass, so every delivery restarts it. A steady trickle (one message a
    /// second against a 2 s `flush_after`, batches of 100) never lets it
    /// fire: the partial batch waits until it fills, and the client's ack
    /// deadlines expire into redeliveries.
    pub async fn run_batcher(&self, mut deliveries: mpsc::Receiver<u64>) {
        let (flush_after, max_batch) = {
            let settings = self.settings.borrow();
            (settings.flush_after, settings.max_batch)
        };
        let mut batch = Vec::with_capacity(max_batch);
        loop {
            tokio::select! {
                delivery = deliveries.recv() => match delivery {
                    Some(seq) => {
                        batch.push(seq);
                        if batch.len() >= max_batch {
                            self.flush(&mut batch).await;
                        }
                    }
                    None => break,
                },
                _ = sleep(flush_after) => self.flush(&mut batch).await, // expect: timer_leak
            }
        }
        self.flush(&mut batch).await;
    }

    async fn flush(&self, batch: &mut Vec<u64>) {
        if batch.is_empty() {
            return;
        }
        let sent = std::mem::take(batch);
        debug!(consumer = %self.consumer.name, count = sent.len(), "flushing deliveries");
        let _ = self.outbound.send(Outbound::Batch(sent)).await;
    }

    /// Sends a heartbeat every `heartbeat` so the client knows the consumer
    /// is alive. The period is re-read on each beat so reloads apply.
    ///
    /// Lifecycle bug (`timer_leak`): an `Interval`'s first tick completes at
    /// once, and a new one is made on every pass, so the loop never waits:
    /// it floods the client with heartbeats and spins a core.
    pub async fn run_heartbeat(&self) {
        loop {
            let mut beat = interval(self.settings.borrow().heartbeat); // expect: timer_leak
            beat.tick().await;
            if self.outbound.send(Outbound::Heartbeat).await.is_err() {
                break;
            }
        }
    }

    /// Coalesces acks: one message at most `flush_after` after the first
    /// unflushed ack, however many follow. (Correct: the timer is pinned
    /// outside the loop and reset only when a new batch starts.)
    pub async fn run_ack_coalescer(&self, mut acks: mpsc::Receiver<u64>) {
        let flush_after = self.settings.borrow().flush_after;
        let flush_at = sleep(flush_after);
        tokio::pin!(flush_at);
        let mut pending = Vec::new();
        loop {
            tokio::select! {
                ack = acks.recv() => match ack {
                    Some(seq) => {
                        self.consumer.touch();
                        if pending.is_empty() {
                            flush_at.as_mut().reset(Instant::now() + flush_after);
                        }
                        pending.push(seq);
                    }
                    None => break,
                },
                () = &mut flush_at, if !pending.is_empty() => {
                    let acked = std::mem::take(&mut pending);
                    let _ = self.outbound.send(Outbound::Acked(acked)).await;
                }
            }
        }
        if !pending.is_empty() {
            let _ = self.outbound.send(Outbound::Acked(pending)).await;
        }
    }

    /// Re-sends the delivery position every `resync_every`, whatever the
    /// traffic. (Correct: an absolute deadline, advanced only when it fires.)
    pub async fn run_resync(&self, mut delivered: mpsc::Receiver<u64>) {
        let every = self.settings.borrow().resync_every;
        let mut next_resync = Instant::now() + every;
        let mut last_seq = 0;
        loop {
            tokio::select! {
                _ = sleep_until(next_resync) => {
                    let _ = self.outbound.send(Outbound::Resync { last_seq }).await;
                    next_resync += every;
                }
                seq = delivered.recv() => match seq {
                    Some(seq) => last_seq = seq,
                    None => break,
                },
            }
        }
    }
}
