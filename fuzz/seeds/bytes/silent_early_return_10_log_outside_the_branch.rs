// A log before the guard is not a log about the guard: the operator sees
// "checking" and then nothing.
use tracing::debug;

impl Consumer {
    pub fn check_inactivity(&self) {
        debug!(consumer = %self.name, "inactivity check fired");
        let Some(cc) = self.js.cluster() else { return }; //~ silent_early_return
        if cc.is_meta_leader() {
            cc.forward_proposal(self.delete_proposal());
        }
    }
}
