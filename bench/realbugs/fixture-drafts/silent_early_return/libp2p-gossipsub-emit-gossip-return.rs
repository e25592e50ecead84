// On each tick, advertises recent item ids for every channel to a few
// neighbours. The first channel with nothing recent returns from the tick,
// so the channels after it get no advertisement at all.
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
                return; //~ silent_early_return
            }
            for n in neighbours.iter().take(6) {
                sends.push((*n, channel.clone(), ids.clone()));
            }
        }
        self.outbox.extend(sends);
    }
}
