use lifecycle_macros::quorum_gated_delete;

pub struct Cluster;
impl Cluster {
    pub fn propose_delete(&self, _key: &str) {}
}
pub struct Server {
    pub cluster: Option<Cluster>,
}

/// The annotation makes this a lifecycle function whatever its name.
#[quorum_gated_delete]
pub fn on_timer(server: &Server, key: &str) {
    let Some(cluster) = &server.cluster else {
        return;
    };
    cluster.propose_delete(key);
}

fn main() {}
