// A session loop that should park an idle session after `idle_after`. A
// housekeeping interval with a much shorter period shares the select!; each
// housekeeping tick ends the select and the idle sleep is rebuilt, so even a
// fully idle session is never parked.
use std::time::Duration;

use tokio::sync::mpsc::Receiver;

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
        loop {
            tokio::select! {
                frame = self.inbox.recv() => match frame {
                    Some(f) => self.handle(f),
                    None => return Outcome::Closed,
                },
                _ = housekeeping.tick() => {
                    self.trim_buffers();
                },
                _ = tokio::time::sleep(self.idle_after) => { //~ timer_leak
                    return Outcome::Parked;
                },
            }
        }
    }

    fn handle(&mut self, _f: Vec<u8>) {}
    fn trim_buffers(&mut self) {}
}
