//! A node's copy of the assignments under the prefix, kept current by a
//! watch, and whether it can be trusted (the metalayer's readiness).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use etcd_client::{EventType, KeyValue, WatchResponse};

use super::spec;
use crate::broker::AssignmentId;
use crate::node::{AssignmentEvent, Listener};

/// The assignments as last listed or watched, keyed by consumer key.
pub(super) struct View {
    prefix: String,
    assignments: Mutex<HashMap<String, AssignmentId>>,
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
            synced: AtomicBool::new(false),
            reachable: AtomicBool::new(false),
            listener,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, AssignmentId>> {
        self.assignments.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn is_ready(&self) -> bool {
        self.synced.load(Ordering::Acquire) && self.reachable.load(Ordering::Acquire)
    }

    pub(super) fn assignment(&self, key: &str) -> Option<AssignmentId> {
        self.lock().get(key).copied()
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

    /// The consumer key of an etcd key under the prefix.
    fn consumer_key<'a>(&self, kv: &'a KeyValue) -> Option<&'a str> {
        kv.key_str().ok()?.strip_prefix(self.prefix.as_str())
    }

    /// Replaces the whole view with a fresh listing, telling the listener
    /// what disappeared (first) and what appeared.
    pub(super) fn replace_all(&self, kvs: &[KeyValue]) {
        let fresh: HashMap<&str, &KeyValue> = kvs
            .iter()
            .filter_map(|kv| Some((self.consumer_key(kv)?, kv)))
            .collect();
        let mut assignments = self.lock();
        let gone: Vec<(String, AssignmentId)> = assignments
            .iter()
            .filter(|(key, id)| {
                fresh
                    .get(key.as_str())
                    .is_none_or(|kv| identity(kv) != **id)
            })
            .map(|(key, id)| (key.clone(), *id))
            .collect();
        for (key, assignment) in gone {
            (self.listener)(&AssignmentEvent::Removed {
                key: key.clone(),
                assignment,
            });
            assignments.remove(&key);
        }
        for (key, kv) in fresh {
            if assignments.get(key) != Some(&identity(kv)) {
                self.created(&mut assignments, key, kv);
            }
        }
    }

    /// Applies one watch response, event by event, in revision order.
    pub(super) fn apply(&self, response: &WatchResponse) {
        let mut assignments = self.lock();
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let Some(key) = self.consumer_key(kv) else {
                continue;
            };
            match event.event_type() {
                EventType::Put => {
                    let id = identity(kv);
                    match assignments.get(key).copied() {
                        Some(current) if current == id => {} // an update: same identity
                        Some(old) => {
                            // Its deletion was not seen (a compacted gap).
                            (self.listener)(&AssignmentEvent::Removed {
                                key: key.to_owned(),
                                assignment: old,
                            });
                            assignments.remove(key);
                            self.created(&mut assignments, key, kv);
                        }
                        None => self.created(&mut assignments, key, kv),
                    }
                }
                EventType::Delete => {
                    let known = assignments.get(key).copied();
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
    }

    fn created(&self, assignments: &mut HashMap<String, AssignmentId>, key: &str, kv: &KeyValue) {
        let assignment = identity(kv);
        match spec::decode(kv.value()) {
            Ok(spec) => (self.listener)(&AssignmentEvent::Created {
                key: key.to_owned(),
                assignment,
                spec,
            }),
            // Still an assignment the reaper must respect; no instance is made.
            Err(error) => tracing::warn!(consumer = key, %assignment, %error,
                "etcd metalayer: assignment value not understood"),
        }
        assignments.insert(key.to_owned(), assignment);
    }
}

/// An assignment's identity: the revision that created its key.
pub(super) fn identity(kv: &KeyValue) -> AssignmentId {
    AssignmentId::from_raft_index(u64::try_from(kv.create_revision()).unwrap_or(0))
}
