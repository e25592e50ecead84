// The helper schedules the first tick one full period out.
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::{self, Instant, Interval};

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
    time::interval_at(Instant::now() + d, d)
}

fn rand_secs(max: u64) -> u64 { max / 2 }
