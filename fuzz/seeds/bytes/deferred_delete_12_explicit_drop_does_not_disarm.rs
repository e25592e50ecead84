// `drop(g)` runs the delete at that point, but every exit before it (the `?`
// below) still deletes: an explicit drop is not a disarm.
use scopeguard::guard;
use tracing::warn;

impl Broker {
    pub fn retire_durable(&self, name: &str) -> Result<(), BrokerError> {
        let durable = self.durable(name)?;
        let retire = guard(durable, |d| d.destroy()); //~ deferred_delete
        self.wait_for_acks(name)?;
        warn!(durable = name, "retiring durable consumer");
        drop(retire);
        Ok(())
    }
}
