//! A node's copy of the assignments under the prefix, kept current by a
//! watch, whether it can be trusted (the metalayer's readiness), and which
//! broker nodes are alive (their liveness keys, under the same prefix and
//! watch, so membership and placements are seen in one revision order).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use etcd_client::{EventType, KeyValue, WatchResponse};
use tokio::sync::Notify;

use super::spec;
use crate::broker::AssignmentId;
use crate::node::{AssignmentEvent, Listener, Placement};

/// Liveness keys live at `{prefix}{NODES}{index}`, each attached to its
/// node's lease. A consumer key may not start with this.
pub(super) const NODES: &str = ".reaper-nodes/";

/// What the view keeps of one assignment.
#[derive(Clone, Copy)]
struct Held {
    id: AssignmentId,
    /// `None`: its value was not understood (still an assignment).
    placement: Option<Placement>,
}

/// What a key under the prefix is.
enum Kind<'a> {
    Consumer(&'a str),
    Node(usize),
    Other,
}

/// The assignments as last listed or watched, keyed by consumer key.
pub(super) struct View {
    prefix: String,
    assignments: Mutex<HashMap<String, Held>>,
    /// The broker nodes whose liveness key exists (their lease is alive).
    members: Mutex<BTreeSet<usize>>,
    /// Membership or placements changed: the failover looks for orphans.
    changed: Notify,
    /// A fresh list was taken and the watch from its revision is running.
    synced: AtomicBool,
    /// The last probe got a linearizable answer (a quorum) in time.
    reachable: AtomicBool,
    listener: Listener,
}

impl View {
    pub(super) fn new(prefix: String, listener: Listener) -> View {
        View {
            prefix,
            assignments: Mutex::new(HashMap::new()),
            members: Mutex::new(BTreeSet::new()),
            changed: Notify::new(),
            synced: AtomicBool::new(false),
            reachable: AtomicBool::new(false),
            listener,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        self.assignments.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn members_lock(&self) -> MutexGuard<'_, BTreeSet<usize>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn is_ready(&self) -> bool {
        self.synced.load(Ordering::Acquire) && self.reachable.load(Ordering::Acquire)
    }

    pub(super) fn assignment(&self, key: &str) -> Option<AssignmentId> {
        self.lock().get(key).map(|held| held.id)
    }

    /// The broker nodes alive as of the view.
    pub(super) fn members(&self) -> BTreeSet<usize> {
        self.members_lock().clone()
    }

    /// Waits until membership or a placement changes.
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The consumers placed on a node that is not alive, with that node.
    pub(super) fn orphans(&self) -> Vec<(String, usize)> {
        let members = self.members();
        self.lock()
            .iter()
            .filter_map(|(key, held)| match held.placement {
                Some(Placement::Node(node)) if !members.contains(&node) => {
                    Some((key.clone(), node))
                }
                _ => None,
            })
            .collect()
    }

    pub(super) fn set_synced(&self, synced: bool, why: &str) {
        if self.synced.swap(synced, Ordering::AcqRel) != synced {
            if synced {
                tracing::info!(prefix = %self.prefix, "etcd metalayer: watching the assignments");
            } else {
                tracing::warn!(prefix = %self.prefix, why, "etcd metalayer: lost its watch, not ready");
            }
        }
    }

    pub(super) fn set_reachable(&self, reachable: bool, why: &str) {
        if self.reachable.swap(reachable, Ordering::AcqRel) != reachable {
            if reachable {
                tracing::info!(prefix = %self.prefix, "etcd metalayer: a quorum answers");
            } else {
                tracing::warn!(prefix = %self.prefix, why, "etcd metalayer: no quorum answers, not ready");
            }
        }
    }

    fn kind<'a>(&self, kv: &'a KeyValue) -> Kind<'a> {
        let Some(key) = kv
            .key_str()
            .ok()
            .and_then(|k| k.strip_prefix(self.prefix.as_str()))
        else {
            return Kind::Other;
        };
        match key.strip_prefix(NODES) {
            Some(node) => node.parse().map_or(Kind::Other, Kind::Node),
            None => Kind::Consumer(key),
        }
    }

    /// Replaces the whole view with a fresh listing, telling the listener
    /// what disappeared (first), what appeared and what moved.
    pub(super) fn replace_all(&self, kvs: &[KeyValue]) {
        let mut fresh: HashMap<&str, &KeyValue> = HashMap::with_capacity(kvs.len());
        let mut members = BTreeSet::new();
        for kv in kvs {
            match self.kind(kv) {
                Kind::Consumer(key) => {
                    fresh.insert(key, kv);
                }
                Kind::Node(node) => {
                    members.insert(node);
                }
                Kind::Other => {}
            }
        }
        *self.members_lock() = members;
        let mut assignments = self.lock();
        let gone: Vec<(String, AssignmentId)> = assignments
            .iter()
            .filter(|(key, held)| {
                fresh
                    .get(key.as_str())
                    .is_none_or(|kv| identity(kv) != held.id)
            })
            .map(|(key, held)| (key.clone(), held.id))
            .collect();
        for (key, assignment) in gone {
            (self.listener)(&AssignmentEvent::Removed {
                key: key.clone(),
                assignment,
            });
            assignments.remove(&key);
        }
        for (key, kv) in fresh {
            self.put(&mut assignments, key, kv);
        }
        drop(assignments);
        self.changed.notify_one();
    }

    /// Applies one watch response, event by event, in revision order.
    pub(super) fn apply(&self, response: &WatchResponse) {
        let mut assignments = self.lock();
        let mut changed = false;
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let key = match self.kind(kv) {
                Kind::Consumer(key) => key,
                Kind::Node(node) => {
                    let mut members = self.members_lock();
                    match event.event_type() {
                        EventType::Put => changed |= members.insert(node),
                        EventType::Delete => changed |= members.remove(&node),
                    }
                    continue;
                }
                Kind::Other => continue,
            };
            match event.event_type() {
                EventType::Put => changed |= self.put(&mut assignments, key, kv),
                EventType::Delete => {
                    let known = assignments.get(key).map(|held| held.id);
                    let removed = event.prev_kv().map(identity).or(known);
                    if let Some(assignment) = removed {
                        (self.listener)(&AssignmentEvent::Removed {
                            key: key.to_owned(),
                            assignment,
                        });
                        assignments.remove(key);
                    }
                }
            }
        }
        drop(assignments);
        if changed {
            self.changed.notify_one();
        }
    }

    /// A key written (listed or watched): a creation, a re-creation whose
    /// deletion was not seen, a re-placement, or an update the reaper does
    /// not care about. Returns whether it is now placed on a node that is
    /// not alive (an orphan for the failover).
    fn put(&self, assignments: &mut HashMap<String, Held>, key: &str, kv: &KeyValue) -> bool {
        let id = identity(kv);
        let decoded = spec::decode(kv.value());
        let placement = decoded.as_ref().ok().map(|spec| spec.placement);
        let orphaned = matches!(placement, Some(Placement::Node(node))
            if !self.members_lock().contains(&node));
        match assignments.get_mut(key) {
            Some(held) if held.id == id => {
                if held.placement == placement {
                    return false; // an update of other fields: same identity
                }
                held.placement = placement;
                if let Ok(spec) = decoded {
                    (self.listener)(&AssignmentEvent::Placed {
                        key: key.to_owned(),
                        assignment: id,
                        spec,
                    });
                }
                return orphaned;
            }
            Some(old) => {
                // Its deletion was not seen (a compacted gap).
                let old = old.id;
                (self.listener)(&AssignmentEvent::Removed {
                    key: key.to_owned(),
                    assignment: old,
                });
                assignments.remove(key);
            }
            None => {}
        }
        match decoded {
            Ok(spec) => (self.listener)(&AssignmentEvent::Created {
                key: key.to_owned(),
                assignment: id,
                spec,
            }),
            // Still an assignment the reaper must respect; no instance is made.
            Err(error) => tracing::warn!(consumer = key, assignment = %id, %error,
                "etcd metalayer: assignment value not understood"),
        }
        assignments.insert(key.to_owned(), Held { id, placement });
        orphaned
    }
}

/// An assignment's identity: the revision that created its key.
pub(super) fn identity(kv: &KeyValue) -> AssignmentId {
    AssignmentId::from_raft_index(u64::try_from(kv.create_revision()).unwrap_or(0))
}
