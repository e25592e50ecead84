// A watcher task forwards feed updates until it is cancelled or the feed
// ends; either way it leaves the loop with break, so the unsubscribe and the
// registry removal below the loop always run.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Watch;

pub fn spawn_watcher(
    key: u64,
    registry: Arc<Mutex<HashMap<u64, Watch>>>,
    mut feed: tokio::sync::mpsc::Receiver<String>,
    out: tokio::sync::mpsc::Sender<String>,
    stop: tokio_util::sync::CancellationToken,
    outage: tokio::sync::mpsc::Sender<()>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    break;
                }
                item = feed.recv() => {
                    if let Some(msg) = item {
                        let _ = out.send(msg).await;
                    } else {
                        let _ = outage.try_send(());
                        break;
                    }
                }
            }
        }

        if tokio::time::timeout(Duration::from_secs(2), unsubscribe(key)).await.is_err() {
            eprintln!("unsubscribe timed out");
        }
        registry.lock().unwrap().remove(&key);
    });
}

async fn unsubscribe(_key: u64) {}
