use lifecycle_macros::quorum_gated_delete;

pub trait Reap {
    #[quorum_gated_delete]
    fn reap(&self);
}

fn main() {}
