// The gap timer is created once, before the loop, and restarted after each
// submission, so the timer branch only wins after `max_gap` of quiet.
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::interval;

pub struct Dispatcher {
    heads: Receiver<u64>,
    max_gap: Duration,
    auto: bool,
}

impl Dispatcher {
    pub async fn run(&mut self) {
        let mut gap = interval(self.max_gap);
        loop {
            let head = tokio::select! {
                h = self.heads.recv() => {
                    if !self.auto { continue; }
                    h
                }
                _ = gap.tick() => {
                    if !self.auto { continue; }
                    None
                }
            };
            self.submit(head).await;
            gap.reset();
        }
    }

    async fn submit(&mut self, _head: Option<u64>) {}
}
