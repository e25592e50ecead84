// A single-threaded lease table (one per shard): the renewal loop checks
// that the lease it renews is still the one in the table.
use std::rc::Rc;

impl ShardLeases {
    pub fn renew(&mut self, key: &LeaseKey, now: Instant) -> Result<(), LeaseError> {
        let held: Rc<Lease> = self.held.get(key).cloned().ok_or(LeaseError::NotHeld)?;
        let current = self.table.get(key).ok_or(LeaseError::Expired)?;
        if !Rc::ptr_eq(&held, current) { //~ pointer_value_comparison
            return Err(LeaseError::Superseded);
        }
        self.table.extend(key, now + self.ttl);
        Ok(())
    }
}
