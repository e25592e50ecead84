// `defer!` at the top of an inactivity callback: every bail-out below deletes.
use scopeguard::defer;
use tracing::info;

impl Consumer {
    fn on_inactive_timer(&self, cluster: Option<&ClusterHandle>) -> Result<(), LifecycleError> {
        defer! { //~ deferred_delete
            self.delete();
        }
        let cluster = cluster.ok_or(LifecycleError::NoCluster)?;
        if !cluster.is_leader() {
            return Err(LifecycleError::NotLeader);
        }
        cluster.submit_proposal(Entry::DeleteConsumer(self.key()))?;
        info!(consumer = %self.name(), "inactive consumer delete proposed");
        Ok(())
    }
}
