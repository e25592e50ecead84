// A finding in one item while another item does not even lex: only the
// items that can matter are parsed, so the file is linted, not rejected.
async fn poll_forever() {
    loop {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
        interval.tick().await;
    }
}

fn unrelated() -> u32 { 1 ¤ 2 }
