// Only the pointer comparison is reported: option checks, identity fields,
// literals, constants and freshly built values are not value comparisons
// of whole assignments.
use std::sync::Arc;

use tracing::warn;

impl Consumer {
    pub fn reconcile(&self, ca: &Arc<ConsumerAssignment>) -> Action {
        let nca = self.js.consumer_assignment(&ca.stream, &ca.name);
        if nca.is_none() || nca == None {
            warn!(consumer = %ca.name, "assignment gone");
            return Action::Stop;
        }
        let nca = nca.unwrap();
        if nca.generation != ca.generation || nca.created != ca.created {
            return Action::Restart;
        }
        if ca.name == "" || ca.group.peers.len() == 0 || ca.state == AssignmentState::Deleted {
            return Action::Keep;
        }
        if **ca == ConsumerAssignment::default() {
            return Action::Keep;
        }
        let ca_generation = ca.generation;
        let ca = ca_generation;
        if ca == nca.generation {
            return Action::Keep;
        }
        if Arc::ptr_eq(&nca, &self.ca) { //~ pointer_value_comparison
            Action::Keep
        } else {
            Action::Refresh
        }
    }
}
