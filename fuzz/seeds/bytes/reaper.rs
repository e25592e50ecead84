use std::sync::Arc;
use std::time::Duration;

pub struct Reaper {
    meta: Arc<Metalayer>,
}

impl Reaper {
    /// The premature delete: the guard deletes on every exit path, even when
    /// the proposal below fails or the metalayer never commits it.
    pub async fn delete_not_active(&self, consumer: Arc<Consumer>) -> Result<(), Error> {
        let _cleanup = scopeguard::guard(consumer.clone(), |c| c.delete());
        self.meta.forward_proposal(consumer.key()).await?;
        Ok(())
    }

    /// The ghost consumer: bails out without a word when the cluster is gone.
    pub fn expire_inactive(&self, consumer: &Consumer) {
        let Some(cluster) = self.meta.cluster() else {
            return;
        };
        cluster.propose_delete(consumer.key());
    }
}
