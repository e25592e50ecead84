//! The background tasks that keep a node's [`View`] current and honest.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, GetOptions, KeyValue, WatchOptions};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::view::View;

/// How [`keep_in_sync`] lists, watches and retries.
pub(super) struct Sync {
    pub(super) prefix: String,
    pub(super) request_timeout: Duration,
    pub(super) retry_interval: Duration,
    pub(super) max_retry_interval: Duration,
    pub(super) page_size: i64,
}

/// Lists the prefix, then watches it from the listed revision; on any break
/// (a member down, quorum lost — the watch requires a leader — or history
/// compacted) the view is marked not synced and listed afresh. Every failed
/// attempt is logged with its cause, and the next one waits twice as long
/// (up to `max_retry_interval`); a watch that was established resets the
/// wait.
pub(super) async fn keep_in_sync(
    mut client: Client,
    sync: Sync,
    view: Arc<View>,
    stop: CancellationToken,
) {
    let retry = sleep_until(Instant::now());
    tokio::pin!(retry);
    let mut wait = sync.retry_interval;
    let mut failures: u32 = 0;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = &mut retry => {}
        }
        let why = match sync_once(&mut client, &sync, &view, &stop).await {
            Synced::Stopped => return,
            // The watch ran, then broke: try again soon.
            Synced::Broke(why) => {
                failures = 0;
                wait = sync.retry_interval;
                why
            }
            Synced::Failed(why) => {
                failures += 1;
                why
            }
        };
        view.set_synced(false, &why);
        if failures > 0 {
            tracing::warn!(prefix = %sync.prefix, why = %why, attempt = failures,
                retry_in = ?wait, "etcd metalayer: could not list and watch the assignments; retrying");
        }
        retry.as_mut().reset(Instant::now() + wait);
        if failures > 0 {
            wait = (wait * 2).min(sync.max_retry_interval);
        }
    }
}

/// How one listing and watch ended.
enum Synced {
    Stopped,
    /// Listing or starting the watch failed.
    Failed(String),
    /// The watch was established and later broke.
    Broke(String),
}

async fn sync_once(
    client: &mut Client,
    sync: &Sync,
    view: &View,
    stop: &CancellationToken,
) -> Synced {
    let (revision, kvs) = match list(client, sync).await {
        Ok(listing) => listing,
        Err(why) => return Synced::Failed(why),
    };
    view.replace_all(&kvs);
    drop(kvs);
    let options = WatchOptions::new()
        .with_prefix()
        .with_prev_key()
        .with_start_revision(revision + 1);
    let mut watch = match timeout(
        sync.request_timeout,
        client.watch(sync.prefix.as_str(), Some(options)),
    )
    .await
    {
        Ok(Ok(watch)) => watch,
        Ok(Err(error)) => return Synced::Failed(format!("watch failed: {error}")),
        Err(_) => return Synced::Failed("watch timed out".to_owned()),
    };
    view.set_synced(true, "");
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => return Synced::Stopped,
            message = watch.message() => message,
        };
        match message {
            Ok(Some(response)) if response.canceled() => {
                return Synced::Broke(format!("watch canceled: {}", response.cancel_reason()));
            }
            Ok(Some(response)) => view.apply(&response),
            Ok(None) => return Synced::Broke("watch closed".to_owned()),
            Err(error) => return Synced::Broke(format!("watch broke: {error}")),
        }
    }
}

/// Lists every key under the prefix, `page_size` keys per request, all pages
/// at the revision of the first (one consistent snapshot, which the watch
/// then continues from). Returns that revision and the keys.
async fn list(client: &mut Client, sync: &Sync) -> Result<(i64, Vec<KeyValue>), String> {
    let end = prefix_end(sync.prefix.as_bytes());
    let mut from = sync.prefix.as_bytes().to_vec();
    let mut revision = 0;
    let mut kvs = Vec::new();
    loop {
        let mut options = GetOptions::new()
            .with_range(end.clone())
            .with_limit(sync.page_size);
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let mut page = match timeout(
            sync.request_timeout,
            client.get(from.clone(), Some(options)),
        )
        .await
        {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => {
                return Err(format!("listing failed after {} keys: {error}", kvs.len()))
            }
            Err(_) => return Err(format!("listing timed out after {} keys", kvs.len())),
        };
        if revision == 0 {
            revision = page.header().map_or(0, |h| h.revision());
        }
        let more = page.more();
        let keys = page.take_kvs();
        let Some(last) = keys.last() else {
            return Ok((revision, kvs));
        };
        // The next page starts right after the last key of this one.
        from = last.key().to_vec();
        from.push(0);
        kvs.extend(keys);
        if !more {
            return Ok((revision, kvs));
        }
    }
}

/// The end of the range of keys that start with `prefix` (etcd's
/// convention: the prefix with its last byte below 0xff incremented; all
/// keys from the prefix on if it is all 0xff).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// Asks for a linearizable read every `interval`: the view is trusted only
/// while a quorum answers in time (a hung connection or a lost quorum would
/// not break the watch at once).
pub(super) async fn probe_quorum(
    mut client: Client,
    prefix: String,
    view: Arc<View>,
    interval: Duration,
    request_timeout: Duration,
    stop: CancellationToken,
) {
    let next = sleep_until(Instant::now());
    tokio::pin!(next);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = &mut next => {}
        }
        let count_only = GetOptions::new().with_prefix().with_count_only();
        match timeout(
            request_timeout,
            client.get(prefix.as_str(), Some(count_only)),
        )
        .await
        {
            Ok(Ok(_)) => view.set_reachable(true, ""),
            Ok(Err(error)) => view.set_reachable(false, &error.to_string()),
            Err(_) => view.set_reachable(false, "no answer in time"),
        }
        next.as_mut().reset(Instant::now() + interval);
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(&[b'a', 0xff, 0xff]), b"b".to_vec());
        assert_eq!(prefix_end(&[0xff]), vec![0]);
    }
}
