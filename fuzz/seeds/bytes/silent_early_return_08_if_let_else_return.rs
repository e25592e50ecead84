// `if let .. else { return }` is a let-else written the old way.
impl Subscriptions {
    pub fn purge_stale(&mut self, cutoff: Instant) {
        let router = if let Some(router) = self.router.as_ref() {
            router
        } else {
            return; //~ silent_early_return
        };
        self.entries.retain(|_, sub| {
            let keep = sub.last_seen >= cutoff;
            if !keep {
                router.unsubscribe(sub.id);
            }
            keep
        });
    }
}
