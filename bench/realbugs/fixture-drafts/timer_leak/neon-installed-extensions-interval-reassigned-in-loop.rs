// A background collector meant to run once per period, where the period may
// grow at run time. It waits on `ticker.tick()` at the top of the loop but
// swaps in a fresh interval at the bottom; the fresh interval's first tick is
// immediate, so after the first round the collector runs back to back.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn start_collector(period_hint: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    let mut period_secs = 2 * period_hint.load(Ordering::SeqCst);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(period_secs));
        loop {
            ticker.tick().await;
            collect_usage().await;
            ticker = tokio::time::interval(Duration::from_secs(std::cmp::max( //~ timer_leak
                period_secs,
                2 * period_hint.load(Ordering::SeqCst),
            )));
            period_secs = ticker.period().as_secs();
        }
    })
}

async fn collect_usage() {}
