// The delete is conditional, but on the consumer's own state, not on a flag
// this function clears: it still runs on every exit of an active consumer.
use std::sync::Arc;

use scopeguard::guard;

pub fn on_idle(meta: &Metalayer, consumer: Arc<Consumer>) -> Result<(), ReapError> {
    let _reap = guard(consumer.clone(), |c| { //~ deferred_delete
        if !c.is_closed() {
            c.delete();
        }
    });
    let ca = meta.assignment(consumer.key()).ok_or(ReapError::NoAssignment)?;
    meta.forward_proposal(ca.delete_proposal())?;
    Ok(())
}
