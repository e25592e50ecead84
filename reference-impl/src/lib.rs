//! # quorum-reaper
//!
//! Deletes inactive consumers safely in a replicated broker: locally when
//! nothing needs coordinating, and in clustered mode only after the metalayer
//! has committed the delete. It is the corrected form of nats-server's
//! `deleteNotActive` after PR #7792, with the review's remaining findings fixed:
//!
//! - no delete on scope exit: each delete is an explicit call on the one path
//!   allowed to make it ([`Outcome`] says which);
//! - no silent return when the cluster or metalayer is not ready: a warning,
//!   and the consumer's check is re-armed (no ghost consumers);
//! - a closed consumer stops the retrying once its assignment is gone (no
//!   endless "not cleaned up"), and has its assignment reaped while it is
//!   not; only a quit for the assignment's removal counts as the commit;
//! - an instance left open after its assignment was removed is cleaned up
//!   even once its replica no longer leads (no ghost after a step-down);
//! - a local delete that may block runs on the blocking pool, bounded, never
//!   on the driver;
//! - assignments are compared by [`AssignmentId`], never by pointer or whole
//!   value, and the delete proposal carries that identity (no ABA);
//! - one pinned timer per waiting delete, reset rather than re-allocated, and
//!   nothing outlives [`Reaper::shutdown`];
//! - a mass expiry is paced (bounded in-flight deletes, proposals per second)
//!   and its warnings are folded into summaries.
//!
//! The broker implements [`Metalayer`] and [`Consumer`], starts a [`Reaper`],
//! [`register`](Reaper::register)s each consumer it leads and
//! [`touch`](Tracked::touch)es it on activity.
//!
//! With the `sim` feature, [`sim`] provides an in-memory cluster with fault
//! injection, used by the tests, the benchmark and the demo.

mod broker;
mod config;
mod driver;
#[cfg(feature = "etcd")]
pub mod etcd;
mod faults;
mod gate;
#[cfg(feature = "node")]
pub mod node;
mod outcome;
mod pace;
#[cfg(feature = "raft")]
pub mod raft;
mod reaper;
#[cfg(feature = "sim")]
pub mod sim;

pub use broker::{AssignmentId, Consumer, Metalayer, ProposeError, QuitReason};
pub use config::{next_backoff, Config};
/// Deliberate bugs for the crate's own tests (feature `fault-injection`).
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use faults::{ReaperFault, ReaperFaults};
/// The compile-time check this crate puts on its own gated delete, for the
/// broker's functions that delete what needs consensus (see lifecycle-macros).
pub use lifecycle_macros::quorum_gated_delete;
pub use outcome::{AssignmentChange, LocalReason, Outcome, RearmReason, Report};
pub use reaper::{Observer, Reaper, ReaperStopped, Stats, Tracked};
