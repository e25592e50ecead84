// A guard taken inside a `tokio::select!` handler: the delete runs on every
// way out of that handler, including the `?` on the proposal.
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::info;

pub async fn run_reaper(
    meta: Arc<Metalayer>,
    mut expired: mpsc::Receiver<Arc<Consumer>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ReapError> {
    loop {
        tokio::select! {
            Some(consumer) = expired.recv() => {
                let _delete_on_exit = scopeguard::guard(consumer.clone(), |c| c.delete()); //~ deferred_delete
                meta.forward_proposal(consumer.delete_proposal()).await?;
                info!(consumer = %consumer.name(), "delete proposal forwarded");
            }
            _ = shutdown.changed() => {
                info!("reaper shutting down");
                break;
            }
        }
    }
    Ok(())
}
