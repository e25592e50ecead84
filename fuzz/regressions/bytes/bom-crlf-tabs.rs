fn reap(c: &Consumer) {
	let _é = 1; let _g = scopeguard::guard("[2J", |_| c.delete());
	meta.forward_proposal(c.key())?;
}
