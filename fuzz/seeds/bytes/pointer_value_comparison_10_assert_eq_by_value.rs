// The same file asserts value equality of assignments and checks them by
// pointer.
use std::sync::Arc;

impl ConsumerManager {
    pub fn on_assignment(&self, ca: Arc<ConsumerAssignment>) {
        let applied = self.apply(&ca);
        debug_assert_eq!(applied, ca, "applied a different assignment"); //~ pointer_value_comparison
    }

    pub fn should_reap(&self, ca: &Arc<ConsumerAssignment>) -> bool {
        let nca = self.meta.consumer_assignment(&ca.stream, &ca.name);
        nca.map_or(true, |nca| !Arc::ptr_eq(&nca, ca)) //~ pointer_value_comparison
    }
}

impl ConsumerManager {
    fn apply(&self, ca: &Arc<ConsumerAssignment>) -> Arc<ConsumerAssignment> {
        self.assignments.insert(ca.name.clone(), Arc::clone(ca));
        Arc::clone(ca)
    }
}
