//! The background tasks that keep a node's [`View`] current and honest.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, GetOptions, WatchOptions};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::view::View;

/// Lists the prefix, then watches it from the listed revision; on any break
/// (a member down, quorum lost — the watch requires a leader — or history
/// compacted) the view is marked not synced and listed afresh.
pub(super) async fn keep_in_sync(
    mut client: Client,
    prefix: String,
    view: Arc<View>,
    request_timeout: Duration,
    retry_interval: Duration,
    stop: CancellationToken,
) {
    let retry = sleep_until(Instant::now());
    tokio::pin!(retry);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = &mut retry => {}
        }
        retry.as_mut().reset(Instant::now() + retry_interval);
        let listing = timeout(
            request_timeout,
            client.get(prefix.as_str(), Some(GetOptions::new().with_prefix())),
        )
        .await;
        let listing = match listing {
            Ok(Ok(listing)) => listing,
            Ok(Err(error)) => {
                view.set_synced(false, &format!("listing failed: {error}"));
                continue;
            }
            Err(_) => {
                view.set_synced(false, "listing timed out");
                continue;
            }
        };
        let revision = listing.header().map_or(0, |h| h.revision());
        view.replace_all(listing.kvs());
        let options = WatchOptions::new()
            .with_prefix()
            .with_prev_key()
            .with_start_revision(revision + 1);
        let mut watch = match timeout(
            request_timeout,
            client.watch(prefix.as_str(), Some(options)),
        )
        .await
        {
            Ok(Ok(watch)) => watch,
            Ok(Err(error)) => {
                view.set_synced(false, &format!("watch failed: {error}"));
                continue;
            }
            Err(_) => {
                view.set_synced(false, "watch timed out");
                continue;
            }
        };
        view.set_synced(true, "");
        let why = loop {
            let message = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                message = watch.message() => message,
            };
            match message {
                Ok(Some(response)) if response.canceled() => {
                    break format!("watch canceled: {}", response.cancel_reason());
                }
                Ok(Some(response)) => view.apply(&response),
                Ok(None) => break "watch closed".to_owned(),
                Err(error) => break format!("watch broke: {error}"),
            }
        };
        view.set_synced(false, &why);
    }
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
