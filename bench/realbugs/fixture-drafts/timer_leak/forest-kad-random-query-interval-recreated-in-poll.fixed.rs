// Each new interval is reset right after it is made, so its first tick is a
// full back-off away and the drain loop ends with Pending.
use std::cmp;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Interval;

pub struct PeerProbe {
    probe_timer: Interval,
    backoff: Duration,
    connected: usize,
    wanted: usize,
}

impl PeerProbe {
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while self.probe_timer.poll_tick(cx).is_ready() {
            if self.connected < self.wanted {
                self.send_probe();
            }
            self.probe_timer = tokio::time::interval(self.backoff);
            self.probe_timer.reset();
            self.backoff = cmp::min(self.backoff * 2, Duration::from_secs(60));
        }
        Poll::Pending
    }

    fn send_probe(&mut self) {}
}
