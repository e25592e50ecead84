use std::time::Duration;

use lifecycle_macros::quorum_gated_delete;
use tokio::sync::mpsc;
use tokio::time::sleep;

pub struct Consumer;
impl Consumer {
    pub async fn delete(&self) {}
}

/// Reaps the consumer after 30 s without messages, except that every message
/// restarts the 30 s: under steady traffic the deadline never comes.
#[quorum_gated_delete]
pub async fn reap_when_idle(consumer: Consumer, mut activity: mpsc::Receiver<()>) {
    loop {
        tokio::select! {
            Some(()) = activity.recv() => continue,
            _ = sleep(Duration::from_secs(30)) => {
                consumer.delete().await;
                break;
            }
        }
    }
}

fn main() {}
