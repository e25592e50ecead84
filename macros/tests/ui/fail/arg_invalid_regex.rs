use lifecycle_macros::quorum_gated_delete;

#[quorum_gated_delete(delete = "^(zap")]
pub fn reap() {}

fn main() {}
