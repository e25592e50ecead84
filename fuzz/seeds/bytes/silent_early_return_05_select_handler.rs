// A return inside a `tokio::select!` handler leaves the whole watcher: the
// handler is not a closure.
impl InactivityWatch {
    pub async fn run_inactivity_watch(self: Arc<Self>, mut activity: mpsc::Receiver<()>) {
        let mut check = tokio::time::interval(self.threshold);
        check.tick().await;
        loop {
            tokio::select! {
                Some(()) = activity.recv() => self.touch(),
                _ = check.tick() => {
                    if !self.idle_for(self.threshold) {
                        continue;
                    }
                    let Some(meta) = self.meta.get() else { return }; //~ silent_early_return
                    meta.propose_delete_consumer(&self.key);
                }
            }
        }
    }
}
