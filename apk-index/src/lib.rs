//! apk package metadata (work in progress).

#![deny(missing_docs)]

pub mod archive;
pub mod keys;
pub mod version;
