//! `.apk` package archives: reading, verifying, extracting, building and signing.
//!
//! Not yet implemented: this crate is a placeholder in the workspace layout
//! (see the project's issue on apk-pkg). It depends on [`apk_index`] for the
//! package metadata model.

#![deny(missing_docs)]
