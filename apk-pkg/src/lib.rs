//! `.apk` package archives (v2): reading, verifying, extracting safely, building and signing,
//! and building signed repository indexes from packages.
//!
//! A v2 package is two or three gzip streams that read as one tar stream: an optional signature
//! stream (`.SIGN.RSA.<key>` entries), the control stream (`.PKGINFO` and scripts) and the data
//! stream (the file tree). The package's identity (the index `C:` value) is the SHA-1 of the
//! compressed control stream; `datahash` in `.PKGINFO` is the SHA-256 of the compressed data
//! stream; each file's content is checked against its `APK-TOOLS.checksum.SHA1` PAX record.
//!
//! # The pieces
//!
//! * [`PackageReader`] streams a package: [`PackageReader::new`] reads the signature and control
//!   streams (metadata, scripts, identity), [`PackageReader::verify`] checks the signature against
//!   a [`KeySet`](apk_index::KeySet) whose keys are known by file name, [`PackageReader::next_entry`]
//!   yields the data entries one at a time, and [`PackageReader::finish`] checks the datahash.
//!   Nothing holds a whole package in memory.
//! * [`Extractor`] unpacks into a directory with no way out of it: no absolute paths, `..` or
//!   control characters; no writing through symlinks (paths are walked one directory at a time
//!   without following links); hard links only to earlier files of the same package; devices
//!   only when allowed; limits against gzip and tar bombs. Files are written to temporary names
//!   and renamed into place only once the whole package has checked out.
//!   [`Extractor::stage`] stops before that point and lets the caller decide per entry
//!   ([`Placement`]) what happens at the final name, as a transaction manager needs for
//!   config files (`.apk-new`); [`StagedEntry`] has what the installed database records.
//! * apk v3 (ADB) packages: [`Extractor::extract_adb`] unpacks one with the same rules;
//!   [`AdbPackage`] opens one (metadata, scripts, identity, signatures by key id) and
//!   [`Extractor::stage_adb`] stages it ([`StagedAdbPackage`]), its entries carrying the
//!   `sha256-160` checksums apk-tools 3 records.
//! * [`PackageBuilder`] writes a signed package from a directory tree or from entries added in
//!   code, the way abuild lays them out; [`IndexBuilder`] makes an `APKINDEX.tar.gz` from package
//!   files, as `apk index` does.
//!
//! # Example
//!
//! ```
//! use apk_index::{KeySet, PackageInfo, SignatureAlgorithm, SigningKey};
//! use apk_pkg::{Extractor, PackageBuilder, PackageReader};
//! use rand::SeedableRng;
//!
//! let key = SigningKey::generate("builder.rsa.pub", 1024, &mut rand::rngs::StdRng::seed_from_u64(1))?;
//! let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
//! builder
//!     .add_dir("usr", 0o755)?
//!     .add_dir("usr/share", 0o755)?
//!     .add_file("usr/share/hello.txt", 0o644, b"hello\n".to_vec())?;
//! builder.sign_with(&key, SignatureAlgorithm::RsaSha1);
//! let mut apk = Vec::new();
//! let built = builder.write(&mut apk)?;
//!
//! let mut keys = KeySet::new();
//! keys.insert("builder.rsa.pub", key.public_key());
//! let mut reader = PackageReader::new(&apk[..])?;
//! assert_eq!(reader.identity(), Some(built.identity));
//! reader.verify(&keys)?;
//!
//! let dest = tempfile::tempdir()?;
//! Extractor::new().extract(&mut reader, dest.path())?;
//! assert_eq!(std::fs::read(dest.path().join("usr/share/hello.txt"))?, b"hello\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod adb_index;
mod builder;
mod extract;
mod index_builder;
mod reader;
mod script;
mod tar_write;
mod tarhdr;

pub use adb_index::AdbIndexBuilder;
pub use builder::{
    AddEntryError, AddTreeError, BuildOptions, BuildPackageError, BuiltPackage, BuiltPackageV3,
    PackageBuilder,
};
pub use extract::{
    AdbExtractSummary, AdbPackage, AdbPackageReader, CreatedDirs, ExtractError, ExtractSummary,
    Extractor, Placement, StagedAdbPackage, StagedEntry, StagedKind, StagedPackage,
};
pub use index_builder::{IndexBuilder, IndexPackageError};
pub use reader::{
    DataEntry, EntryKind, LimitKind, PackageReader, PackageSignature, PackageSummary, ReadLimits,
    ReadPackageError, StreamKind, VerifiedBy, VerifyPackageError, Xattr, read_package_info,
};
pub use script::{ParseScriptKindError, ScriptKind};
