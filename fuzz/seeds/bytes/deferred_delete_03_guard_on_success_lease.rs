// `guard_on_success` skips panics, but still runs on every early return and `?`.
use scopeguard::guard_on_success;

pub fn expire_lease(store: &LeaseStore, lease: Lease) -> Result<Revision, StoreError> {
    let lease = guard_on_success(lease, |l| store.revoke_lease(l.id())); //~ deferred_delete
    let rev = store.current_revision()?;
    if lease.expires_at() > store.now() {
        return Err(StoreError::NotExpired { id: lease.id() });
    }
    store.record_expiry(lease.id(), rev)?;
    Ok(rev)
}
