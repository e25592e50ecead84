// One ship-timer for the whole gathering, created before the loop with its
// first tick one period out, so a partial batch is shipped on a fixed cadence
// whatever the record rate.
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::{self, Instant, MissedTickBehavior};

const MAX_RECORDS: usize = 500;
const EVERY: Duration = Duration::from_secs(5);

pub async fn gather<S: Stream<Item = String> + Unpin>(records: &mut S, out: &mut Vec<String>) -> bool {
    let mut ship = time::interval_at(Instant::now() + EVERY, EVERY);
    ship.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        if out.len() == MAX_RECORDS {
            return true;
        }
        tokio::select! {
            biased;
            next = records.next() => match next {
                Some(r) => out.push(r),
                None => return false,
            },
            _ = ship.tick() => {
                if !out.is_empty() {
                    return true;
                }
            }
        }
    }
}
