// The Go original: `defer o.delete()` at the top of deleteNotActive, then a
// delete proposal forwarded to the metalayer. The guard deletes locally on
// every exit, before (or without) the metalayer reaching quorum.
use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

impl Server {
    pub async fn delete_not_active(&self, consumer: Arc<Consumer>) -> Result<(), ReapError> {
        let _cleanup = scopeguard::guard(consumer.clone(), |c| c.delete()); //~ deferred_delete
        if !self.is_clustered() || consumer.is_direct() {
            return Err(ReapError::NotClustered);
        }
        let meta = self.metalayer().ok_or(ReapError::NoMetalayer)?;
        let assignment = meta
            .consumer_assignment(consumer.stream(), consumer.name())
            .ok_or(ReapError::NoAssignment)?;
        let mut backoff = Duration::from_secs(30);
        for attempt in 0..8 {
            meta.forward_proposal(assignment.delete_proposal()).await?;
            if meta.consumer_assignment(consumer.stream(), consumer.name()).is_none() {
                break;
            }
            warn!(attempt, consumer = %consumer.name(), "delete not applied yet, retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(300));
        }
        Ok(())
    }
}
