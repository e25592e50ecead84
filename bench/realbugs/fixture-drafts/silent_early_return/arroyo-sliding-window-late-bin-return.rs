// Splits an incoming batch into time buckets and hands each bucket to its
// aggregator. A bucket behind the watermark makes the handler return, so the
// on-time buckets after it in the same batch are dropped.
use std::collections::BTreeMap;

pub struct Bucketer {
    width: u64,
    open: BTreeMap<u64, Vec<u64>>,
}

impl Bucketer {
    pub async fn on_batch(&mut self, rows: Vec<(u64, u64)>, watermark: Option<u64>) {
        let mut buckets: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (ts, v) in rows {
            buckets.entry(ts - ts % self.width).or_default().push(v);
        }

        for (start, values) in buckets {
            if watermark.is_some() && start < self.floor(watermark.unwrap()) {
                return; //~ silent_early_return
            }
            self.open.entry(start).or_default().extend(values);
        }
    }

    fn floor(&self, t: u64) -> u64 {
        t - t % self.width
    }
}
