use lifecycle_macros::quorum_gated_delete;

#[quorum_gated_delete]
pub struct Consumer {
    pub key: String,
}

fn main() {}
