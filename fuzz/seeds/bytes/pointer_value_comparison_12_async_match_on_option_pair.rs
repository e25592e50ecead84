// Options of assignments unpacked in a `match`; the bindings `a` and `b`
// are assignments because of what they were matched from.
use std::sync::Arc;

impl ConsumerHandle {
    pub async fn assignment_changed(&self) -> bool {
        let nca = self.meta.consumer_assignment(&self.stream, &self.name).await;
        let ca = self.ca.read().await.clone();
        match (&nca, &ca) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b), //~ pointer_value_comparison
            (None, None) => false,
            _ => true,
        }
    }
}
