//! Every supported function form, each clean: the build succeeds and the
//! functions behave as written.
use lifecycle_macros::quorum_gated_delete;

pub struct Consumer {
    pub key: String,
    pub generation: u64,
}

pub trait Metalayer {
    fn propose_delete(&self, key: &str) -> Result<(), String>;
}

pub struct Reaper<M> {
    pub meta: M,
}

#[quorum_gated_delete]
pub fn free_function(meta: &dyn Metalayer, consumer: &Consumer) -> Result<(), String> {
    meta.propose_delete(&consumer.key)
}

#[quorum_gated_delete]
pub async fn async_function(meta: &dyn Metalayer, consumer: &Consumer) -> Result<(), String> {
    meta.propose_delete(&consumer.key)
}

impl<M: Metalayer> Reaper<M> {
    /// Doc comments and other attributes stay on the function.
    #[quorum_gated_delete]
    #[inline]
    pub fn inherent_method(&self, consumer: &Consumer) -> Result<(), String> {
        self.meta.propose_delete(&consumer.key)
    }
}

pub trait Reap {
    fn reap(&self, consumer: &Consumer) -> Result<(), String>;

    #[quorum_gated_delete]
    fn trait_default_method(&self, consumer: &Consumer) -> Result<(), String> {
        self.reap(consumer)
    }
}

impl<M: Metalayer> Reap for Reaper<M> {
    #[quorum_gated_delete]
    fn reap(&self, consumer: &Consumer) -> Result<(), String> {
        self.meta.propose_delete(&consumer.key)
    }
}

struct Recorder;

impl Metalayer for Recorder {
    fn propose_delete(&self, key: &str) -> Result<(), String> {
        Err(format!("no quorum for {key}"))
    }
}

fn main() {
    let reaper = Reaper { meta: Recorder };
    let consumer = Consumer { key: "orders".into(), generation: 1 };
    assert_eq!(reaper.inherent_method(&consumer), Err("no quorum for orders".into()));
    assert!(reaper.trait_default_method(&consumer).is_err());
    assert!(free_function(&Recorder, &consumer).is_err());
    let _ = async_function(&Recorder, &consumer);
    let _ = consumer.generation;
}
