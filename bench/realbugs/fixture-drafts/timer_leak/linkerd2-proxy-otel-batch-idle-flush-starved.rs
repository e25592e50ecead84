// Collects log records into a batch and means to ship a partial batch after
// a quiet spell. The quiet-spell sleep is made anew on every pass, so records
// trickling in faster than `QUIET` keep restarting it and a partial batch is
// only shipped once it is full.
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time;

const MAX_RECORDS: usize = 500;
const QUIET: Duration = Duration::from_secs(5);

pub async fn gather<S: Stream<Item = String> + Unpin>(records: &mut S, out: &mut Vec<String>) -> bool {
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
            _ = time::sleep(QUIET) => { //~ timer_leak
                if !out.is_empty() {
                    return true;
                }
            }
        }
    }
}
