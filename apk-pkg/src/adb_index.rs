//! Building v3 repository indexes (`Packages.adb`) from package files, as apk-tools 3's
//! `mkndx` does: [`AdbIndexBuilder`].

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use apk_index::adb::{
    self, AdbWriteError, Compression, IndexHash, IndexWriter, IndexedPackage, ReadOptions, SchemaId,
};
use apk_index::{PackageInfo, SigningKey};

use crate::index_builder::IndexPackageError;
use crate::reader::read_package_info;

/// Collects package files and writes a signed v3 index (schema `indx`).
///
/// v3 packages are read only as far as their ADB block (the DATA blocks are not read); their
/// package info is copied into the index with `file-size` (the file's size) and `hashes` (the
/// SHA-256 of the ADB block payload, the identity apk checks when it installs from the
/// index). v2 packages are read whole and checked, as [`IndexBuilder`](crate::IndexBuilder)
/// does, and recorded with their SHA-1 identity. The layout is apk-tools 3's: each package is
/// copied into the index heap as it is added, then the description, the sorted packages and
/// the root are written, and every key signs.
///
/// ```
/// use apk_index::adb::Compression;
/// use apk_index::{Index, IndexOptions, PackageInfo};
/// use apk_pkg::{AdbIndexBuilder, PackageBuilder};
///
/// let dir = tempfile::tempdir()?;
/// let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
/// builder.add_file("usr/share/hello/greeting", 0o644, "hi\n")?;
/// let path = dir.path().join("hello-1.0-r0.apk");
/// builder.write_v3(std::fs::File::create(&path)?)?;
///
/// let mut index = AdbIndexBuilder::new();
/// index.description(Some("my repository".into()));
/// index.add_file(&path)?;
/// let bytes = index.write_file(Compression::Deflate)?;
/// let loaded = Index::from_adb_bytes(&bytes, None, &IndexOptions::default())?;
/// assert_eq!(loaded.package(0).name(), "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct AdbIndexBuilder {
    writer: IndexWriter,
    signers: Vec<SigningKey>,
}

impl AdbIndexBuilder {
    /// An empty index.
    ///
    /// ```
    /// assert!(apk_pkg::AdbIndexBuilder::new().is_empty());
    /// ```
    pub fn new() -> AdbIndexBuilder {
        AdbIndexBuilder::default()
    }

    /// The number of packages added.
    ///
    /// ```
    /// assert_eq!(apk_pkg::AdbIndexBuilder::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.writer.len()
    }

    /// Whether no package was added.
    ///
    /// ```
    /// assert!(apk_pkg::AdbIndexBuilder::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.writer.is_empty()
    }

    /// The repository description (`mkndx -d`).
    ///
    /// ```
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// index.description(Some("edge main".into()));
    /// ```
    pub fn description(&mut self, description: Option<String>) -> &mut Self {
        self.writer.description(description);
        self
    }

    /// The download path template (`mkndx --pkgname-spec`).
    ///
    /// ```
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// index.pkgname_spec(Some("${arch}/${name}-${version}.apk".into()));
    /// ```
    pub fn pkgname_spec(&mut self, spec: Option<String>) -> &mut Self {
        self.writer.pkgname_spec(spec);
        self
    }

    /// What `hashes` records for v3 packages added afterwards (`mkndx --hash`).
    ///
    /// ```
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// index.hash(apk_index::adb::IndexHash::Sha256Trunc160);
    /// ```
    pub fn hash(&mut self, hash: IndexHash) -> &mut Self {
        self.writer.hash(hash);
        self
    }

    /// Signs the index with `key` (one SIG block per key, in the order given).
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let key = apk_index::SigningKey::generate("k.rsa.pub", 1024, &mut rand::rngs::StdRng::seed_from_u64(1))?;
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// index.sign_with(&key);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_with(&mut self, key: &SigningKey) -> &mut Self {
        self.signers.push(key.clone());
        self
    }

    /// Adds the package file at `path`: v3 (starting with `ADB`) or v2 (gzip).
    ///
    /// ```
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// assert!(index.add_file("/nonexistent.apk").is_err());
    /// ```
    pub fn add_file(
        &mut self,
        path: impl AsRef<Path>,
    ) -> Result<IndexedPackage, IndexPackageError> {
        let path = path.as_ref();
        let io_err = |source| IndexPackageError::Io {
            path: path.to_owned(),
            source,
        };
        let adb_err = |source| IndexPackageError::Adb {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let size = file.metadata().map_err(io_err)?.len();
        let mut magic = [0u8; 3];
        let is_v3 = match file.read_exact(&mut magic) {
            Ok(()) => &magic == b"ADB",
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
            Err(e) => return Err(io_err(e)),
        };
        if !is_v3 {
            drop(file);
            let (info, _) = read_package_info(path).map_err(|source| IndexPackageError::Read {
                path: path.to_owned(),
                source,
            })?;
            return self.writer.add_package_info(&info).map_err(adb_err);
        }
        file.rewind().map_err(io_err)?;
        let head = adb::read_adb_head(BufReader::new(file), &ReadOptions::default())
            .map_err(|e| adb_err(AdbWriteError::Read(e)))?;
        if head.schema != SchemaId::PACKAGE {
            return Err(adb_err(AdbWriteError::Read(adb::AdbError::WrongSchema {
                expected: SchemaId::PACKAGE,
                found: head.schema,
            })));
        }
        self.writer
            .add_v3_package(&head.payload, size)
            .map_err(adb_err)
    }

    /// Adds a package known by its v2 metadata (an index record, or `.PKGINFO` with the
    /// package's identity): what `convndx` makes of a v2 index. The identity (`C:`) becomes
    /// `hashes`, `size` the `file-size`.
    ///
    /// ```
    /// let mut info = apk_index::PackageInfo::new("hello", "1.0-r0");
    /// info.identity = Some(apk_index::Checksum::sha1([7; 20]));
    /// let mut index = apk_pkg::AdbIndexBuilder::new();
    /// assert_eq!(index.add_package(&info)?.hashes, [7; 20]);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn add_package(&mut self, info: &PackageInfo) -> Result<IndexedPackage, AdbWriteError> {
        self.writer.add_package_info(info)
    }

    /// Finishes the index: its bytes, signed and wrapped with `compression` (apk writes
    /// [`Compression::Deflate`] by default).
    ///
    /// ```
    /// use apk_index::adb::Compression;
    /// let bytes = apk_pkg::AdbIndexBuilder::new().write_file(Compression::None)?;
    /// assert!(bytes.starts_with(b"ADB.indx"));
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_file(&self, compression: Compression) -> Result<Vec<u8>, AdbWriteError> {
        let keys: Vec<&SigningKey> = self.signers.iter().collect();
        self.writer.clone().write_file(&keys, compression)
    }
}
