use lifecycle_macros::quorum_gated_delete;

#[quorum_gated_delete(allow(timer_leaks, reason = "backoff"))]
pub fn reap() {}

fn main() {}
