//! Integration tests of the C ABI: the committed header is current, and a C program compiled
//! against it and linked with the static library passes its checks (also under valgrind).
//!
//! One test binary for the crate (see STYLE.md §5), one module per topic.

mod c_program;
mod db_program;
mod header;
mod package_program;
mod solver_program;
mod v3_program;
