//! The in-process network between raft nodes, with faults on demand: a node
//! killed, links cut (partitions), a node's log replication stalled.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{EmptyNode, Raft};

use super::TypeConfig;

type NodeId = u64;

/// Who can reach whom. Every message looks its target up here at send time.
#[derive(Default)]
pub(super) struct Router {
    state: Mutex<Links>,
}

#[derive(Default)]
struct Links {
    nodes: BTreeMap<NodeId, Raft<TypeConfig>>,
    /// Cut links, both directions stored.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Nodes whose log entries do not reach anyone (heartbeats still do).
    stalled: BTreeSet<NodeId>,
    /// `(from, to)`: `from`'s log entries do reach `to` (which appends
    /// them), but `to`'s answers are lost on the way back.
    unacknowledged: BTreeSet<(NodeId, NodeId)>,
}

/// Why a message did not get through.
#[derive(Debug)]
struct Severed {
    from: NodeId,
    to: NodeId,
    why: &'static str,
}

impl fmt::Display for Severed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} cannot reach node {}: {}",
            self.from, self.to, self.why
        )
    }
}

impl std::error::Error for Severed {}

impl Router {
    fn lock(&self) -> MutexGuard<'_, Links> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn add(&self, id: NodeId, raft: Raft<TypeConfig>) {
        self.lock().nodes.insert(id, raft);
    }

    /// The node is gone: nothing reaches it any more.
    pub(super) fn remove(&self, id: NodeId) {
        self.lock().nodes.remove(&id);
    }

    /// Cuts every link between `id` and the other nodes.
    pub(super) fn isolate(&self, id: NodeId) {
        let mut links = self.lock();
        let others: Vec<NodeId> = links.nodes.keys().copied().filter(|&n| n != id).collect();
        for other in others {
            links.cut.insert((id, other));
            links.cut.insert((other, id));
        }
    }

    /// Cuts every link: no node can reach a quorum.
    pub(super) fn isolate_all(&self) {
        let ids: Vec<NodeId> = self.lock().nodes.keys().copied().collect();
        for id in ids {
            self.isolate(id);
        }
    }

    /// `id`'s new log entries reach no one (its heartbeats still do), so
    /// whatever it appends stays uncommitted.
    pub(super) fn stall(&self, id: NodeId) {
        self.lock().stalled.insert(id);
    }

    /// `from`'s new log entries reach `to` alone, and `to`'s answers to
    /// them are lost: `to` appends what `from` proposes while `from` never
    /// learns it, so on three nodes an entry sits on a majority without its
    /// leader knowing it committed (heartbeats still get through).
    pub(super) fn replicate_unacknowledged(&self, from: NodeId, to: NodeId) {
        let mut links = self.lock();
        links.stalled.insert(from);
        links.unacknowledged.insert((from, to));
    }

    /// Restores every link and un-stalls every node.
    pub(super) fn heal(&self) {
        let mut links = self.lock();
        links.cut.clear();
        links.stalled.clear();
        links.unacknowledged.clear();
    }

    /// Whether `to`'s answers to `from`'s entries are lost.
    fn loses_answers(&self, from: NodeId, to: NodeId) -> bool {
        self.lock().unacknowledged.contains(&(from, to))
    }

    fn target(
        &self,
        from: NodeId,
        to: NodeId,
        carries_entries: bool,
    ) -> Result<Raft<TypeConfig>, Severed> {
        let links = self.lock();
        let severed = |why| Severed { from, to, why };
        if links.cut.contains(&(from, to)) {
            return Err(severed("the link is cut"));
        }
        if carries_entries
            && links.stalled.contains(&from)
            && !links.unacknowledged.contains(&(from, to))
        {
            return Err(severed("its log replication is stalled"));
        }
        if !links.nodes.contains_key(&from) {
            return Err(severed("the sender is down"));
        }
        links
            .nodes
            .get(&to)
            .cloned()
            .ok_or_else(|| severed("the target is down"))
    }
}

/// Makes one node's connections.
pub(super) struct Network {
    pub(super) from: NodeId,
    pub(super) router: Arc<Router>,
    /// Wait before retrying an unreachable node.
    pub(super) backoff: Duration,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, _node: &EmptyNode) -> Connection {
        Connection {
            from: self.from,
            to: target,
            router: self.router.clone(),
            backoff: self.backoff,
        }
    }
}

/// One node's connection to another.
pub(super) struct Connection {
    from: NodeId,
    to: NodeId,
    router: Arc<Router>,
    backoff: Duration,
}

fn unreachable<E: std::error::Error>(severed: Severed) -> RPCError<NodeId, EmptyNode, E> {
    RPCError::Unreachable(Unreachable::new(&severed))
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, EmptyNode, RaftError<NodeId>>> {
        let carries_entries = !rpc.entries.is_empty();
        let target = self
            .router
            .target(self.from, self.to, carries_entries)
            .map_err(unreachable)?;
        let answer = target
            .append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))?;
        if carries_entries && self.router.loses_answers(self.from, self.to) {
            return Err(unreachable(Severed {
                from: self.to,
                to: self.from,
                why: "the answer was lost",
            }));
        }
        Ok(answer)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, EmptyNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let target = self
            .router
            .target(self.from, self.to, true)
            .map_err(unreachable)?;
        target
            .install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, EmptyNode, RaftError<NodeId>>> {
        let target = self
            .router
            .target(self.from, self.to, false)
            .map_err(unreachable)?;
        target
            .vote(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.to, e)))
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.backoff))
    }
}
