//! The in-memory raft log and state machine. The state is the consumer
//! assignments; an assignment's identity is the index of the log entry that
//! created it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};

use super::{Applied, Command, TypeConfig};
use crate::broker::AssignmentId;
use crate::node::{AssignmentEvent, ConsumerSpec, Listener, Placement};

type NodeId = u64;
type Membership = StoredMembership<NodeId, openraft::EmptyNode>;

/// The log: entries, vote and committed id, shared with its readers.
#[derive(Clone, Default)]
pub(super) struct LogStore {
    inner: Arc<Mutex<LogData>>,
}

#[derive(Default)]
struct LogData {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
}

impl LogStore {
    fn lock(&self) -> MutexGuard<'_, LogData> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let log = self.lock();
        let last = log.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: log.last_purged,
            last_log_id: last.or(log.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.lock().vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.lock().committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut log = self.lock();
            for entry in entries {
                log.entries.insert(entry.log_id.index, entry);
            }
        }
        // In memory: "flushed" as soon as it is stored.
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut log = self.lock();
        log.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut log = self.lock();
        log.entries = log.entries.split_off(&(log_id.index + 1));
        log.last_purged = Some(log_id);
        Ok(())
    }
}

/// One assignment as the state machine holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Assigned {
    assignment: AssignmentId,
    inactive_threshold_ms: u64,
}

impl Assigned {
    fn spec(self) -> ConsumerSpec {
        ConsumerSpec {
            inactive_threshold: Duration::from_millis(self.inactive_threshold_ms),
            placement: Placement::MetalayerLeader,
        }
    }
}

/// The state machine: the assignments, what it applied last, its snapshot.
/// Shared with the node's metalayer, which reads the assignments.
#[derive(Clone)]
pub(super) struct StateMachine {
    inner: Arc<Mutex<MachineData>>,
    listener: Listener,
}

#[derive(Default)]
struct MachineData {
    assignments: BTreeMap<String, Assigned>,
    last_applied: Option<LogId<NodeId>>,
    membership: Membership,
    snapshot: Option<StoredSnapshot>,
    snapshots_built: u64,
}

#[derive(Clone)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, openraft::EmptyNode>,
    data: Vec<u8>,
}

impl StateMachine {
    /// A state machine that reports every change it applies to `listener`.
    pub(super) fn new(listener: Listener) -> StateMachine {
        StateMachine {
            inner: Arc::default(),
            listener,
        }
    }

    fn lock(&self) -> MutexGuard<'_, MachineData> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity of `key`'s current assignment, as applied on this node.
    pub(super) fn assignment(&self, key: &str) -> Option<AssignmentId> {
        self.lock().assignments.get(key).map(|a| a.assignment)
    }

    /// Applies one command. The listener hears of a change before the
    /// assignments change, so a consumer's quit fires no later than its
    /// assignment disappears.
    fn apply_command(&self, data: &mut MachineData, index: u64, command: Command) -> Applied {
        match command {
            Command::Assign {
                key,
                inactive_threshold_ms,
            } => {
                if let Some(old) = data.assignments.get(&key) {
                    (self.listener)(&AssignmentEvent::Removed {
                        key: key.clone(),
                        assignment: old.assignment,
                    });
                }
                let assigned = Assigned {
                    assignment: AssignmentId::from_raft_index(index),
                    inactive_threshold_ms,
                };
                (self.listener)(&AssignmentEvent::Created {
                    key: key.clone(),
                    assignment: assigned.assignment,
                    spec: assigned.spec(),
                });
                data.assignments.insert(key, assigned);
                Applied::Assigned(assigned.assignment)
            }
            Command::Delete { key, assignment } => {
                let current = data.assignments.get(&key).map(|a| a.assignment);
                if current != Some(assignment) {
                    // Compare-and-delete: a late or duplicate proposal never
                    // deletes a re-created consumer.
                    return Applied::NotDeleted { current };
                }
                (self.listener)(&AssignmentEvent::Removed {
                    key: key.clone(),
                    assignment,
                });
                data.assignments.remove(&key);
                Applied::Deleted
            }
        }
    }

    /// Replaces the assignments with a snapshot's, telling the listener what
    /// disappeared and what appeared.
    fn replace_assignments(&self, data: &mut MachineData, new: BTreeMap<String, Assigned>) {
        for (key, old) in &data.assignments {
            if new.get(key) != Some(old) {
                (self.listener)(&AssignmentEvent::Removed {
                    key: key.clone(),
                    assignment: old.assignment,
                });
            }
        }
        for (key, assigned) in &new {
            if data.assignments.get(key) != Some(assigned) {
                (self.listener)(&AssignmentEvent::Created {
                    key: key.clone(),
                    assignment: assigned.assignment,
                    spec: assigned.spec(),
                });
            }
        }
        data.assignments = new;
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut data = self.lock();
        data.snapshots_built += 1;
        let last = data.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: data.membership.clone(),
            snapshot_id: format!("{}-{}", last.map_or(0, |l| l.index), data.snapshots_built),
        };
        let bytes = encode(&data.assignments);
        data.snapshot = Some(StoredSnapshot {
            meta: meta.clone(),
            data: bytes.clone(),
        });
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, Membership), StorageError<NodeId>> {
        let data = self.lock();
        Ok((data.last_applied, data.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut data = self.lock();
        let mut replies = Vec::new();
        for entry in entries {
            data.last_applied = Some(entry.log_id);
            let reply = match entry.payload {
                EntryPayload::Blank => Applied::Nothing,
                EntryPayload::Normal(command) => {
                    self.apply_command(&mut data, entry.log_id.index, command)
                }
                EntryPayload::Membership(membership) => {
                    data.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Applied::Nothing
                }
            };
            replies.push(reply);
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, openraft::EmptyNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let assignments = decode(&bytes).map_err(|error| StorageError::IO {
            source: StorageIOError::read_snapshot(Some(meta.signature()), AnyError::error(error)),
        })?;
        let mut data = self.lock();
        self.replace_assignments(&mut data, assignments);
        data.last_applied = meta.last_log_id;
        data.membership = meta.last_membership.clone();
        data.snapshot = Some(StoredSnapshot {
            meta: meta.clone(),
            data: bytes,
        });
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self.lock().snapshot.clone().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

/// Snapshot bytes: per assignment, the key's length (u32 LE), the key, the
/// creating index (u64 LE) and the threshold in ms (u64 LE).
fn encode(assignments: &BTreeMap<String, Assigned>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, assigned) in assignments {
        let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&key.as_bytes()[..len as usize]);
        out.extend_from_slice(&assigned.assignment.raft_index().to_le_bytes());
        out.extend_from_slice(&assigned.inactive_threshold_ms.to_le_bytes());
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<BTreeMap<String, Assigned>, String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err(format!(
                "snapshot truncated: {what} needs {n} bytes, {} left",
                bytes.len()
            ));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn u64_at(bytes: &mut &[u8], what: &str) -> Result<u64, String> {
        let raw = take(bytes, 8, what)?;
        Ok(u64::from_le_bytes(
            raw.try_into().map_err(|_| what.to_owned())?,
        ))
    }
    let mut assignments = BTreeMap::new();
    while !bytes.is_empty() {
        let raw_len = take(&mut bytes, 4, "a key length")?;
        let len = u32::from_le_bytes(raw_len.try_into().map_err(|_| "a key length")?);
        let key = take(&mut bytes, len as usize, "a key")?;
        let key = String::from_utf8(key.to_vec())
            .map_err(|e| format!("snapshot key is not UTF-8: {e}"))?;
        let index = u64_at(&mut bytes, "an assignment index")?;
        let inactive_threshold_ms = u64_at(&mut bytes, "a threshold")?;
        assignments.insert(
            key,
            Assigned {
                assignment: AssignmentId::from_raft_index(index),
                inactive_threshold_ms,
            },
        );
    }
    Ok(assignments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_bytes_round_trip() {
        let mut assignments = BTreeMap::new();
        for (i, key) in ["a", "ACC > ORDERS > ünïcode", ""].into_iter().enumerate() {
            assignments.insert(
                key.to_owned(),
                Assigned {
                    assignment: AssignmentId::from_raft_index(10 + i as u64),
                    inactive_threshold_ms: 1000 * i as u64,
                },
            );
        }
        assert_eq!(decode(&encode(&assignments)), Ok(assignments));
    }

    #[test]
    fn a_truncated_snapshot_is_an_error_not_a_panic() {
        let mut assignments = BTreeMap::new();
        assignments.insert(
            "key".to_owned(),
            Assigned {
                assignment: AssignmentId::from_raft_index(3),
                inactive_threshold_ms: 5,
            },
        );
        let bytes = encode(&assignments);
        for cut in 1..bytes.len() {
            let error = decode(&bytes[..cut]).expect_err("truncated");
            assert!(error.starts_with("snapshot truncated"), "{error}");
        }
    }
}
