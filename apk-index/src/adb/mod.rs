//! apk v3 binary files (ADB): packages (`*.apk` starting with `ADB`), repository indexes
//! (`Packages.adb`) and the experimental installed database.
//!
//! The format is described in `spec/adb-format.md`; this module follows it section by section:
//!
//! * [`decompress`]: the file wrapper (`ADB.` plain, `ADBd` raw deflate, `ADBc` with an
//!   algorithm byte: none, deflate or zstd), giving the inner stream.
//! * [`AdbFile`]: the inner stream: the schema id ([`SchemaId`]) and the blocks ([`Block`]):
//!   one ADB block, then SIG blocks ([`SigBlock`]), then DATA blocks ([`DataBlock`]), each padded
//!   to 8 bytes, in the order apk enforces.
//! * [`Adb`], [`Value`], [`Vector`]: the ADB block's value heap. Every offset and length is
//!   checked before it is followed; hostile input gives an [`AdbError`], never a panic.
//! * [`schema`]: the field tables of the `pckg`, `indx` and `idb` schemas.
//! * [`PkgInfo`], [`Package`], [`IndexFile`]: typed views of the schemas, converting to the
//!   crate's [`PackageInfo`](crate::PackageInfo) and [`Index`](crate::Index)
//!   ([`Index::from_adb_bytes`](crate::Index::from_adb_bytes)).
//! * Trust: [`key_id`], [`AdbFile::verify_signature`] (RSA PKCS#1 v1.5 or ECDSA P-256, both
//!   over SHA-512, against a [`KeySet`](crate::KeySet), keys matched by key id, not by file
//!   name),
//!   [`Package::check_data`] (DATA blocks against the SHA-256 file hashes),
//!   [`package_identity`] and [`unique_id`].
//! * [`dump`]: the text of apk-tools 3's `adbdump`.
//! * Writing: [`AdbWriter`] (the value heap, laid out and de-duplicated as apk-tools 3 does),
//!   [`AdbStreamWriter`] (wrapper, blocks, padding, streamed DATA blocks), [`sign_payload`]
//!   (SIG blocks: key id, SHA-512, RSA PKCS#1 v1.5), [`write_pkginfo_fields`] and
//!   [`write_dependencies`] (package info), [`IndexWriter`] (`Packages.adb`, as `mkndx`
//!   makes it) and [`read_adb_head`] (a package's ADB block, read from a stream).
//!
//! Everything here reads whole files from memory; [`ReadOptions`] caps how much a compressed
//! file may expand.
//!
//! # Example
//!
//! ```
//! use apk_index::adb::{self, AdbFile, SchemaId};
//!
//! // A tiny unsigned index (spec section 8) with one package, `hello` 1.0-r0.
//! let file = adb::tests_support::tiny_index();
//! let stream = adb::decompress(&file, &adb::ReadOptions::default())?;
//! let adb_file = AdbFile::parse(&stream)?;
//! assert_eq!(adb_file.schema(), SchemaId::INDEX);
//! let index = adb::IndexFile::from_file(&adb_file)?;
//! assert_eq!(index.description, Some("demo"));
//! assert_eq!(index.packages[0].name, Some("hello"));
//! assert!(matches!(adb_file.verify_signature(&apk_index::KeySet::new()), Err(adb::AdbError::Unsigned)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod build;
mod container;
mod dump;
mod error;
mod model;
mod pkgname;
pub mod schema;
mod stream;
mod trust;
mod value;
mod writer;

pub use build::{
    AdbHead, IndexHash, IndexWriter, IndexedPackage, PKGINFO_FIELDS, PkgInfoSlots, read_adb_head,
    write_dependencies, write_dependency, write_pkginfo_fields,
};
pub use container::AdbFile;
pub use container::{
    Block, BlockKind, Compression, DataBlock, ReadOptions, SigBlock, decompress,
    decompress_with_info,
};
pub use dump::{dump, dump_bytes};
pub use error::{AdbError, BlockErrorKind, DataErrorKind, ValueErrorKind};
pub use model::{
    Acl, AdbDependency, ContentCheck, Directory, FileEntry, FileTarget, IndexFile, Package,
    PkgInfo, Scripts,
};
pub use pkgname::{PkgnameSpecError, PkgnameVars};
pub use schema::SchemaId;
pub use stream::{BlockReader, DataHeader};
pub use trust::{
    SignatureStatus, Verified, key_id, package_identity, unique_id, verify_bytes, verify_reader,
};
pub use value::{Adb, Value, Vector, VectorTag};
pub use writer::{
    AdbStreamWriter, AdbWriteError, AdbWriter, block_header, sign_payload, write_file,
};

/// Sample data for the examples in this module's documentation (not part of the API).
#[doc(hidden)]
pub mod tests_support {
    /// The 192-byte unsigned index of spec section 8, as hex.
    const TINY_INDEX: &str = concat!(
        "4144422e696e6478b800000000000000a80000e0046c69626300000002000000",
        "0800008002000000100000e00568656c6c6f06312e302d72302078c0cb10c457",
        "339b7498708ac7026ebb0bd2622a92e72bea42a3d3b909dcca53066e6f617263",
        "680000001000000020000080260000802d000080000000004e00008000000000",
        "000000000000000000000000000000000000000000000010a000001000000000",
        "180000d002000000580000e00464656d6f00000003000000a0000080980000d0",
    );

    /// A small unsigned package inner stream, built here: package `tiny` 1-r0 with a root
    /// directory holding the 2-byte file `f` (contents `hi`, mode 0644) and its DATA block.
    ///
    /// ```
    /// let stream = apk_index::adb::tests_support::tiny_package();
    /// assert!(stream.starts_with(b"ADB.pckg"));
    /// ```
    pub fn tiny_package() -> Vec<u8> {
        use sha2::Digest;
        let mut p = RawPayload::new();
        let name = p.blob(b"tiny");
        let version = p.blob(b"1-r0");
        let info = p.vector(&[name, version]);
        let root_user = p.blob(b"root");
        let dir_acl = p.vector(&[0x1000_01ED, root_user, root_user]);
        let file_acl = p.vector(&[0x1000_01A4, root_user, root_user]);
        let file_name = p.blob(b"f");
        let hash = p.blob(&sha2::Sha256::digest(b"hi"));
        let file = p.vector(&[file_name, file_acl, 0x1000_0002, 0x1000_0000, hash]);
        let files = p.vector(&[file]);
        let dir = p.vector(&[0, dir_acl, files]);
        let paths = p.vector(&[dir]);
        let root = p.vector(&[info, paths]);
        let mut stream = b"ADB.pckg".to_vec();
        stream.extend_from_slice(&raw_block(0, &p.finish(root)));
        stream.extend_from_slice(&raw_block(2, &[1, 0, 0, 0, 1, 0, 0, 0, b'h', b'i']));
        stream
    }

    /// An ADB payload assembled value by value, without [`AdbWriter`](super::AdbWriter)'s
    /// checks, so that tests can build what the writer would refuse to.
    ///
    /// ```
    /// use apk_index::adb::tests_support::RawPayload;
    /// let mut p = RawPayload::new();
    /// let name = p.blob(b"x");
    /// let root = p.vector(&[name]);
    /// assert_eq!(p.finish(root).len(), 20); // header, blob, padding, vector
    /// ```
    pub struct RawPayload(Vec<u8>);

    impl RawPayload {
        /// An empty payload: its 8-byte header, the root slot filled by [`RawPayload::finish`].
        #[allow(clippy::new_without_default)]
        pub fn new() -> RawPayload {
            RawPayload(vec![0u8; 8])
        }

        /// Appends a blob of at most 255 bytes; returns its value word.
        pub fn blob(&mut self, bytes: &[u8]) -> u32 {
            let at = self.0.len() as u32;
            self.0.push(bytes.len() as u8);
            self.0.extend_from_slice(bytes);
            0x8000_0000 | at
        }

        /// Appends a vector of these value words (aligned to 4); returns its value word.
        pub fn vector(&mut self, slots: &[u32]) -> u32 {
            while self.0.len() % 4 != 0 {
                self.0.push(0);
            }
            let at = self.0.len() as u32;
            self.0
                .extend_from_slice(&(slots.len() as u32 + 1).to_le_bytes());
            for slot in slots {
                self.0.extend_from_slice(&slot.to_le_bytes());
            }
            0xE000_0000 | at
        }

        /// The payload with `root` as its root value.
        pub fn finish(mut self, root: u32) -> Vec<u8> {
            self.0[4..8].copy_from_slice(&root.to_le_bytes());
            self.0
        }
    }

    /// A block of `kind` (0 ADB, 1 SIG, 2 DATA) holding `payload`, padded to 8 bytes.
    ///
    /// ```
    /// let block = apk_index::adb::tests_support::raw_block(2, b"hi");
    /// assert_eq!(block.len(), 8);
    /// ```
    pub fn raw_block(kind: u32, payload: &[u8]) -> Vec<u8> {
        let raw = 4 + payload.len();
        let mut out = ((kind << 30) | raw as u32).to_le_bytes().to_vec();
        out.extend_from_slice(payload);
        out.resize(raw.div_ceil(8) * 8, 0);
        out
    }

    /// The 192-byte unsigned index of spec section 8: one package, `hello` 1.0-r0, depending
    /// on `libc`, in an index described as `demo`.
    ///
    /// ```
    /// assert_eq!(apk_index::adb::tests_support::tiny_index().len(), 192);
    /// ```
    pub fn tiny_index() -> Vec<u8> {
        TINY_INDEX
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                let hi = pair.first().copied().map_or(0, digit);
                let lo = pair.get(1).copied().map_or(0, digit);
                (hi << 4) | lo
            })
            .collect()
    }
}
