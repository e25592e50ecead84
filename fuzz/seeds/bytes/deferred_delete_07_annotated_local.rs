// The type is only visible in the annotation: `let g: Type = ..`.
pub struct EphemeralGuard {
    stream: StreamHandle,
    name: String,
}

impl Drop for EphemeralGuard {
    fn drop(&mut self) {
        self.stream.delete_consumer(&self.name);
    }
}

impl StreamHandle {
    /// Takes over an idle ephemeral consumer to drain it before it expires.
    pub fn expire_ephemeral(&self, name: &str, max: usize) -> Result<Vec<Message>, FetchError> {
        let _ephemeral: EphemeralGuard = self.adopt_ephemeral(name)?; //~ deferred_delete
        let batch = self.next_batch(name, max)?;
        self.ack_all(&batch)?;
        Ok(batch)
    }
}
