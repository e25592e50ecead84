// A trait default method is a lifecycle function like any other.
pub trait IdleReaper {
    fn metalayer(&self) -> Option<&dyn Metalayer>;
    fn key(&self) -> &ConsumerKey;

    fn reap_idle(&self) {
        let Some(meta) = self.metalayer() else { return }; //~ silent_early_return
        meta.forward_proposal(Proposal::DeleteConsumer(self.key().clone()));
    }
}
