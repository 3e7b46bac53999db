//! The `samlet` binary.
fn main() {}
