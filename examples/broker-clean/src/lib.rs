//! Consumer lifecycle of a small replicated broker, done correctly.
//!
//! The same broker as `broker-buggy`, doing the same job with the fixes of
//! the review: a clustered consumer is deleted only when the metalayer
//! applied the delete (or it stopped on its own quit signal); a check that
//! cannot proceed says so and re-arms itself; assignments are compared by
//! an explicit identity (`generation`); timers are pinned and reset, or
//! sleep until absolute deadlines; spawned work is owned and drained.
//! `cargo lifecycle-lint` reports nothing here.
//!
//! - [`registry`]: the consumers this server runs.
//! - [`cluster`]: consumer assignments and the metalayer that replicates them.
//! - [`reaper`]: deletes consumers nobody pulled from for a while.
//! - [`flusher`]: batches deliveries and acks, sends heartbeats.
//! - [`lease`]: time-bounded ownership granted through the metalayer.
//! - [`session`]: client sessions and the ephemeral consumers they own.

pub mod cluster;
pub mod flusher;
pub mod lease;
pub mod reaper;
pub mod registry;
pub mod session;
