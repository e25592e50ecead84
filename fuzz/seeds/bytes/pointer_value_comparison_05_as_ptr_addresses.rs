// Addresses compared by hand: the same identity check as `Arc::ptr_eq`.
use std::sync::Arc;

pub struct ConsumerState {
    ca: Arc<ConsumerAssignment>,
    delivered: u64,
}

impl ConsumerState {
    pub fn is_assigned(&self, meta: &MetaView) -> bool {
        let nca = meta.consumer_assignment(&self.ca.stream, &self.ca.name);
        nca.map_or(false, |nca| Arc::as_ptr(&self.ca) == Arc::as_ptr(&nca)) //~ pointer_value_comparison
    }
}
