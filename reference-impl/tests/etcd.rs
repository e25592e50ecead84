//! The etcd metalayer against a real 3-member etcd cluster: the conformance
//! suite, then a delete transaction in flight when the etcd leader dies.
//!
//! The cluster comes from `scripts/etcd-cluster.sh` (CI runs this test
//! through `etcd-cluster.sh run`), which sets:
//! - `QUORUM_REAPER_ETCD_ENDPOINTS`: the members' client URLs, comma-separated;
//! - `QUORUM_REAPER_ETCD_CLUSTER`: its directory, so the tests can kill and
//!   restart members with the same script.
//!
//! Without those variables (a plain `cargo test`) these tests say so on
//! stderr and pass, except with `CI=true`. Once the endpoints are set, a
//! cluster that does not answer is a failure, never a skip: whoever set
//! them meant the tests to run.
//!
//! ```sh
//! reference-impl/scripts/etcd-cluster.sh run cargo test -p quorum-reaper --features etcd --test etcd
//! ```
//!
//! The tests share the cluster and take turns (one at a time), each under a
//! prefix of its own that it deletes at the end.

mod conformance;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use conformance::{Backend, Record, Run};
use quorum_reaper::etcd::{EtcdMetalayer, EtcdNode, EtcdOptions};
use quorum_reaper::node::{ConsumerSpec, Journal, Placement};
use quorum_reaper::{AssignmentId, Config, Metalayer, ReaperFaults};
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::{sleep, Instant};

const NODES: usize = 3;
/// Which broker node leads every consumer of these tests.
const LEADER: usize = 0;
/// How long etcd may take to notice a member gone or elect a leader.
const SETTLE: Duration = Duration::from_secs(20);

/// The tests take turns on the one cluster.
static TURN: Mutex<()> = Mutex::const_new(());

/// The etcd cluster the environment names, if it answers.
struct Cluster {
    endpoints: Vec<String>,
    dir: PathBuf,
}

impl Cluster {
    /// Reads the environment and checks that etcd answers; `None` (with a
    /// note on stderr) only when no cluster was given and this is not CI.
    async fn find() -> Option<Cluster> {
        let endpoints = std::env::var("QUORUM_REAPER_ETCD_ENDPOINTS").unwrap_or_default();
        let dir = std::env::var("QUORUM_REAPER_ETCD_CLUSTER").unwrap_or_default();
        if endpoints.is_empty() && dir.is_empty() {
            return unavailable(
                "QUORUM_REAPER_ETCD_ENDPOINTS and QUORUM_REAPER_ETCD_CLUSTER are not set",
            );
        }
        if endpoints.is_empty() || dir.is_empty() {
            panic!(
                "QUORUM_REAPER_ETCD_ENDPOINTS={endpoints:?} and QUORUM_REAPER_ETCD_CLUSTER={dir:?}: \
                 the etcd tests need both (reference-impl/scripts/etcd-cluster.sh run sets them)"
            );
        }
        let cluster = Cluster {
            endpoints: endpoints.split(',').map(str::to_owned).collect(),
            dir: PathBuf::from(dir),
        };
        // A member left down by an earlier test that failed midway.
        if let Err(why) = cluster.script(&["heal"]) {
            panic!("the etcd cluster at {endpoints} cannot be healed: {why}");
        }
        let probe = EtcdMetalayer::connect(
            EtcdOptions::new(cluster.endpoints.clone(), "/quorum-reaper-probe/"),
            std::sync::Arc::new(|_: &_| {}),
        )
        .await;
        let answer = match probe {
            Ok(probe) => {
                let answer = probe.fetch_assignment("x").await.map(drop);
                probe.shutdown().await;
                answer.map_err(|e| e.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        match answer {
            Ok(()) => Some(cluster),
            Err(why) => panic!(
                "QUORUM_REAPER_ETCD_ENDPOINTS is set, so the etcd tests must run, but etcd at {endpoints} does not answer: {why}"
            ),
        }
    }

    /// Runs `etcd-cluster.sh COMMAND DIR ARGS...`.
    fn script(&self, args: &[&str]) -> Result<(), String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/etcd-cluster.sh");
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..]);
        let output = command
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "etcd-cluster.sh {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// No cluster was given: skips (outside CI) or fails (in CI).
fn unavailable<T>(why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true, so the etcd tests must run, but: {why}");
    }
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        // Straight to stderr: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the etcd tests need a running etcd cluster ({why}); \
             run them with reference-impl/scripts/etcd-cluster.sh run cargo test -p quorum-reaper --features etcd --test etcd"
        );
    });
    None
}

/// A prefix no other test or run uses.
fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "/quorum-reaper-tests/{}-{nanos}-{}/",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Three broker nodes with their own etcd connections, and one more
/// connection to create consumers and read etcd directly.
struct Etcd {
    cluster: Cluster,
    journal: Journal,
    nodes: Vec<EtcdNode>,
    admin: EtcdMetalayer,
    _turn: MutexGuard<'static, ()>,
}

impl Etcd {
    fn node_metalayers(&self) -> impl Iterator<Item = &EtcdMetalayer> {
        self.nodes.iter().map(|n| n.metalayer.as_ref())
    }

    async fn wait_until_every_node(&self, ready: bool) {
        let deadline = Instant::now() + SETTLE;
        while self.node_metalayers().any(|m| m.is_ready() != ready) {
            assert!(
                Instant::now() < deadline,
                "nodes not {} within {SETTLE:?}",
                if ready { "ready" } else { "unready" }
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The name of the member etcd's leader runs as.
    async fn leader_name(&self) -> String {
        let deadline = Instant::now() + SETTLE;
        loop {
            let mut client = self.admin.client().clone();
            if let (Ok(status), Ok(members)) = (client.status().await, client.member_list().await) {
                let leader = status.leader();
                if let Some(member) = members.members().iter().find(|m| m.id() == leader) {
                    return member.name().to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no etcd leader within {SETTLE:?}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    async fn kill_member(&self, name: &str) {
        self.cluster
            .script(&["kill", name])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn heal(&self) {
        self.cluster
            .script(&["heal"])
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Backend for Etcd {
    async fn start(config: Config, faults: ReaperFaults) -> Option<Etcd> {
        let turn = TURN.lock().await;
        let cluster = Cluster::find().await?;
        let options = EtcdOptions {
            request_timeout: Duration::from_secs(1),
            ..EtcdOptions::new(cluster.endpoints.clone(), unique_prefix())
        };
        let journal = Journal::new();
        let mut nodes = Vec::new();
        for index in 0..NODES {
            let node = EtcdNode::start_with_faults(
                index,
                journal.clone(),
                options.clone(),
                config.clone(),
                faults,
            )
            .await
            .expect("connects");
            nodes.push(node);
        }
        let admin = EtcdMetalayer::connect(options, std::sync::Arc::new(|_: &_| {}))
            .await
            .expect("connects");
        let etcd = Etcd {
            cluster,
            journal,
            nodes,
            admin,
            _turn: turn,
        };
        etcd.wait_until_every_node(true).await;
        Some(etcd)
    }

    async fn create(&self, key: &str, threshold: Duration) -> AssignmentId {
        let spec = ConsumerSpec {
            inactive_threshold: threshold,
            placement: Placement::Node(LEADER),
        };
        if let Some(old) = self.admin.fetch_assignment(key).await.expect("reads") {
            assert!(self.admin.delete_consumer(key, old).await.expect("deletes"));
        }
        self.admin
            .create_consumer(key, spec)
            .await
            .expect("creates")
    }

    fn touch(&self, key: &str) {
        self.nodes[LEADER].node.touch(key);
    }

    async fn assignment(&self, key: &str) -> Option<AssignmentId> {
        let deadline = Instant::now() + SETTLE;
        loop {
            match self.admin.fetch_assignment(key).await {
                Ok(assignment) => return assignment,
                Err(error) => assert!(Instant::now() < deadline, "etcd does not answer: {error}"),
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    fn instance(&self, key: &str, node: usize) -> Option<(AssignmentId, bool)> {
        let instance = self.nodes[node].node.instance(key)?;
        Some((instance.assignment_id(), instance.is_open()))
    }

    fn live_nodes(&self) -> Vec<usize> {
        (0..NODES).collect()
    }

    async fn set_available(&self, available: bool) {
        if available {
            self.heal().await;
        } else {
            // Two of three members gone: no quorum.
            self.kill_member("m1").await;
            self.kill_member("m2").await;
        }
        self.wait_until_every_node(available).await;
    }

    async fn hold_proposals(&self) {
        for node in &self.nodes {
            node.node.hold_proposals();
        }
    }

    async fn release_proposals(&self) {
        for node in &self.nodes {
            node.node.release_proposals();
        }
    }

    async fn fail_metalayer_leader(&self) {
        let leader = self.leader_name().await;
        self.kill_member(&leader).await;
    }

    async fn shut_down_node(&self, node: usize) {
        self.nodes[node].node.shut_down().await;
    }

    fn records(&self) -> Vec<(Instant, Record)> {
        conformance::journal_records(&self.journal)
    }

    fn violations(&self) -> Vec<String> {
        Vec::new()
    }

    async fn shutdown(&self) -> usize {
        for node in &self.nodes {
            node.shut_down().await;
        }
        // Leave the cluster whole and clean for the next test.
        self.heal().await;
        // A connection that failed while a member was down reports that
        // failure once more: retry.
        let deadline = Instant::now() + SETTLE;
        while let Err(error) = self.admin.delete_all().await {
            assert!(Instant::now() < deadline, "cannot clean up: {error}");
            sleep(Duration::from_millis(50)).await;
        }
        self.admin.shutdown().await;
        self.nodes
            .iter()
            .map(|n| n.node.instances_held_elsewhere())
            .sum()
    }
}

conformance_suite!(Etcd);

/// The assignment's identity is its key's create revision, and updating the
/// value keeps it.
#[tokio::test]
async fn identity_is_the_create_revision() {
    let Some(run) = Run::<Etcd>::start().await else {
        return;
    };
    let spec = ConsumerSpec {
        inactive_threshold: Duration::from_secs(3600),
        placement: Placement::Node(LEADER),
    };
    let admin = &run.backend.admin;
    let id = admin.create_consumer("c", spec).await.expect("creates");
    let full_key = format!("{}c", admin.prefix());
    let mut client = admin.client().clone();
    let kv = client.get(full_key.as_str(), None).await.expect("reads");
    let created = kv.kvs()[0].create_revision();
    assert_eq!(id, AssignmentId::from_raft_index(created as u64));
    // Same name again: refused while it exists.
    assert!(admin.create_consumer("c", spec).await.is_err());
    // An update of the value is not a re-creation.
    client
        .put(
            full_key.as_str(),
            "inactive_threshold_ms=3600000;leader=0",
            None,
        )
        .await
        .expect("updates");
    assert_eq!(admin.fetch_assignment("c").await.expect("reads"), Some(id));
    // A stale identity deletes nothing.
    let stale = AssignmentId::from_raft_index(created as u64 - 1);
    assert!(!admin.delete_consumer("c", stale).await.expect("answers"));
    assert!(admin.delete_consumer("c", id).await.expect("answers"));
    run.finish().await;
}

/// The etcd leader dies right after the reaper sent its delete transaction
/// (nothing held back: the transaction is on the wire or just applied). Either
/// it committed, or the reaper proposes again once a new leader is elected;
/// the consumer ends up reaped, by the metalayer, everywhere.
#[tokio::test]
async fn etcd_leader_killed_while_the_delete_transaction_is_in_flight() {
    let Some(mut run) = Run::<Etcd>::start().await else {
        return;
    };
    let c = run.create("c").await;
    run.eventually("the delete is proposed", || {
        std::future::ready(run.proposed("c", c))
    })
    .await;
    run.backend.fail_metalayer_leader().await;
    run.eventually("the consumer is reaped", || run.is_gone("c", c))
        .await;
    assert!(run.removals("c", c) >= NODES, "every node saw the removal");
    assert_eq!(run.local_deletes("c"), 0, "deleted locally");
    run.finish().await;
}

/// With no etcd answering (nothing listens on the port), a node still starts:
/// its metalayer is simply not ready, so its reaper warns and re-arms.
/// Needs no etcd, so it runs everywhere.
#[tokio::test]
async fn without_etcd_a_node_starts_but_is_not_ready() {
    let options = EtcdOptions {
        connect_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_millis(200),
        ..EtcdOptions::new(vec!["http://127.0.0.1:9".to_owned()], unique_prefix())
    };
    let metalayer = EtcdMetalayer::connect(options, std::sync::Arc::new(|_: &_| {}))
        .await
        .expect("connecting does not need etcd up");
    sleep(Duration::from_secs(1)).await;
    assert!(!metalayer.is_ready());
    assert_eq!(metalayer.assignment(&"c".to_owned()), None);
    assert!(metalayer.fetch_assignment("c").await.is_err());
    metalayer.shutdown().await;
}

/// Issue 12, item 2: 100,000 assignments make a listing of over 20 MB, far
/// past the gRPC client's 4 MiB decoding limit that an unpaginated listing
/// hit at about 28,000 (the node then never became ready: with one page of
/// everything this test fails, 0 listed after 20 s). Paged (1,000 keys a
/// page, all at one revision), the node lists them all and is ready.
#[tokio::test]
async fn a_listing_past_the_grpc_limit_is_paged() {
    const ASSIGNMENTS: usize = 100_000;
    let _turn = TURN.lock().await;
    let Some(cluster) = Cluster::find().await else {
        return;
    };
    let options = EtcdOptions::new(cluster.endpoints.clone(), unique_prefix());
    let admin = EtcdMetalayer::connect(options.clone(), std::sync::Arc::new(|_: &_| {}))
        .await
        .expect("connects");
    let mut client = admin.client().clone();
    // Fields other than the two the backend reads are the broker's own (and
    // ignored): here they make each value a realistic size.
    let value = format!(
        "inactive_threshold_ms=3600000;leader={LEADER};note={}",
        "x".repeat(100)
    );
    let keys: Vec<String> = (0..ASSIGNMENTS)
        .map(|i| format!("{}ACC > ORDERS > c{i:06}", options.prefix))
        .collect();
    for batch in keys.chunks(100) {
        let puts: Vec<etcd_client::TxnOp> = batch
            .iter()
            .map(|key| etcd_client::TxnOp::put(key.as_str(), value.as_str(), None))
            .collect();
        client
            .txn(etcd_client::Txn::new().and_then(puts))
            .await
            .expect("writes a batch");
    }
    let created = std::sync::Arc::new(AtomicU64::new(0));
    let count = created.clone();
    let listener: quorum_reaper::node::Listener = std::sync::Arc::new(move |event: &_| {
        if matches!(event, quorum_reaper::node::AssignmentEvent::Created { .. }) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let began = Instant::now();
    let node = EtcdMetalayer::connect(options.clone(), listener)
        .await
        .expect("connects");
    while !node.is_ready() {
        assert!(
            began.elapsed() < SETTLE,
            "not ready after {SETTLE:?} with {ASSIGNMENTS} assignments ({} listed)",
            created.load(Ordering::Relaxed)
        );
        sleep(Duration::from_millis(20)).await;
    }
    let ready_in = began.elapsed();
    assert_eq!(created.load(Ordering::Relaxed), ASSIGNMENTS as u64);
    let last = format!("ACC > ORDERS > c{:06}", ASSIGNMENTS - 1);
    assert!(node.assignment(&last).is_some(), "the last page was listed");
    let _ = writeln!(
        std::io::stderr(),
        "{ASSIGNMENTS} assignments listed and watched in {ready_in:?}"
    );
    node.shutdown().await;
    admin.delete_all().await.expect("cleans up");
    admin.shutdown().await;
}

/// Issue 12, item 2: a node that cannot list (no etcd) says why at every
/// failed attempt — not only when readiness changes, which it never did from
/// its initial "not ready" — and waits twice as long before each retry.
/// Needs no etcd.
#[tokio::test]
async fn a_failing_listing_is_logged_with_its_cause_and_backs_off() {
    let (logs, _guard) = support::Capture::install_up_to(tracing::Level::WARN, false);
    let options = EtcdOptions {
        connect_timeout: Duration::from_millis(100),
        request_timeout: Duration::from_millis(100),
        retry_interval: Duration::from_millis(100),
        max_retry_interval: Duration::from_millis(400),
        ..EtcdOptions::new(vec!["http://127.0.0.1:9".to_owned()], unique_prefix())
    };
    let metalayer = EtcdMetalayer::connect(options, std::sync::Arc::new(|_: &_| {}))
        .await
        .expect("connecting does not need etcd up");
    sleep(Duration::from_secs(3)).await;
    metalayer.shutdown().await;
    let failures: Vec<support::Logged> = logs
        .at(tracing::Level::WARN)
        .into_iter()
        .filter(|e| e.message.contains("could not list and watch"))
        .collect();
    assert!(failures.len() >= 3, "{:?}", logs.events());
    assert!(
        failures
            .iter()
            .all(|e| e.field("why").is_some_and(|w| w.contains("listing"))),
        "{failures:?}"
    );
    let waits: Vec<&str> = failures
        .iter()
        .filter_map(|e| e.field("retry_in"))
        .collect();
    assert_eq!(waits[..3], ["100ms", "200ms", "400ms"], "{failures:?}");
    assert!(
        waits[3..].iter().all(|w| *w == "400ms"),
        "capped: {waits:?}"
    );
}
