// Leases compared through `PartialEq::ne` in the renewal path and by
// `Rc::ptr_eq` in the revoke path of the same lessor.
use std::rc::Rc;

use tracing::info;

pub struct Lessor {
    granted: std::collections::BTreeMap<LeaseKey, Rc<Lease>>,
}

impl Lessor {
    pub fn renew(&mut self, key: &LeaseKey, lease: Rc<Lease>) -> bool {
        match self.granted.get(key) {
            Some(current_lease) if current_lease.ne(&lease) => { //~ pointer_value_comparison
                info!(?key, "lease was replaced before renewal");
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    pub fn is_revocable(&self, key: &LeaseKey, lease: &Rc<Lease>) -> bool {
        self.granted
            .get(key)
            .is_some_and(|granted| Rc::ptr_eq(granted, lease)) //~ pointer_value_comparison
    }
}
