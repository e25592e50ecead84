// The collector sleeps for the current period at the top of each round and
// only recomputes the period number; no interval is rebuilt.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn start_collector(period_hint: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    let mut period_secs = 2 * period_hint.load(Ordering::SeqCst);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(period_secs)).await;
            collect_usage().await;
            period_secs = std::cmp::max(period_secs, 2 * period_hint.load(Ordering::SeqCst));
        }
    })
}

async fn collect_usage() {}
