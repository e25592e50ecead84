// Fills an outgoing request with more queued keys that the peer is known to
// have. Running out of look-ahead budget now leaves the scan with break, so
// the chosen keys are always taken out of the waiting set.
use std::collections::{BTreeSet, HashSet};

pub struct Puller {
    waiting: BTreeSet<u64>,
}

impl Puller {
    pub fn top_up(&mut self, chosen: &mut HashSet<u64>, peer_has: &HashSet<u64>, mut budget: Option<usize>) {
        for key in self.waiting.iter() {
            if !peer_has.contains(key) {
                continue;
            }
            chosen.insert(*key);
            if chosen.len() >= 64 {
                break;
            }
            if let Some(ref mut left) = budget {
                *left -= 1;
                if *left == 0 {
                    break;
                }
            }
        }

        // Everything chosen is now in flight: stop treating it as waiting.
        for key in chosen.iter() {
            self.waiting.remove(key);
        }
    }
}
