// The shape from the review: the inactivity timer fired, the consumer is
// clustered, and the function bails out when the cluster handle or the
// metalayer is not there yet. Nothing logs, nothing re-arms the timer.
use std::sync::Arc;

impl Consumer {
    pub fn delete_not_active(self: &Arc<Self>) {
        if !self.is_clustered() {
            self.delete();
            return;
        }
        let Some(cc) = self.server.cluster() else { return }; //~ silent_early_return
        let Some(meta) = cc.meta_leader() else { return }; //~ silent_early_return
        let proposal = DeleteConsumer::new(&self.stream, &self.name);
        meta.forward_proposal(proposal.encode());
    }
}
