//! End-to-end tests of the `apk-rs` binary: each test runs the built binary in a fresh
//! temporary directory and compares its stdout, stderr and exit code.

mod adbdump;
mod help;
mod mkndx;
mod mkpkg;
mod pkgcmds;
mod solver;
mod util;
mod verify;
mod version;
