use lifecycle_macros::quorum_gated_delete;

fn main() {
    let reap = #[quorum_gated_delete]
    |key: &str| println!("{key}");
    reap("orders");
}
