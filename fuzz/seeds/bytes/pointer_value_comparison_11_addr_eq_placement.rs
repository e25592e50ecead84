// `ptr::addr_eq` on a placement borrowed out of the cluster map.
use std::ptr;

impl Cluster {
    pub fn placement_moved(&self, group: &GroupName, placement: &Placement) -> bool {
        match self.placements.get(group) {
            Some(current) => !ptr::addr_eq(current, placement), //~ pointer_value_comparison
            None => true,
        }
    }
}
