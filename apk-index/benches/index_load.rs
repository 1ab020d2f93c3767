//! Placeholder; replaced by the index loading benchmarks.
fn main() {}
