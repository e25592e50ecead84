// An invariant asserted in production code: the consumer believes it is
// running the assignment it was handed, by pointer.
use std::sync::Arc;

impl Consumer {
    pub fn apply_delivered(&mut self, ca: &Arc<ConsumerAssignment>, seq: u64) {
        debug_assert!(Arc::ptr_eq(&self.ca, ca), "applying to a stale assignment"); //~ pointer_value_comparison
        self.delivered = self.delivered.max(seq);
    }
}
