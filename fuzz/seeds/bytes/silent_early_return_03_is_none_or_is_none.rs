// Go-style nil checks ported to Rust: either handle missing ends the expiry.
impl SessionManager {
    pub fn expire_session(&self, id: SessionId) {
        let cc = self.cluster.read().clone();
        let meta = self.meta.load_full();
        if cc.is_none() || meta.is_none() {
            return; //~ silent_early_return
        }
        let meta = meta.unwrap();
        meta.propose_delete_session(id, cc.unwrap().term());
    }
}
