// Two notions of "the same assignment" in one file: the inactivity path
// compares by pointer, the update path by value.
use std::sync::Arc;

use tracing::{debug, info};

impl ConsumerManager {
    pub fn assignment_unchanged(&self, ca: &Arc<ConsumerAssignment>) -> bool {
        let nca = self.meta.consumer_assignment(&ca.stream, &ca.name);
        nca.as_ref().is_some_and(|nca| Arc::ptr_eq(nca, ca)) //~ pointer_value_comparison
    }

    pub fn process_consumer_update(&self, ca: Arc<ConsumerAssignment>) {
        let Some(osa) = self.consumer(&ca.stream, &ca.name).map(|c| c.assignment()) else {
            info!(stream = %ca.stream, consumer = %ca.name, "creating consumer");
            self.create_consumer(ca);
            return;
        };
        if osa != ca { //~ pointer_value_comparison
            self.update_consumer(ca);
        } else {
            debug!(consumer = %ca.name, "assignment unchanged");
        }
    }
}
