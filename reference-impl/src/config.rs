//! Tuning knobs, with the defaults nats-server uses where it has one.

use std::time::Duration;

/// How the reaper retries, re-arms and paces itself.
#[derive(Clone, Debug)]
pub struct Config {
    /// Wait after the first proposal before proposing again (nats: 30 s).
    pub initial_backoff: Duration,
    /// Cap of the doubling wait between proposals (nats: 5 min).
    pub max_backoff: Duration,
    /// Proposals one run makes before it hands its slot back and re-arms the
    /// check (`Rearmed { NotCommitted }`), so a stuck consumer cannot hold a
    /// slot forever and a run's proposals are bounded.
    pub max_attempts: u32,
    /// First re-check after the metalayer was found unavailable; doubles per
    /// consecutive re-arm up to `max_backoff`.
    pub unavailable_recheck: Duration,
    /// Gated deletes running at once; expired consumers beyond it wait in a
    /// queue (a mass expiry becomes a steady trickle).
    pub max_in_flight: usize,
    /// Local deletes running at once on the blocking pool, for consumers
    /// whose delete may block (`Consumer::DELETE_MAY_BLOCK`); the rest wait
    /// for a turn in their own runs.
    pub max_local_deletes: usize,
    /// Delete proposals per second, over all consumers (etcd caps lease
    /// revokes the same way).
    pub proposals_per_second: u32,
    /// Proposals that may go out at once before pacing starts.
    pub proposal_burst: u32,
    /// Warnings of one kind ("not cleaned up, retrying", "metalayer not
    /// ready") logged per `warning_window`; the rest are counted and reported
    /// as one summary.
    pub warnings_per_window: u32,
    pub warning_window: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
            max_attempts: 10,
            unavailable_recheck: Duration::from_secs(10),
            max_in_flight: 4096,
            max_local_deletes: 16,
            proposals_per_second: 1000,
            proposal_burst: 100,
            warnings_per_window: 10,
            warning_window: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Raises the knobs that would stall the reaper at zero (no slot, no
    /// attempt, no proposal rate) to one.
    pub fn normalized(mut self) -> Config {
        self.max_in_flight = self.max_in_flight.max(1);
        self.max_local_deletes = self.max_local_deletes.max(1);
        self.max_attempts = self.max_attempts.max(1);
        self.proposals_per_second = self.proposals_per_second.max(1);
        self.proposal_burst = self.proposal_burst.max(1);
        self.max_backoff = self.max_backoff.max(self.initial_backoff);
        self
    }

    /// The wait after the `attempt`-th proposal: `initial`, then
    /// `min(d * 2, max)`.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let mut wait = self.initial_backoff;
        for _ in 1..attempt {
            wait = next_backoff(wait, self.max_backoff);
        }
        wait
    }

    /// The delay before re-checking a consumer re-armed `rearms` times in a row
    /// because the metalayer was unavailable.
    pub fn unavailable_delay(&self, rearms: u32) -> Duration {
        let mut wait = self.unavailable_recheck.min(self.max_backoff);
        for _ in 0..rearms.min(32) {
            wait = next_backoff(wait, self.max_backoff);
        }
        wait
    }
}

/// `min(d * 2, max)`.
pub fn next_backoff(current: Duration, max: Duration) -> Duration {
    current.saturating_mul(2).min(max)
}
