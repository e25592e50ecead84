use lifecycle_macros::quorum_gated_delete;

#[quorum_gated_delete(remove = "^zap$")]
pub fn reap() {}

fn main() {}
