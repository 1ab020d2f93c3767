//! `.apk` package archives (v2): reading, verifying, extracting safely, building and signing,
//! and building signed repository indexes from packages.
//!
//! A v2 package is two or three gzip streams that read as one tar stream: an optional signature
//! stream (`.SIGN.RSA.<key>` entries), the control stream (`.PKGINFO` and scripts) and the data
//! stream (the file tree). The package's identity (the index `C:` value) is the SHA-1 of the
//! compressed control stream; `datahash` in `.PKGINFO` is the SHA-256 of the compressed data
//! stream.

#![deny(missing_docs)]

mod builder;
mod extract;
mod index_builder;
mod reader;
mod script;
mod tar_write;
mod tarhdr;

pub use builder::{
    AddEntryError, AddTreeError, BuildOptions, BuildPackageError, BuiltPackage, PackageBuilder,
};
pub use extract::{ExtractError, ExtractSummary, Extractor};
pub use index_builder::{IndexBuilder, IndexPackageError};
pub use reader::{
    DataEntry, EntryKind, LimitKind, PackageReader, PackageSignature, PackageSummary, ReadLimits,
    ReadPackageError, StreamKind, VerifiedBy, VerifyPackageError, Xattr, read_package_info,
};
pub use script::{ParseScriptKindError, ScriptKind};
