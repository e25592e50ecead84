// Neither binding is named like an assignment; their declared types say
// what they are.
use std::sync::Arc;

pub fn still_current(
    held: &Arc<ConsumerAssignment>,
    fetched: Option<&Arc<ConsumerAssignment>>,
) -> bool {
    match fetched {
        Some(fetched) => Arc::ptr_eq(held, fetched), //~ pointer_value_comparison
        None => false,
    }
}
