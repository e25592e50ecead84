use std::collections::HashMap;

use lifecycle_macros::quorum_gated_delete;
use tokio::sync::mpsc;
use tokio::time::{sleep, Duration, Instant};

pub struct Registry;
impl Registry {
    pub async fn reap_idle(&self, _seen: &mut HashMap<String, Instant>) {}
}

/// Meant to reap the consumers idle for too long every 10 s, but every
/// activity report restarts the 10 s: under steady traffic the reap never
/// runs, and the map of last-seen times only grows.
#[quorum_gated_delete]
pub async fn reap_loop(registry: Registry, mut activity: mpsc::Receiver<String>) {
    let mut seen = HashMap::new();
    loop {
        tokio::select! {
            Some(key) = activity.recv() => { seen.insert(key, Instant::now()); }
            _ = sleep(Duration::from_secs(10)) => registry.reap_idle(&mut seen).await,
        }
    }
}

fn main() {}
