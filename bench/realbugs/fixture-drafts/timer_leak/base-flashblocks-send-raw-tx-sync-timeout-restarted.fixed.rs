// One select!, no surrounding loop: the single deadline sleep decides, and an
// empty watcher result is reported as the deadline error.
use std::time::Duration;

pub struct Tracker;

#[derive(Debug)]
pub enum WaitError {
    DeadlineExceeded(Duration),
}

impl Tracker {
    pub async fn await_confirmation(&self, job: u64, limit: Duration) -> Result<u64, WaitError> {
        tokio::select! {
            found = self.watch_fast_path(job) => {
                found.ok_or(WaitError::DeadlineExceeded(limit))
            }
            found = self.watch_slow_path(job) => {
                found.ok_or(WaitError::DeadlineExceeded(limit))
            }
            _ = tokio::time::sleep(limit) => {
                Err(WaitError::DeadlineExceeded(limit))
            }
        }
    }

    async fn watch_fast_path(&self, _job: u64) -> Option<u64> { None }
    async fn watch_slow_path(&self, _job: u64) -> Option<u64> { None }
}
