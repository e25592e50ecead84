// A dispatcher that should submit a batch at least every `max_gap`, or sooner
// when a new head arrives. The gap timer is rebuilt at the top of each pass;
// a fresh interval's first tick is immediate, so the timer branch wins at once
// and `max_gap` never spaces out submissions.
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
        loop {
            let mut gap = interval(self.max_gap); //~ timer_leak
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
        }
    }

    async fn submit(&mut self, _head: Option<u64>) {}
}
