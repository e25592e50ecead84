//! The conformance suite (`conformance/mod.rs`) on the simulated metalayer,
//! under tokio's paused clock.

mod conformance;
mod support;

use std::sync::Arc;
use std::time::Duration;

use conformance::{Backend, Record};
use quorum_reaper::sim::{SimCluster, SimEvent, SimSetup};
use quorum_reaper::{AssignmentId, Config, Consumer, ReaperFaults};
use tokio::time::Instant;

const NODES: usize = 3;

struct Sim(Arc<SimCluster>);

impl Backend for Sim {
    async fn start(config: Config, faults: ReaperFaults) -> Option<Sim> {
        let setup = SimSetup {
            nodes: NODES,
            clustered: true,
            seed: 8,
            reaper: config,
        };
        Some(Sim(SimCluster::start_with_faults(setup, faults)))
    }

    async fn create(&self, key: &str, threshold: Duration) -> AssignmentId {
        if self.0.current_assignment(key).is_some() {
            assert!(self.0.recreate(key, false), "re-creating {key}");
            self.0.current_assignment(key).expect("re-created")
        } else {
            self.0.create_consumer(key, threshold, 0)
        }
    }

    fn touch(&self, key: &str) {
        self.0.touch(key);
    }

    async fn assignment(&self, key: &str) -> Option<AssignmentId> {
        self.0.current_assignment(key)
    }

    fn instance(&self, key: &str, node: usize) -> Option<(AssignmentId, bool)> {
        let instance = self.0.instance(key, node)?;
        Some((instance.assignment()?, !instance.is_closed()))
    }

    fn live_nodes(&self) -> Vec<usize> {
        (0..NODES).collect()
    }

    async fn set_available(&self, available: bool) {
        self.0.set_ready(available);
    }

    async fn hold_proposals(&self) {
        self.0.hold_commits(true);
    }

    async fn release_proposals(&self) {
        self.0.hold_commits(false);
    }

    async fn fail_metalayer_leader(&self) {
        // Every uncommitted proposal is lost with the old leader.
        self.0.change_metalayer_leader(1000);
    }

    async fn shut_down_node(&self, node: usize) {
        assert!(self.0.shut_down_node(node).await, "node {node} shuts down");
    }

    fn records(&self) -> Vec<(Instant, Record)> {
        let epoch = self.0.epoch();
        let mut records = Vec::new();
        for (at_ms, event) in self.0.history() {
            let at = epoch + Duration::from_millis(at_ms);
            let removed = |key: String, assignment| Record::Removed {
                node: None,
                key,
                assignment,
            };
            let record = match event {
                SimEvent::Proposed {
                    key,
                    assignment,
                    node,
                    ..
                } => Record::Proposed {
                    node,
                    key,
                    assignment,
                },
                SimEvent::Committed {
                    key,
                    assignment,
                    applied: true,
                } => removed(key, assignment),
                SimEvent::Replaced { key, old, .. } => removed(key, old),
                SimEvent::AssignmentRemoved {
                    key, assignment, ..
                } => removed(key, assignment),
                SimEvent::DeletedLocally {
                    key,
                    assignment,
                    node,
                } => Record::DeletedLocally {
                    node,
                    key,
                    assignment,
                },
                SimEvent::Finished { node, report } => Record::Finished { node, report },
                _ => continue,
            };
            records.push((at, record));
        }
        records
    }

    fn violations(&self) -> Vec<String> {
        self.0.violations()
    }

    async fn shutdown(&self) -> usize {
        self.0.shutdown().await;
        let alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        assert_eq!(alive, 0, "a task outlived shutdown");
        self.0.instances_held_elsewhere()
    }
}

conformance_suite!(Sim, start_paused = true);
