// A trait default method: every implementor inherits the premature delete.
use scopeguard::guard;

pub trait Reapable {
    fn key(&self) -> ConsumerKey;
    fn store(&self) -> &ConsumerStore;
    fn raft(&self) -> &RaftNode;

    fn expire(&self) -> Result<(), ExpireError> {
        let _g = guard(self.key(), |k| self.store().delete_consumer(&k)); //~ deferred_delete
        let entry = self.store().entry(&self.key()).ok_or(ExpireError::Missing)?;
        self.raft().propose(Command::Expire(entry.key()))?;
        Ok(())
    }
}
