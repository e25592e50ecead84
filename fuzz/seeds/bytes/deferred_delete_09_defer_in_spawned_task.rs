// `defer!` inside a spawned async block: the task purges the consumer on
// every exit, including a failed or timed-out proposal.
use std::sync::Arc;
use std::time::Duration;

use scopeguard::defer;
use tokio::time::timeout;

pub fn schedule_purge(meta: Arc<Metalayer>, key: ConsumerKey) {
    tokio::spawn(async move {
        defer!(meta.purge_consumer(&key)); //~ deferred_delete
        let proposal = meta.propose_delete(key.clone());
        timeout(Duration::from_secs(5), proposal).await??;
        Ok::<(), ReapError>(())
    });
}
