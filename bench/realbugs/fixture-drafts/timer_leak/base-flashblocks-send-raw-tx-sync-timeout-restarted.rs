// Waits for a submitted job to be confirmed by either of two watchers, bounded
// by the caller's deadline. The select! sits in a loop and a watcher that
// comes back empty `continue`s, which rebuilds the deadline sleep, so the
// caller's bound restarts instead of counting down.
use std::time::Duration;

pub struct Tracker;

#[derive(Debug)]
pub enum WaitError {
    DeadlineExceeded(Duration),
}

impl Tracker {
    pub async fn await_confirmation(&self, job: u64, limit: Duration) -> Result<u64, WaitError> {
        loop {
            tokio::select! {
                found = self.watch_fast_path(job) => {
                    if let Some(c) = found {
                        return Ok(c);
                    }
                    continue
                }
                found = self.watch_slow_path(job) => {
                    if let Some(c) = found {
                        return Ok(c);
                    }
                    continue
                }
                _ = tokio::time::sleep(limit) => { //~ timer_leak
                    return Err(WaitError::DeadlineExceeded(limit));
                }
            }
        }
    }

    async fn watch_fast_path(&self, _job: u64) -> Option<u64> { None }
    async fn watch_slow_path(&self, _job: u64) -> Option<u64> { None }
}
