// The handler is a path, not a closure: `guard(c, Consumer::delete)`.
use std::sync::Arc;

use scopeguard::guard;

impl Stream {
    pub fn rebalance(&self, consumer: Arc<Consumer>, target: PeerId) -> Result<(), StreamError> {
        let moved = guard(consumer, Consumer::delete); //~ deferred_delete
        let snapshot = moved.snapshot()?;
        self.peer(target)?.install_consumer(snapshot)?;
        Ok(())
    }
}
