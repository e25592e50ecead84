// A trait's default method decides identity with `std::ptr::eq`.
pub trait StreamReplica {
    fn assignment(&self) -> &StreamAssignment;

    fn is_current(&self, sa: &StreamAssignment) -> bool {
        std::ptr::eq(self.assignment(), sa) //~ pointer_value_comparison
    }
}
