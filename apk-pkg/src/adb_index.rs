//! Building v3 repository indexes (`Packages.adb`) from package files, as apk-tools 3's
//! `mkndx` does: [`AdbIndexBuilder`].

use std::collections::HashMap;
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
    /// `-x`: an earlier index.
    previous: Option<Previous>,
}

/// An earlier index (`mkndx -x`): its ADB payload, and its entries by file name as
/// (position, size).
#[derive(Debug, Clone)]
struct Previous {
    payload: Vec<u8>,
    by_file: HashMap<String, (usize, u64)>,
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
        if let Some(known) = self.reuse(path, size) {
            return Ok(known);
        }
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

    /// `mkndx -x`: an earlier index of the same repository (the file's bytes, any
    /// compression; not verified, it is the caller's own). A file given to
    /// [`add_file`](Self::add_file) whose name is the one the earlier index gives a package
    /// (the last part of its `pkgname-spec`, by default `<name>-<version>.apk`) and whose
    /// size is that package's `file-size` is taken as unchanged: its entry is copied as it
    /// is and the file is not read. (An entry whose `hashes` does not have the length this
    /// index records is not reused.)
    ///
    /// ```
    /// use apk_index::adb::Compression;
    /// use apk_index::PackageInfo;
    /// use apk_pkg::{AdbIndexBuilder, PackageBuilder};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("hello-1.0-r0.apk");
    /// let mut package = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
    /// package.add_file("usr/share/hello", 0o644, "hi\n")?;
    /// package.write_v3(std::fs::File::create(&path)?)?;
    /// let mut first = AdbIndexBuilder::new();
    /// first.add_file(&path)?;
    /// let old = first.write_file(Compression::Deflate)?;
    ///
    /// // The file is replaced by something else of the same size: not read again.
    /// let len = std::fs::metadata(&path)?.len() as usize;
    /// std::fs::write(&path, vec![0u8; len])?;
    /// let mut again = AdbIndexBuilder::new();
    /// again.previous_index(&old)?;
    /// assert_eq!(again.add_file(&path)?.name, "hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn previous_index(&mut self, file: &[u8]) -> Result<&mut Self, adb::AdbError> {
        let stream = adb::decompress(file, &ReadOptions::default())?;
        let parsed = adb::AdbFile::parse_schema(&stream, SchemaId::INDEX)?;
        let index = adb::IndexFile::from_file(&parsed)?;
        let spec = index.pkgname_spec.unwrap_or("${name}-${version}.apk");
        let mut by_file = HashMap::new();
        for (position, p) in index.packages.iter().enumerate() {
            let vars = adb::PkgnameVars {
                name: p.name.unwrap_or_default(),
                version: p.version.unwrap_or_default(),
                arch: p.arch.unwrap_or_default(),
                hash: p.hashes,
            };
            let Ok(path) = vars.expand(spec) else {
                continue;
            };
            let name = path.rsplit('/').next().unwrap_or_default().to_owned();
            by_file.insert(name, (position, p.file_size.unwrap_or(0)));
        }
        self.previous = Some(Previous {
            payload: parsed.adb().payload().to_vec(),
            by_file,
        });
        Ok(self)
    }

    /// The earlier index's entry for the file at `path` of `size` bytes, copied, when
    /// [`previous_index`](Self::previous_index) knows it.
    fn reuse(&mut self, path: &Path, size: u64) -> Option<IndexedPackage> {
        let previous = self.previous.as_ref()?;
        let &(position, known) = previous.by_file.get(path.file_name()?.to_str()?)?;
        if known != size {
            return None;
        }
        let old = adb::Adb::new(&previous.payload).ok()?;
        self.writer.add_index_entry(&old, position).ok()
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
