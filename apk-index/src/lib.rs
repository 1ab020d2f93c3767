//! apk package metadata: versions, dependencies, checksums, package records, the APKINDEX and
//! installed-database text formats, `.PKGINFO`, and signed `APKINDEX.tar.gz` archives.
//!
//! This is the crate every other apk-rs crate stands on. It does no I/O beyond reading the files
//! it is asked to read, prints nothing and reads no environment.
//!
//! # The pieces
//!
//! * [`version`]: [`Version`] and the comparison rules of apk-tools 2.14 ([`Rules::V2`]) and
//!   3.0 ([`Rules::V3`], the default), including fuzzy `~` matching.
//! * [`Dependency`] / [`DependencyRef`]: `[!]name[@tag][op version]` tokens; [`Op`] is apk's
//!   operator bit mask.
//! * [`Checksum`]: `Q1…`, `X1…`, `Q2…`, `X2…` and bare-hex MD5, printed back as read.
//! * [`PackageInfo`]: everything known about one package (owned, editable); [`PackageRef`] is
//!   the borrowed view that the writers and the [`Index`] share.
//! * [`Index`]: a loaded repository index. It keeps the APKINDEX text as one buffer and stores
//!   fields as spans into it, with names interned in a [`NameTable`]: loading Alpine's
//!   18,000-package index pair allocates a handful of arrays, not a string per field.
//! * [`InstalledDb`]: `lib/apk/db/installed`, read and written byte for byte.
//! * [`parse_pkginfo`] / [`write_pkginfo`]: `.PKGINFO`.
//! * [`archive`] and [`keys`]: `APKINDEX.tar.gz` reading, writing and RSA signatures, with
//!   public keys matched by file name as apk-tools does.
//!
//! Loading never fails on a record apk-tools would merely refuse to install: such packages load,
//! are flagged by [`Index::is_installable`], and are listed in [`Index::problems`].
//!
//! # Example
//!
//! ```
//! use apk_index::{Index, IndexOptions, Rules, Version};
//!
//! let text = "P:busybox\nV:1.36.0-r0\nS:1\nI:2\nT:tools\nU:\nL:GPL-2.0\nD:so:libc.musl-x86_64.so.1\n\n";
//! let index = Index::from_text(text, &IndexOptions::default());
//! let pkg = index.package(0);
//! let v: Version = pkg.version().parse()?;
//! assert!(v > "1.35.0-r29".parse()?);
//! assert_eq!(pkg.depends().iter().next().map(|d| d.name()), Some("so:libc.musl-x86_64.so.1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod adb;
pub mod archive;
mod checksum;
mod dependency;
mod index;
mod installed;
pub mod keys;
mod names;
mod package;
mod pkginfo;
pub mod version;

pub use archive::{IndexArchive, ReadArchiveError, VerifyError};
pub use checksum::{
    Checksum, ChecksumForm, ChecksumKind, ParseChecksumError, ParseChecksumErrorKind,
};
pub use dependency::{
    Dependency, DependencyRef, Op, ParseDependencyError, ParseDependencyErrorKind,
    parse_dependency_list, write_dependency_list,
};
pub use index::{Index, IndexOptions, IndexProblem, IndexProblemKind, LoadIndexError};
pub use installed::{InstalledDb, InstalledDbOptions, ReadInstalledError, ReadInstalledErrorKind};
pub use keys::{KeySet, PublicKey, SignatureAlgorithm, SigningKey};
pub use names::{NameId, NameTable};
pub use package::{
    Acl, DepList, ExtraFields, InstalledDir, InstalledFile, PackageInfo, PackageRef, ParseAclError,
};
pub use pkginfo::{ParsePkgInfoError, ParsePkgInfoErrorKind, parse_pkginfo, write_pkginfo};
pub use version::{ParseVersionError, Rules, Version};
