//! Dependency solving with apk's semantics.
//!
//! Not yet implemented: this crate is a placeholder in the workspace layout
//! (see the project's issue on apk-solver). It depends on [`apk_index`] for
//! packages, names and dependencies.

#![deny(missing_docs)]
