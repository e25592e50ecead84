//! Deliberate bugs, switched on one by one to show that the tests' checks
//! can fail.
//!
//! Only the `fault-injection` feature (which this crate's own tests enable
//! through its dev-dependency on itself) makes them reachable: without it
//! [`Shared::fault`](crate::reaper::Shared) is a constant `false` and every
//! fault branch is dead code the compiler drops, and nothing of this module
//! is exported. Each fault breaks the reaper in the way one check of the
//! simulation or the conformance suite guards against.

/// One deliberate bug in the reaper.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
pub enum ReaperFault {
    /// Skip the identity comparison right before proposing and name the
    /// identity the metalayer holds for the key now (a re-read instead of
    /// the instance's own identity: the old run of a replaced consumer
    /// proposes deleting the new one).
    ProposeMetalayerIdentity,
    /// Name an identity the metalayer never issued.
    ProposeUnknownIdentity,
    /// Keep going after a step-down: ignore unregistering and lost
    /// leadership (a follower keeps proposing).
    IgnoreStepDown,
    /// Keep going after shutdown: ignore the reaper's shutdown signal (runs
    /// go on proposing while the reaper shuts down).
    IgnoreShutdown,
    /// Delete the instance locally right before forwarding its delete
    /// proposal (before the commit).
    DeleteBeforeCommit,
    /// Skip the activity re-check right before proposing.
    SkipActivityRecheck,
    /// A closed instance is done with even while the metalayer still holds
    /// its assignment (nobody reaps the assignment).
    ClosedIsDone,
    /// Let go of an unregistered or stepped-down entry without cleaning up
    /// its stale instance (the ghost of issue 12).
    SkipStaleCleanup,
    /// The metalayer not ready: end the run without re-arming its check (a
    /// silent return).
    DropUnavailableRearm,
}

/// A set of [`ReaperFault`]s for [`Reaper::start_with_faults`](crate::Reaper).
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaperFaults {
    bits: u32,
}

#[cfg(feature = "fault-injection")]
impl ReaperFaults {
    /// No fault: the reaper as shipped.
    pub const NONE: ReaperFaults = ReaperFaults { bits: 0 };

    pub fn of(faults: &[ReaperFault]) -> ReaperFaults {
        ReaperFaults {
            bits: faults.iter().fold(0, |bits, f| bits | 1 << (*f as u32)),
        }
    }

    pub fn has(self, fault: ReaperFault) -> bool {
        self.bits & (1 << (fault as u32)) != 0
    }
}
