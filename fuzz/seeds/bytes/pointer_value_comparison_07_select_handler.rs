// The monitor task re-reads the assignment whenever the meta layer says
// something changed; the comparison sits in a `select!` handler.
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::info;

impl Monitor {
    pub async fn run(self, ca: Arc<ConsumerAssignment>, mut changes: mpsc::Receiver<MetaEvent>) {
        loop {
            tokio::select! {
                Some(event) = changes.recv() => {
                    let nca = self.meta.consumer_assignment(&event.stream, &event.consumer);
                    if let Some(nca) = nca {
                        if !Arc::ptr_eq(&nca, &ca) { //~ pointer_value_comparison
                            info!(consumer = %ca.name, "assignment moved");
                            self.signal_reassign(&nca).await;
                        }
                    }
                }
                _ = self.shutdown.cancelled() => break,
            }
        }
    }
}
