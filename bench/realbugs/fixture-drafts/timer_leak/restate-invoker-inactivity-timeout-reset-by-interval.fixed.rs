// The idle sleep is pinned once before the loop and pushed back only when a
// real frame arrives; housekeeping ticks no longer restart it.
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::Instant;

pub struct Session {
    inbox: Receiver<Vec<u8>>,
    idle_after: Duration,
}

pub enum Outcome {
    Parked,
    Closed,
}

impl Session {
    const HOUSEKEEPING: Duration = Duration::from_millis(200);

    pub async fn drive(&mut self) -> Outcome {
        let mut housekeeping = tokio::time::interval(Self::HOUSEKEEPING);
        housekeeping.tick().await;
        let mut idle = std::pin::pin!(tokio::time::sleep(self.idle_after));
        loop {
            tokio::select! {
                frame = self.inbox.recv() => {
                    match frame {
                        Some(f) => self.handle(f),
                        None => return Outcome::Closed,
                    }
                    idle.as_mut().reset(Instant::now() + self.idle_after);
                },
                _ = housekeeping.tick() => {
                    self.trim_buffers();
                },
                _ = &mut idle => {
                    return Outcome::Parked;
                },
            }
        }
    }

    fn handle(&mut self, _f: Vec<u8>) {}
    fn trim_buffers(&mut self) {}
}
