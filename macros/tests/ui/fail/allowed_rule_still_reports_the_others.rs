use lifecycle_macros::quorum_gated_delete;

pub struct Cluster;
impl Cluster {
    pub fn propose_delete(&self, _key: &str) {}
}
pub struct Server {
    pub cluster: Option<Cluster>,
}

/// `allow` silences only the rule it names.
#[quorum_gated_delete(allow(pointer_value_comparison, reason = "no assignments here"))]
pub fn on_timer(server: &Server, key: &str) {
    let Some(cluster) = &server.cluster else {
        return;
    };
    cluster.propose_delete(key);
}

#[quorum_gated_delete(allow(silent_early_return, reason = "the caller logs and re-arms"))]
pub fn on_timer_allowed(server: &Server, key: &str) {
    let Some(cluster) = &server.cluster else {
        return;
    };
    cluster.propose_delete(key);
}

fn main() {}
