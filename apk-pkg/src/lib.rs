//! `.apk` package archives (v2): reading, verifying, extracting safely, building and signing,
//! and building signed repository indexes from packages.
//!
//! A v2 package is two or three gzip streams that read as one tar stream: an optional signature
//! stream (`.SIGN.RSA.<key>` entries), the control stream (`.PKGINFO` and scripts) and the data
//! stream (the file tree). The package's identity (the index `C:` value) is the SHA-1 of the
//! compressed control stream; `datahash` in `.PKGINFO` is the SHA-256 of the compressed data
//! stream.

#![deny(missing_docs)]

mod script;

pub use script::{ParseScriptKindError, ScriptKind};
