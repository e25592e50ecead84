// A discovery behaviour that probes for peers with a growing back-off. In
// poll() it drains the probe timer with a `while ..is_ready()` loop and, on
// each probe, stores a brand-new tokio interval in the field. A new interval
// is ready at once, so the while loop never sees Pending and spins forever.
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
            self.probe_timer = tokio::time::interval(self.backoff); //~ timer_leak
            self.backoff = cmp::min(self.backoff * 2, Duration::from_secs(60));
        }
        Poll::Pending
    }

    fn send_probe(&mut self) {}
}
