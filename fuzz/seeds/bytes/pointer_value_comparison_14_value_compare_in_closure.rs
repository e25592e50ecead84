// Pointer identity in one function, value equality inside a closure in
// another.
use std::sync::Arc;

impl StreamManager {
    pub fn is_leader_for(&self, sa: &Arc<StreamAssignment>) -> bool {
        self.led.iter().any(|osa| Arc::ptr_eq(osa, sa)) //~ pointer_value_comparison
    }

    pub fn pending_updates(&self, incoming: &[Arc<StreamAssignment>]) -> Vec<Arc<StreamAssignment>> {
        incoming
            .iter()
            .filter(|&nsa| self.stream_assignment(&nsa.name).map_or(true, |osa| osa != *nsa)) //~ pointer_value_comparison
            .cloned()
            .collect()
    }
}
