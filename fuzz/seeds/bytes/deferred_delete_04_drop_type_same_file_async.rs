// A session handle whose `Drop` unregisters the session: a local handle
// unregisters it on every exit, including when the future is cancelled.
use std::sync::Arc;

pub struct SessionReaper {
    registry: Arc<Registry>,
    id: SessionId,
}

impl SessionReaper {
    pub fn new(registry: Arc<Registry>, id: SessionId) -> Self {
        SessionReaper { registry, id }
    }
}

impl Drop for SessionReaper {
    fn drop(&mut self) {
        self.registry.unregister_session(&self.id);
    }
}

pub async fn expire_session(registry: Arc<Registry>, id: SessionId) -> Result<(), RaftError> {
    let _reaper = SessionReaper::new(registry.clone(), id.clone()); //~ deferred_delete
    let node = registry.raft().await?;
    node.client_write(Command::ExpireSession(id)).await?;
    Ok(())
}
