use lifecycle_macros::quorum_gated_delete;

#[quorum_gated_delete(allow(deferred_delete))]
pub fn reap() {}

fn main() {}
