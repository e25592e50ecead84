use lifecycle_macros::quorum_gated_delete;

mod scopeguard {
    pub struct ScopeGuard<T, F: FnOnce(T)>(Option<(T, F)>);
    impl<T, F: FnOnce(T)> Drop for ScopeGuard<T, F> {
        fn drop(&mut self) {
            if let Some((value, on_exit)) = self.0.take() {
                on_exit(value);
            }
        }
    }
    pub fn guard<T, F: FnOnce(T)>(value: T, on_exit: F) -> ScopeGuard<T, F> {
        ScopeGuard(Some((value, on_exit)))
    }
}

pub struct Consumer;
impl Consumer {
    pub fn delete(&self) {}
}
pub struct Meta;
impl Meta {
    pub fn forward_proposal(&self, _consumer: &Consumer) -> Result<(), String> {
        Ok(())
    }
}

#[quorum_gated_delete]
pub fn delete_not_active(meta: &Meta, consumer: &Consumer) -> Result<(), String> {
    let _cleanup = scopeguard::guard(consumer, |c| c.delete());
    meta.forward_proposal(consumer)?;
    Ok(())
}

fn main() {}
