// Fills an outgoing request with more queued keys that the peer is known to
// have. The scan has a look-ahead budget; when it runs out the function
// returns, which skips the step after the loop that takes the chosen keys out
// of the waiting set, so they are requested and still counted as waiting.
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
                *left = left.saturating_sub(1);
                if *left == 0 {
                    return; //~ silent_early_return
                }
            }
        }

        // Everything chosen is now in flight: stop treating it as waiting.
        for key in chosen.iter() {
            self.waiting.remove(key);
        }
    }
}
