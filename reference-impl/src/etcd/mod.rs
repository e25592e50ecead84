//! The metalayer over an etcd v3 cluster (through `etcd-client`).
//!
//! - Assignments are keys under a prefix: `{prefix}{consumer key}`, whose
//!   value spells the consumer's configuration (see [`ConsumerSpec`] and
//!   [`EtcdMetalayer::create_consumer`]).
//! - An assignment's identity is its key's **create revision**: a consumer
//!   deleted and re-created under the same name gets a new one, and updating
//!   its value keeps it.
//! - A delete proposal is a transaction that deletes the key only if its
//!   create revision still matches (compare-and-delete).
//! - Every node lists the prefix and watches it from the listed revision;
//!   a watched deletion stops the node's instance (its quit fires), which is
//!   how a waiting delete learns of the commit.
//! - The node is ready while its watch runs over a fresh listing and a
//!   linearizable read (a quorum) answers in time; otherwise the reaper warns
//!   and re-arms, and reaps once etcd is back.
//!
//! etcd's own leader is not a broker node: consumers are placed on a node
//! (`leader=N` in the value), and only that node's reaper proposes. Each
//! node keeps a liveness key on a lease; when a node's lease dies, the next
//! live node re-places its consumers on itself, once, by a transaction on
//! the consumer's mod revision (see `failover`).

mod failover;
mod spec;
mod sync;
mod view;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, ConnectOptions, DeleteOptions, Txn, TxnOp};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use self::view::View;
use crate::broker::{AssignmentId, Metalayer, ProposeError};
use crate::config::Config;
use crate::node::{ConsumerSpec, Journal, Listener, Node};

/// Where and how to reach the etcd cluster.
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// Client URLs of the members, e.g. `http://10.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// The assignments live under this prefix (end it with `/`).
    pub prefix: String,
    /// User and password, if the cluster has authentication on.
    pub user: Option<(String, String)>,
    pub connect_timeout: Duration,
    /// Each request (listing, probe, transaction) gives up after this.
    pub request_timeout: Duration,
    /// How often a node checks that a quorum answers.
    pub probe_interval: Duration,
    /// Wait before listing and watching again after the watch broke; it
    /// doubles after each failed attempt up to `max_retry_interval`, and every
    /// failure is logged with its cause.
    pub retry_interval: Duration,
    pub max_retry_interval: Duration,
    /// Keys per page of the listing (one range request per page, all at the
    /// revision of the first): one response must stay below the gRPC
    /// client's 4 MiB decoding limit, which an unpaginated listing passes at
    /// about 28,000 assignments.
    pub list_page_size: i64,
    /// A broker node's liveness lease (an [`EtcdNode`]'s; a bare
    /// [`EtcdMetalayer::connect`] holds none): renewed every third of it.
    /// Once a node's lease has expired, its consumers are re-placed on the
    /// next live node, whose reaper reaps them. A node also waits this long
    /// after it starts watching before it takes over anything.
    pub lease_ttl: Duration,
}

impl EtcdOptions {
    pub fn new(endpoints: Vec<String>, prefix: impl Into<String>) -> EtcdOptions {
        EtcdOptions {
            endpoints,
            prefix: prefix.into(),
            user: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            probe_interval: Duration::from_millis(250),
            retry_interval: Duration::from_millis(250),
            max_retry_interval: Duration::from_secs(10),
            list_page_size: 1000,
            lease_ttl: Duration::from_secs(10),
        }
    }

    fn connect_options(&self) -> ConnectOptions {
        let options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.request_timeout)
            // Watches are canceled when their member loses the leader.
            .with_require_leader(true);
        match &self.user {
            // Authentication tokens expire: refresh them instead of failing.
            Some((user, password)) => options
                .with_user(user.clone(), password.clone())
                .with_auto_token_refresh(true),
            None => options,
        }
    }
}

/// What went wrong talking to etcd.
#[derive(Debug)]
pub enum EtcdError {
    Client(etcd_client::Error),
    TimedOut {
        what: &'static str,
        after: Duration,
    },
    /// `create_consumer`: the key already exists.
    AlreadyExists {
        key: String,
    },
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtcdError::Client(error) => write!(f, "etcd: {error}"),
            EtcdError::TimedOut { what, after } => {
                write!(f, "etcd: {what} timed out after {after:?}")
            }
            EtcdError::AlreadyExists { key } => write!(f, "etcd: consumer {key} already exists"),
        }
    }
}

impl std::error::Error for EtcdError {}

impl From<etcd_client::Error> for EtcdError {
    fn from(error: etcd_client::Error) -> EtcdError {
        EtcdError::Client(error)
    }
}

/// The metalayer as one broker node sees it through etcd.
pub struct EtcdMetalayer {
    client: Client,
    options: EtcdOptions,
    view: Arc<View>,
    stop: CancellationToken,
    /// The watch and probe loops.
    background: Mutex<JoinSet<()>>,
    /// Delete transactions in flight (each bounded by the request timeout).
    proposals: Mutex<JoinSet<()>>,
}

impl EtcdMetalayer {
    /// Connects and starts listing and watching the prefix in the background
    /// (etcd need not be up yet: the metalayer is not ready until it is);
    /// `listener` hears every change, in revision order.
    pub async fn connect(
        options: EtcdOptions,
        listener: Listener,
    ) -> Result<EtcdMetalayer, EtcdError> {
        EtcdMetalayer::connect_as(options, listener, None).await
    }

    /// Like [`connect`](EtcdMetalayer::connect), as broker node `node`: it
    /// also keeps the node's liveness key on a lease of `lease_ttl`, and
    /// re-places on itself the consumers of a dead node it succeeds.
    pub async fn connect_node(
        node: usize,
        options: EtcdOptions,
        listener: Listener,
    ) -> Result<EtcdMetalayer, EtcdError> {
        EtcdMetalayer::connect_as(options, listener, Some(node)).await
    }

    async fn connect_as(
        options: EtcdOptions,
        listener: Listener,
        node: Option<usize>,
    ) -> Result<EtcdMetalayer, EtcdError> {
        let client = Client::connect(&options.endpoints, Some(options.connect_options())).await?;
        let view = Arc::new(View::new(options.prefix.clone(), listener));
        let stop = CancellationToken::new();
        let mut background = JoinSet::new();
        background.spawn(sync::keep_in_sync(
            client.clone(),
            sync::Sync {
                prefix: options.prefix.clone(),
                request_timeout: options.request_timeout,
                retry_interval: options.retry_interval,
                max_retry_interval: options.max_retry_interval.max(options.retry_interval),
                page_size: options.list_page_size.max(1),
            },
            view.clone(),
            stop.clone(),
        ));
        background.spawn(sync::probe_quorum(
            client.clone(),
            options.prefix.clone(),
            view.clone(),
            options.probe_interval,
            options.request_timeout,
            stop.clone(),
        ));
        if let Some(node) = node {
            background.spawn(failover::stay_alive(
                client.clone(),
                options.prefix.clone(),
                node,
                options.lease_ttl,
                options.request_timeout,
                stop.clone(),
            ));
            background.spawn(failover::fail_over(
                client.clone(),
                options.prefix.clone(),
                node,
                view.clone(),
                options.lease_ttl,
                options.request_timeout,
                stop.clone(),
            ));
        }
        Ok(EtcdMetalayer {
            client,
            options,
            view,
            stop,
            background: Mutex::new(background),
            proposals: Mutex::new(JoinSet::new()),
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.options.prefix)
    }

    fn proposals(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.proposals.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        request: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, EtcdError> {
        let after = self.options.request_timeout;
        timeout(after, request)
            .await
            .map_err(|_| EtcdError::TimedOut { what, after })?
            .map_err(EtcdError::from)
    }

    /// Creates consumer `key` if no assignment holds the name; returns its
    /// identity (the create revision).
    pub async fn create_consumer(
        &self,
        key: &str,
        spec: ConsumerSpec,
    ) -> Result<AssignmentId, EtcdError> {
        let full = self.full_key(key);
        let txn = Txn::new()
            .when([Compare::create_revision(full.as_str(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(full.as_str(), spec::encode(&spec), None)]);
        let reply = self.bounded("create", self.client.clone().txn(txn)).await?;
        if !reply.succeeded() {
            return Err(EtcdError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        let revision = reply.header().map_or(0, |h| h.revision());
        Ok(AssignmentId::from_raft_index(
            u64::try_from(revision).unwrap_or(0),
        ))
    }

    /// Deletes consumer `key` if its assignment is still `assignment`;
    /// returns whether it did. The reaper's proposals are this transaction.
    pub async fn delete_consumer(
        &self,
        key: &str,
        assignment: AssignmentId,
    ) -> Result<bool, EtcdError> {
        let txn = compare_and_delete(&self.full_key(key), assignment);
        let reply = self.bounded("delete", self.client.clone().txn(txn)).await?;
        Ok(reply.succeeded())
    }

    /// `key`'s assignment as etcd holds it now (a linearizable read).
    pub async fn fetch_assignment(&self, key: &str) -> Result<Option<AssignmentId>, EtcdError> {
        let reply = self
            .bounded("read", self.client.clone().get(self.full_key(key), None))
            .await?;
        Ok(reply.kvs().first().map(view::identity))
    }

    /// Deletes every key under the prefix (tests and demos clean up with it).
    pub async fn delete_all(&self) -> Result<(), EtcdError> {
        let all = DeleteOptions::new().with_prefix();
        self.bounded(
            "delete all",
            self.client
                .clone()
                .delete(self.options.prefix.as_str(), Some(all)),
        )
        .await
        .map(drop)
    }

    /// The broker nodes whose liveness lease is alive, as this view last saw.
    pub fn live_nodes(&self) -> std::collections::BTreeSet<usize> {
        self.view.members()
    }

    /// The prefix the assignments live under.
    pub fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The client, for what this type does not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Stops the watch and probe loops and waits for them; abandons the
    /// transactions in flight.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.proposals().abort_all();
        let mut background =
            std::mem::take(&mut *self.background.lock().unwrap_or_else(|e| e.into_inner()));
        while let Some(ended) = background.join_next().await {
            if let Err(error) = ended {
                tracing::error!(%error, "etcd metalayer task ended abnormally");
            }
        }
    }
}

fn compare_and_delete(full_key: &str, assignment: AssignmentId) -> Txn {
    let revision = i64::try_from(assignment.raft_index()).unwrap_or(i64::MAX);
    Txn::new()
        .when([Compare::create_revision(
            full_key,
            CompareOp::Equal,
            revision,
        )])
        .and_then([TxnOp::delete(full_key, None)])
}

impl Drop for EtcdMetalayer {
    /// Dropped without `shutdown`: the loops still stop (not awaited).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Metalayer<String> for EtcdMetalayer {
    fn is_clustered(&self) -> bool {
        true
    }

    fn is_ready(&self) -> bool {
        self.view.is_ready()
    }

    fn assignment(&self, key: &String) -> Option<AssignmentId> {
        self.view.assignment(key)
    }

    fn forward_delete_proposal(
        &self,
        key: &String,
        assignment: AssignmentId,
    ) -> Result<(), ProposeError> {
        let txn = compare_and_delete(&self.full_key(key), assignment);
        let mut client = self.client.clone();
        let (key, after) = (key.clone(), self.options.request_timeout);
        let mut proposals = self.proposals();
        while proposals.try_join_next().is_some() {}
        proposals.spawn(async move {
            match timeout(after, client.txn(txn)).await {
                Ok(Ok(reply)) => tracing::debug!(consumer = %key, %assignment,
                    deleted = reply.succeeded(), "etcd: delete transaction committed"),
                Ok(Err(error)) => tracing::debug!(consumer = %key, %assignment, %error,
                    "etcd: delete transaction failed"),
                Err(_) => tracing::debug!(consumer = %key, %assignment, ?after,
                    "etcd: delete transaction timed out"),
            }
        });
        Ok(())
    }
}

/// A broker node over etcd: its own connection (watch, probe) and its reaper.
pub struct EtcdNode {
    pub node: Arc<Node<EtcdMetalayer>>,
    pub metalayer: Arc<EtcdMetalayer>,
}

impl EtcdNode {
    /// Connects node `index` and starts its reaper on `reaper`.
    pub async fn start(
        index: usize,
        journal: Journal,
        options: EtcdOptions,
        reaper: Config,
    ) -> Result<EtcdNode, EtcdError> {
        let node = Node::new(index, journal);
        let metalayer =
            Arc::new(EtcdMetalayer::connect_node(index, options, node.listener()).await?);
        node.start(metalayer.clone(), reaper);
        Ok(EtcdNode { node, metalayer })
    }

    /// Like [`start`](EtcdNode::start), with deliberate bugs in the reaper
    /// (tests only: `fault-injection`), to show a check fails.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub async fn start_with_faults(
        index: usize,
        journal: Journal,
        options: EtcdOptions,
        reaper: Config,
        faults: crate::faults::ReaperFaults,
    ) -> Result<EtcdNode, EtcdError> {
        let node = Node::new(index, journal);
        let metalayer =
            Arc::new(EtcdMetalayer::connect_node(index, options, node.listener()).await?);
        node.start_with_faults(metalayer.clone(), reaper, faults);
        Ok(EtcdNode { node, metalayer })
    }

    /// Shuts the reaper down (waiting for it), then the connection's loops.
    pub async fn shut_down(&self) {
        self.node.shut_down().await;
        self.metalayer.shutdown().await;
    }
}
