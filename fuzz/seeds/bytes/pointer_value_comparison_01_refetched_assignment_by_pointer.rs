// The shape of the reviewed change: the inactivity check re-fetches the
// consumer's assignment from the meta layer and treats "another allocation"
// as "another assignment".
use std::sync::Arc;

use tracing::warn;

impl Consumer {
    pub fn check_assignment(&self, ca: &Arc<ConsumerAssignment>) -> Verdict {
        let nca = self.js.consumer_assignment(&self.stream, &self.name);
        match nca {
            None => Verdict::Gone,
            Some(nca) if !Arc::ptr_eq(&nca, ca) => { //~ pointer_value_comparison
                warn!(consumer = %self.name, "assignment changed, cleaning up");
                Verdict::Replaced
            }
            Some(_) => Verdict::Unchanged,
        }
    }
}
