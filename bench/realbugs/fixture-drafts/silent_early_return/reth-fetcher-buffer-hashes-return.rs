// Queues a batch of keys for a later download. A key whose bookkeeping entry
// cannot be borrowed makes the whole function return, so every key after it
// in the batch is neither queued nor retired and stays tracked forever.
use std::collections::{HashMap, HashSet};

pub struct Meta {
    attempts: u8,
    sources: HashSet<u32>,
}

pub struct Downloader {
    tracked: HashMap<u64, Meta>,
    queued: HashSet<u64>,
}

impl Downloader {
    pub fn enqueue_all(&mut self, keys: Vec<u64>, source: Option<u32>) {
        for key in keys {
            if !self.tracked.contains_key(&key) {
                continue;
            }
            let Some(meta) = self.tracked.get_mut(&key) else {
                return; //~ silent_early_return
            };
            if let Some(s) = source {
                meta.sources.insert(s);
            } else {
                if meta.attempts >= 3 {
                    self.tracked.remove(&key);
                    self.queued.remove(&key);
                    continue;
                }
                meta.attempts += 1;
            }
            self.queued.insert(key);
        }
    }
}
