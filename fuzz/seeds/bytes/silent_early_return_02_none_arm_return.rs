// A lease reaper that matches on the metalayer handle and gives up quietly.
impl LeaseReaper {
    pub fn reap_expired_leases(&mut self, now: Instant) {
        let expired: Vec<LeaseId> = self.leases.expired_at(now).collect();
        let meta = match self.node.metalayer() {
            Some(meta) => meta,
            None => return, //~ silent_early_return
        };
        for id in expired {
            meta.propose_revoke(id);
        }
    }
}
