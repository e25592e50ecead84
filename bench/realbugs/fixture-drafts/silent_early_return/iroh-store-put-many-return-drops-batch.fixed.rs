// Stores many records in one write batch that is committed after the loop.
// Records that are already stored, or already staged in this batch, are
// skipped; the commit after the loop always runs.
use std::collections::HashSet;

pub struct Batch {
    rows: Vec<(u64, Vec<u8>)>,
}

pub struct Db;

impl Db {
    fn contains(&self, _key: u64) -> Result<bool, String> { Ok(false) }
    fn commit(&self, _batch: Batch) -> Result<(), String> { Ok(()) }
}

pub struct Store {
    db: Db,
    next: u64,
}

impl Store {
    pub fn insert_many(&mut self, records: Vec<(u64, Vec<u8>)>) -> Result<(), String> {
        let mut batch = Batch { rows: Vec::new() };
        let mut staged = HashSet::new();
        for (key, body) in records {
            if staged.contains(&key) || self.db.contains(key)? {
                continue;
            }
            staged.insert(key);
            self.next += 1;
            batch.rows.push((self.next, body));
        }

        self.db.commit(batch)?;
        Ok(())
    }
}
