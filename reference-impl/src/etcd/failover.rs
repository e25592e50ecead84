//! A broker node's liveness (a lease and a key attached to it) and the
//! failover of the consumers placed on a node whose lease died.
//!
//! What is lost when a node dies is its reaper: nobody else tracks the
//! consumers placed on it (`leader=N`), so an idle one would stay forever.
//! Each node therefore keeps a key `{prefix}.reaper-nodes/{N}` alive on a
//! lease; etcd deletes it when the lease expires (the node crashed, or lost
//! etcd for longer than the lease's TTL). The next live node after N (in
//! index order, wrapping around) then **re-places** each of N's consumers on
//! itself with one transaction per consumer: `if mod_revision(consumer) ==
//! read and version(liveness key of N) == 0 then put(consumer, value with
//! leader=self)`. The compare on the mod revision makes the claim happen
//! once (a concurrent claim or a broker's own update fails it, and the
//! claimer reads again); the compare on N's key makes it happen only while N
//! is really gone. The re-placement keeps the assignment's identity (its
//! create revision); every node sees it in its watch (`AssignmentEvent::
//! Placed`) and the new leader's reaper tracks the consumer with a fresh
//! inactivity clock, so an idle one is then reaped as any other — through
//! the compare-and-delete, never locally. A node that comes back (a new
//! lease, the same key) leads its new consumers; the ones re-placed stay
//! where they went.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, PutOptions, Txn, TxnOp};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::spec;
use super::view::{View, NODES};
use crate::node::Placement;

/// Claims in flight at once while re-placing a dead node's consumers.
const CLAIMS_IN_FLIGHT: usize = 32;

pub(super) fn node_key(prefix: &str, node: usize) -> String {
    format!("{prefix}{NODES}{node}")
}

/// The node that takes over `dead`'s consumers: the first live node after
/// it in index order, wrapping around.
pub(super) fn successor(dead: usize, live: &BTreeSet<usize>) -> Option<usize> {
    live.range(dead + 1..)
        .next()
        .or_else(|| live.iter().next())
        .copied()
}

/// Keeps node `node`'s liveness key on a lease of `ttl`, renewed every third
/// of it; a lease that expired anyway (etcd unreachable for longer) is
/// granted again and the key put again. Leaves the lease to lapse when
/// stopped: a node restarted within `ttl` keeps its consumers.
pub(super) async fn stay_alive(
    mut client: Client,
    prefix: String,
    node: usize,
    ttl: Duration,
    request_timeout: Duration,
    stop: CancellationToken,
) {
    let key = node_key(&prefix, node);
    let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
    let renew = (ttl / 3).max(Duration::from_millis(100));
    let next = sleep_until(Instant::now());
    tokio::pin!(next);
    // The lease the key is on, with its keep-alive stream.
    let mut lease: Option<(
        i64,
        etcd_client::LeaseKeeper,
        etcd_client::LeaseKeepAliveStream,
    )> = None;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = &mut next => {}
        }
        next.as_mut().reset(Instant::now() + renew);
        if let Some((id, keeper, stream)) = lease.as_mut() {
            let renewed = timeout(request_timeout, async {
                keeper.keep_alive().await?;
                stream.message().await
            })
            .await;
            match renewed {
                Ok(Ok(Some(reply))) if reply.ttl() > 0 => continue,
                Ok(Ok(Some(_))) => {
                    tracing::warn!(
                        node,
                        lease = *id,
                        "etcd metalayer: this node's lease expired; \
                        its consumers may have been re-placed; granting a new one"
                    );
                    lease = None;
                }
                // Not renewed this time; the lease lives on until its TTL.
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => {
                    tracing::debug!(
                        node,
                        lease = *id,
                        "etcd metalayer: lease not renewed; retrying"
                    );
                    lease = None;
                    // The next attempt checks it is still there (or grants anew).
                }
            }
        }
        let granted = timeout(request_timeout, async {
            let id = client.lease_grant(ttl_secs, None).await?.id();
            client
                .put(
                    key.as_str(),
                    node.to_string(),
                    Some(PutOptions::new().with_lease(id)),
                )
                .await?;
            let (keeper, stream) = client.lease_keep_alive(id).await?;
            Ok::<_, etcd_client::Error>((id, keeper, stream))
        })
        .await;
        match granted {
            Ok(Ok(held)) => {
                tracing::debug!(
                    node,
                    lease = held.0,
                    "etcd metalayer: liveness key on a lease"
                );
                lease = Some(held);
            }
            Ok(Err(error)) => tracing::warn!(node, %error,
                "etcd metalayer: cannot put this node's liveness key; retrying"),
            Err(_) => tracing::warn!(
                node,
                ?request_timeout,
                "etcd metalayer: putting this node's liveness key timed out; retrying"
            ),
        }
    }
}

/// Re-places on node `me` the consumers of dead nodes whose successor it is,
/// whenever membership or placements change (and every `ttl`, for claims
/// that failed). Starts only once this node has been watching for `ttl`:
/// a node that starts at the same time as the others gives them the time
/// to put their liveness keys.
pub(super) async fn fail_over(
    client: Client,
    prefix: String,
    me: usize,
    view: Arc<View>,
    ttl: Duration,
    request_timeout: Duration,
    stop: CancellationToken,
) {
    let recheck = sleep_until(Instant::now() + ttl);
    tokio::pin!(recheck);
    let mut watching_since: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = view.changed() => {}
            () = &mut recheck => {}
        }
        recheck.as_mut().reset(Instant::now() + ttl);
        if !view.is_ready() {
            watching_since = None;
            continue;
        }
        let since = *watching_since.get_or_insert_with(Instant::now);
        if since.elapsed() < ttl {
            recheck.as_mut().reset(since + ttl);
            continue;
        }
        let live = view.members();
        if !live.contains(&me) {
            continue; // this node's own lease is not (yet) seen alive
        }
        let mine: Vec<(String, usize)> = view
            .orphans()
            .into_iter()
            .filter(|(_, dead)| successor(*dead, &live) == Some(me))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let (claimed, failed) =
            claim_all(&client, &prefix, me, mine.clone(), request_timeout, &stop).await;
        tracing::info!(
            node = me,
            orphans = mine.len(),
            claimed,
            failed,
            "etcd metalayer: re-placed the consumers of dead nodes on this node"
        );
    }
}

async fn claim_all(
    client: &Client,
    prefix: &str,
    me: usize,
    orphans: Vec<(String, usize)>,
    request_timeout: Duration,
    stop: &CancellationToken,
) -> (usize, usize) {
    let (mut claimed, mut failed) = (0, 0);
    let mut claims = JoinSet::new();
    let mut orphans = orphans.into_iter();
    loop {
        while claims.len() < CLAIMS_IN_FLIGHT {
            let Some((key, dead)) = orphans.next() else {
                break;
            };
            let (client, prefix) = (client.clone(), prefix.to_owned());
            claims.spawn(async move {
                let claimed = timeout(request_timeout, claim(client, &prefix, &key, me, dead)).await;
                match claimed {
                    Ok(Ok(done)) => done,
                    Ok(Err(error)) => {
                        tracing::debug!(consumer = %key, dead, %error, "etcd metalayer: claim failed");
                        false
                    }
                    Err(_) => false,
                }
            });
        }
        let next = tokio::select! {
            biased;
            () = stop.cancelled() => {
                claims.abort_all();
                return (claimed, failed);
            }
            next = claims.join_next() => next,
        };
        match next {
            Some(Ok(true)) => claimed += 1,
            Some(_) => failed += 1,
            None => return (claimed, failed),
        }
    }
}

/// Re-places consumer `key` from the dead node `dead` onto `me`, once:
/// returns whether this transaction did it (`false`: gone, already moved,
/// `dead` alive again, or a concurrent write — the next round reads again).
async fn claim(
    mut client: Client,
    prefix: &str,
    key: &str,
    me: usize,
    dead: usize,
) -> Result<bool, etcd_client::Error> {
    let full = format!("{prefix}{key}");
    let current = client.get(full.as_str(), None).await?;
    let Some(kv) = current.kvs().first() else {
        return Ok(false);
    };
    match spec::decode(kv.value()) {
        Ok(spec) if spec.placement == Placement::Node(dead) => {}
        _ => return Ok(false),
    }
    let Ok(value) = spec::with_leader(kv.value(), me) else {
        return Ok(false);
    };
    let txn = Txn::new()
        .when([
            Compare::mod_revision(full.as_str(), CompareOp::Equal, kv.mod_revision()),
            Compare::version(node_key(prefix, dead), CompareOp::Equal, 0),
        ])
        .and_then([TxnOp::put(full.as_str(), value, None)]);
    Ok(client.txn(txn).await?.succeeded())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_is_the_next_live_node_wrapping_around() {
        let live: BTreeSet<usize> = [0, 2, 5].into();
        assert_eq!(successor(1, &live), Some(2));
        assert_eq!(successor(2, &live), Some(5));
        assert_eq!(successor(5, &live), Some(0));
        assert_eq!(successor(7, &live), Some(0));
        assert_eq!(successor(0, &BTreeSet::new()), None);
    }
}
