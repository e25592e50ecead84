use std::sync::Arc;

use lifecycle_macros::quorum_gated_delete;

#[derive(PartialEq)]
pub struct ConsumerAssignment {
    pub name: String,
    pub generation: u64,
}

pub struct Consumer {
    pub ca: Arc<ConsumerAssignment>,
}
impl Consumer {
    pub fn delete(&self) {}
}

#[quorum_gated_delete]
pub fn delete_if_replaced(consumer: &Consumer, nca: &Arc<ConsumerAssignment>) {
    if !Arc::ptr_eq(nca, &consumer.ca) {
        tracing_free_log(&consumer.ca.name);
        consumer.delete();
    }
}

fn tracing_free_log(name: &str) {
    eprintln!("assignment of {name} changed");
}

fn main() {}
