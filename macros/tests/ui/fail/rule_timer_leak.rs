use std::time::Duration;

use lifecycle_macros::quorum_gated_delete;
use tokio::sync::mpsc;
use tokio::time::sleep;

pub struct Registry;
impl Registry {
    pub fn touch(&self, _key: &str) {}
    pub async fn reap_expired(&self) {}
}

/// Meant to sweep expired consumers every 10 s, but every activity report
/// restarts the 10 s: under steady traffic the sweep never runs.
#[quorum_gated_delete]
pub async fn reap_loop(registry: Registry, mut activity: mpsc::Receiver<String>) {
    loop {
        tokio::select! {
            Some(key) = activity.recv() => registry.touch(&key),
            _ = sleep(Duration::from_secs(10)) => registry.reap_expired().await,
        }
    }
}

fn main() {}
