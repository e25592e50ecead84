//! The reaper's clock, its proposal pacer and its warning aggregator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Monotonic time since the reaper started, in the resolution each user needs.
/// Reads tokio's clock, so paused-time tests control it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        duration_ms(self.epoch.elapsed())
    }

    pub(crate) fn instant_at_ms(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    pub(crate) fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub(crate) fn instant_at_nanos(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }
}

pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Spaces delete proposals out to a rate, with a burst allowance: each caller
/// reserves the next free slot and waits for it on its own (already pinned)
/// timer, so pacing costs no extra task or timer.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval_nanos: u64,
    burst_nanos: u64,
    next_free_nanos: Mutex<u64>,
}

impl Pacer {
    pub(crate) fn new(per_second: u32, burst: u32) -> Pacer {
        let interval_nanos = 1_000_000_000 / u64::from(per_second.max(1));
        Pacer {
            interval_nanos,
            burst_nanos: interval_nanos.saturating_mul(u64::from(burst.max(1)) - 1),
            next_free_nanos: Mutex::new(0),
        }
    }

    /// Reserves one proposal slot; returns when (in clock nanos) it may go.
    pub(crate) fn reserve(&self, now_nanos: u64) -> u64 {
        let mut next_free = self
            .next_free_nanos
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let slot = (*next_free).max(now_nanos.saturating_sub(self.burst_nanos));
        *next_free = slot + self.interval_nanos;
        slot.max(now_nanos)
    }
}

/// Lets a few warnings of one kind through per window and counts the rest,
/// so 50,000 consumers failing the same way make a handful of log lines that
/// say how many were folded, not 50,000 lines.
#[derive(Debug)]
pub(crate) struct WarningGate {
    per_window: u32,
    window_ms: u64,
    state: Mutex<GateState>,
    /// Total warnings folded, for stats.
    suppressed_total: AtomicU64,
}

#[derive(Debug, Default)]
struct GateState {
    window_start_ms: u64,
    emitted: u32,
    suppressed: u64,
}

/// What to do with one warning.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `folded` similar warnings were suppressed since the last one logged.
    Log { folded: u64 },
    /// Counted; log it at debug level only.
    Fold,
}

impl WarningGate {
    pub(crate) fn new(per_window: u32, window: Duration) -> WarningGate {
        WarningGate {
            per_window,
            window_ms: duration_ms(window).max(1),
            state: Mutex::new(GateState::default()),
            suppressed_total: AtomicU64::new(0),
        }
    }

    pub(crate) fn admit(&self, now_ms: u64) -> Admit {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now_ms >= state.window_start_ms + self.window_ms {
            state.window_start_ms = now_ms;
            state.emitted = 0;
        }
        if state.emitted < self.per_window {
            state.emitted += 1;
            Admit::Log {
                folded: std::mem::take(&mut state.suppressed),
            }
        } else {
            state.suppressed += 1;
            self.suppressed_total.fetch_add(1, Ordering::Relaxed);
            Admit::Fold
        }
    }

    /// Takes the count of warnings folded in a window that has ended, so the
    /// caller can log one summary line for them.
    pub(crate) fn take_expired_folds(&self, now_ms: u64) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.suppressed > 0 && now_ms >= state.window_start_ms + self.window_ms {
            std::mem::take(&mut state.suppressed)
        } else {
            0
        }
    }

    pub(crate) fn suppressed_total(&self) -> u64 {
        self.suppressed_total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_allows_a_burst_then_spaces_slots() {
        let pacer = Pacer::new(10, 3); // 100 ms apart, 3 at once
        let now = 10_000_000_000;
        let slots: Vec<u64> = (0..5).map(|_| pacer.reserve(now)).collect();
        assert_eq!(slots[..3], [now, now, now]);
        assert_eq!(slots[3], now + 100_000_000);
        assert_eq!(slots[4], now + 200_000_000);
    }

    #[test]
    fn warning_gate_folds_past_the_budget_and_reports_the_count() {
        let gate = WarningGate::new(2, Duration::from_secs(10));
        assert_eq!(gate.admit(0), Admit::Log { folded: 0 });
        assert_eq!(gate.admit(1), Admit::Log { folded: 0 });
        assert_eq!(gate.admit(2), Admit::Fold);
        assert_eq!(gate.admit(3), Admit::Fold);
        assert_eq!(gate.take_expired_folds(5_000), 0, "window still open");
        assert_eq!(gate.admit(10_000), Admit::Log { folded: 2 });
        assert_eq!(gate.suppressed_total(), 2);
        assert_eq!(gate.admit(10_001), Admit::Log { folded: 0 });
        assert_eq!(gate.admit(10_002), Admit::Fold);
        assert_eq!(gate.take_expired_folds(20_000), 1);
    }
}
