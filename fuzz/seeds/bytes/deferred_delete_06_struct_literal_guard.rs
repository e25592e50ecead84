// A guard built with a struct literal; its `Drop` removes the subscription.
// The eviction bails out with `?` half-way, yet the subscription is removed.
pub struct SubscriptionCleanup<'a> {
    broker: &'a Broker,
    subject: String,
}

impl Drop for SubscriptionCleanup<'_> {
    fn drop(&mut self) {
        self.broker.remove_subscription(&self.subject);
    }
}

impl Broker {
    pub fn evict_slow_subscriber(&self, subject: &str) -> Result<usize, BrokerError> {
        let _cleanup = SubscriptionCleanup { //~ deferred_delete
            broker: self,
            subject: subject.to_owned(),
        };
        let pending = self.pending_messages(subject)?;
        self.redeliver_to_queue_group(subject, &pending)?;
        Ok(pending.len())
    }
}
