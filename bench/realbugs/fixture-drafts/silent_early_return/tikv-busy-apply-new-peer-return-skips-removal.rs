// During start-up each member reports when it has caught up on its backlog:
// it leaves the node's lagging set and bumps the caught-up counter. A brand
// new member takes an early return that only clears its own flag, so it is
// never counted and the node keeps looking busy.
use std::collections::HashSet;
use std::sync::Mutex;

pub struct NodeMeta {
    lagging: HashSet<u64>,
    caught_up: u64,
}

pub struct Member {
    id: u64,
    pending_check: Option<bool>,
    applied: u64,
    last: u64,
    max_lag: u64,
}

impl Member {
    fn on_check_caught_up(&mut self, meta: &Mutex<NodeMeta>) {
        if self.pending_check.is_none() {
            return;
        }
        if self.last <= 5 {
            self.pending_check = None;
            return; //~ silent_early_return
        }
        if self.last >= self.applied + self.max_lag {
            if !self.pending_check.unwrap() {
                meta.lock().unwrap().lagging.insert(self.id);
            }
            self.pending_check = Some(true);
        } else {
            {
                let mut m = meta.lock().unwrap();
                m.lagging.remove(&self.id);
                m.caught_up += 1;
            }
            self.pending_check = None;
        }
    }
}
