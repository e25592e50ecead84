// On each tick, advertises recent item ids for every channel to a few
// neighbours. A channel with nothing recent is skipped.
use std::collections::{HashMap, HashSet};

pub struct Gossiper {
    channels: HashMap<String, HashSet<u32>>,
    recent: HashMap<String, Vec<u64>>,
    outbox: Vec<(u32, String, Vec<u64>)>,
}

impl Gossiper {
    fn advertise(&mut self) {
        let mut sends = Vec::new();
        for (channel, neighbours) in self.channels.iter() {
            let ids = self.recent.get(channel).cloned().unwrap_or_default();
            if ids.is_empty() {
                continue;
            }
            for n in neighbours.iter().take(6) {
                sends.push((*n, channel.clone(), ids.clone()));
            }
        }
        self.outbox.extend(sends);
    }
}
