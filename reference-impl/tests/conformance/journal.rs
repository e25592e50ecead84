//! The suite's records from the journal the real backends' nodes share.

use quorum_reaper::node::{Journal, NodeEvent};
use tokio::time::Instant;

use super::Record;

pub fn journal_records(journal: &Journal) -> Vec<(Instant, Record)> {
    let epoch = journal.epoch();
    journal
        .events()
        .into_iter()
        .filter_map(|(at, event)| {
            let record = match event {
                NodeEvent::Proposed {
                    node,
                    key,
                    assignment,
                    ..
                } => Record::Proposed {
                    node,
                    key,
                    assignment,
                },
                NodeEvent::Removed {
                    node,
                    key,
                    assignment,
                    ..
                } => Record::Removed {
                    node: Some(node),
                    key,
                    assignment,
                },
                NodeEvent::DeletedLocally {
                    node,
                    key,
                    assignment,
                } => Record::DeletedLocally {
                    node,
                    key,
                    assignment: Some(assignment),
                },
                NodeEvent::Finished { node, report } => Record::Finished { node, report },
                NodeEvent::ShuttingDown { node } => Record::ShuttingDown { node },
                _ => return None,
            };
            Some((epoch + at, record))
        })
        .collect()
}
