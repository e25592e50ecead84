// An async method, the handle fetched through `.await`.
impl LeaseKeeper {
    pub async fn expire_lease(&self, lease: LeaseId) {
        let Some(leader) = self.membership.current_leader().await else {
            return; //~ silent_early_return
        };
        if let Err(err) = self.transport.send_revoke(leader, lease).await {
            tracing::warn!(%lease, %err, "revoke not sent");
        }
    }
}
