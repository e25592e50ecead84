// The name says nothing about deleting, the attribute does.
impl Consumer {
    #[quorum_gated_delete]
    pub fn on_timer_fired(&self) {
        if self.meta.is_none() {
            return; //~ silent_early_return
        }
        let meta = self.meta.as_ref().unwrap();
        meta.forward_proposal(self.delete_proposal());
    }
}
