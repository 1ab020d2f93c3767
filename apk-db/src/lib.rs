//! The installed database and transactions on a root.
//!
//! Not yet implemented: this crate is a placeholder in the workspace layout
//! (see the project's issue on apk-db). It depends on [`apk_index`] for the
//! installed-database text format.

#![deny(missing_docs)]
