// An actor re-probes its public address on a periodic timer held in a field.
// After every address refresh it stores a new timer from a helper that
// returns a plain interval; that interval's first tick is immediate, so the
// re-probe runs again right away instead of after the 20-26 s period.
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::{self, Interval};

pub struct AddrActor {
    reprobe_timer: Interval,
    commands: Receiver<u8>,
}

impl AddrActor {
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                Some(cmd) = self.commands.recv() => self.handle(cmd).await,
                _ = self.reprobe_timer.tick() => {
                    self.reprobe().await;
                }
            }
        }
    }

    async fn reprobe(&mut self) {
        self.refresh_addresses().await;
    }

    async fn refresh_addresses(&mut self) {
        self.reprobe_timer = fresh_reprobe_timer();
    }

    async fn handle(&mut self, _cmd: u8) {}
}

fn fresh_reprobe_timer() -> Interval {
    let d = Duration::from_secs(20 + rand_secs(6));
    time::interval(d) //~ timer_leak
}

fn rand_secs(max: u64) -> u64 { max / 2 }
