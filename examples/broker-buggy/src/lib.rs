//! Consumer lifecycle of a small replicated broker — **with lifecycle bugs**.
//!
//! This crate compiles, passes clippy and looks like ordinary code, but it
//! deletes consumers before the metalayer agreed, leaves ghost consumers
//! behind, lets timers drift or pile up, and compares assignments by
//! pointer. Every line `cargo lifecycle-lint` must report carries an
//! `expect` comment naming the rule; `examples/README.md` lists them all.
//! `broker-clean` is the same broker doing the same job correctly.
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
