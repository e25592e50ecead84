// Applies a committed block to the pool: every account in it gets its
// committed counter advanced, and untracked accounts get their waiting queue
// promoted. One queue that fails to promote returns from the whole update,
// so the accounts after it keep stale state.
use std::collections::HashMap;

pub struct Queue(Vec<u64>);
pub struct Tracked { committed: u64, items: Vec<u64> }

impl Tracked {
    fn promote(committed: u64, q: Queue) -> Option<Tracked> {
        if q.0.is_empty() { None } else { Some(Tracked { committed, items: q.0 }) }
    }
}

pub struct Pool {
    tracked: HashMap<u64, Tracked>,
    room: usize,
}

impl Pool {
    pub fn on_commit(&mut self, counters: &[(u64, u64)], waiting: &mut HashMap<u64, Queue>) {
        for (account, last) in counters {
            let next = last + 1;
            if let Some(t) = self.tracked.get_mut(account) {
                t.committed = next;
                t.items.retain(|n| *n >= next);
                continue;
            }
            if self.room == 0 {
                continue;
            }
            let Some(queue) = waiting.remove(account) else {
                continue;
            };
            let Some(promoted) = Tracked::promote(next, queue) else {
                return; //~ silent_early_return
            };
            self.room -= 1;
            self.tracked.insert(*account, promoted);
        }
    }
}
