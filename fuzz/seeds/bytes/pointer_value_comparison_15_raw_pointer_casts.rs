// Raw pointer casts: pointer identity spelled with `as *const _`.
use std::sync::Arc;

impl Consumer {
    pub fn same_assignment(&self, nca: &Arc<ConsumerAssignment>) -> bool {
        (&*self.ca as *const ConsumerAssignment) == (&**nca as *const _) //~ pointer_value_comparison
    }
}
