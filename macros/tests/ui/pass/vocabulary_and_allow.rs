//! Arguments that extend the vocabularies and allow a rule with a reason.
use lifecycle_macros::quorum_gated_delete;

pub struct Consumer;
impl Consumer {
    pub fn zap(&self) {}
}

#[quorum_gated_delete(delete = "^zap$", log = "^audit$", propose = "^raft_submit$")]
pub fn reap(consumer: &Consumer, quorum: bool) {
    if quorum {
        consumer.zap();
    }
}

#[quorum_gated_delete(allow(silent_early_return, reason = "the caller re-arms on None"))]
pub fn on_timer(cluster: Option<&str>) {
    let Some(_cluster) = cluster else {
        return;
    };
}

fn main() {
    reap(&Consumer, true);
    on_timer(None);
}
