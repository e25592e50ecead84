// `self.current` says nothing by its name; the struct declares it as an
// assignment.
use std::sync::Arc;

pub struct Placement {
    current: Arc<ConsumerAssignment>,
    peers: Vec<PeerId>,
}

impl Placement {
    pub fn refresh(&mut self, meta: &MetaView) -> bool {
        let fetched = meta.lookup(&self.current.stream, &self.current.name);
        match fetched {
            Some(fetched) if !Arc::ptr_eq(&self.current, &fetched) => { //~ pointer_value_comparison
                self.peers = fetched.group.peers.clone();
                self.current = fetched;
                true
            }
            _ => false,
        }
    }
}
