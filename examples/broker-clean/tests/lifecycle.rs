//! The clean broker's reaper, end to end against an in-memory metalayer.

use std::sync::{Arc, Mutex};

use broker_clean::cluster::{ClusterHandle, Metalayer, Proposal};
use broker_clean::reaper::Reaper;
use broker_clean::registry::{Consumer, ConsumerRegistry};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout, Duration};

const PATIENCE: Duration = Duration::from_secs(5);

struct Broker {
    registry: Arc<ConsumerRegistry>,
    cluster: Arc<ClusterHandle>,
    reaper: Arc<Reaper>,
    _shutdown: watch::Sender<bool>,
}

fn broker(observer: mpsc::Sender<String>) -> Broker {
    let registry = Arc::new(ConsumerRegistry::default());
    let cluster = Arc::new(ClusterHandle::default());
    let (shutdown_tx, shutdown) = watch::channel(false);
    let reaper = Arc::new(Reaper {
        registry: Arc::clone(&registry),
        cluster: Some(Arc::clone(&cluster)),
        shutdown,
        threshold: Duration::from_millis(20),
        retry_start: Duration::from_millis(20),
        retry_max: Duration::from_millis(80),
        deletes_inflight: Default::default(),
        observers: Mutex::new(vec![observer]),
        checks: Default::default(),
    });
    Broker {
        registry,
        cluster,
        reaper,
        _shutdown: shutdown_tx,
    }
}

/// Joins the meta group: returns the metalayer and its proposal queue.
fn join(broker: &Broker) -> (Arc<Metalayer>, mpsc::Receiver<Proposal>) {
    let (proposals, queue) = mpsc::channel(16);
    let meta = Arc::new(Metalayer::new(proposals, true));
    *broker.cluster.meta.lock().unwrap() = Some(Arc::clone(&meta));
    (meta, queue)
}

fn clustered_consumer(broker: &Broker, meta: &Metalayer) -> Arc<Consumer> {
    let consumer = Consumer::new("orders", "c1", "client-1", true);
    broker.registry.insert(Arc::clone(&consumer));
    let add = Proposal::AddConsumer {
        stream: "orders".into(),
        name: "c1".into(),
        group: vec!["s1".into(), "s2".into(), "s3".into()],
    };
    meta.apply(add, &broker.registry);
    consumer
}

#[tokio::test]
async fn an_idle_clustered_consumer_is_deleted_when_the_metalayer_applies_the_delete() {
    let (observer, mut reaped) = mpsc::channel(4);
    let broker = broker(observer);
    let (meta, mut queue) = join(&broker);
    let consumer = clustered_consumer(&broker, &meta);

    broker
        .reaper
        .schedule_inactivity_check(Arc::clone(&consumer));
    let proposal = timeout(PATIENCE, queue.recv()).await.unwrap().unwrap();
    assert_eq!(
        proposal,
        Proposal::DeleteConsumer {
            name: "c1".into(),
            generation: 1
        }
    );
    assert!(
        broker.registry.get("c1").is_some(),
        "deleted before the metalayer agreed"
    );

    meta.apply(proposal, &broker.registry);
    assert!(broker.registry.get("c1").is_none());
    assert_eq!(
        timeout(PATIENCE, reaped.recv()).await.unwrap().as_deref(),
        Some("c1")
    );
}

#[tokio::test]
async fn a_check_that_finds_no_metalayer_re_arms_instead_of_leaving_a_ghost() {
    let (observer, _reaped) = mpsc::channel(4);
    let broker = broker(observer);
    let consumer = Consumer::new("orders", "c1", "client-1", true);
    broker.registry.insert(Arc::clone(&consumer));

    broker
        .reaper
        .schedule_inactivity_check(Arc::clone(&consumer));
    sleep(Duration::from_millis(60)).await;
    assert!(broker.registry.get("c1").is_some());

    // The meta group elects a leader later: the re-armed check proceeds.
    let (meta, mut queue) = join(&broker);
    meta.apply(
        Proposal::AddConsumer {
            stream: "orders".into(),
            name: "c1".into(),
            group: vec![],
        },
        &broker.registry,
    );
    let proposal = timeout(PATIENCE, queue.recv()).await.unwrap();
    assert!(matches!(proposal, Some(Proposal::DeleteConsumer { .. })));
    broker.reaper.stop_checks().await;
}
