//! A metalayer for a single broker with no cluster: always ready, holds no
//! assignment, refuses every proposal. With it the reaper deletes locally,
//! which is what the tests of the driver's own mechanics need.

use quorum_reaper::{AssignmentId, Metalayer, ProposeError};

pub struct Standalone;

impl Metalayer<String> for Standalone {
    fn is_clustered(&self) -> bool {
        false
    }

    fn is_ready(&self) -> bool {
        true
    }

    fn assignment(&self, _: &String) -> Option<AssignmentId> {
        None
    }

    fn forward_delete_proposal(&self, _: &String, _: AssignmentId) -> Result<(), ProposeError> {
        Err(ProposeError::Rejected("standalone".into()))
    }
}
