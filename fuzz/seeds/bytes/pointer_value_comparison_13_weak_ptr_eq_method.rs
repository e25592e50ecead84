// A session keeps a weak handle to the lease it was granted and asks the
// lessor whether that lease is still the live one.
use std::sync::{Arc, Weak};

pub struct Session {
    lease: Weak<Lease>,
    id: SessionId,
}

impl Session {
    pub fn holds(&self, lessor: &Lessor) -> bool {
        let current_lease: Option<Arc<Lease>> = lessor.lease_of(self.id);
        current_lease.map_or(false, |current_lease| {
            self.lease.ptr_eq(&Arc::downgrade(&current_lease)) //~ pointer_value_comparison
        })
    }
}
