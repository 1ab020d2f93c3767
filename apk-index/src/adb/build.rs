//! Writing the `pckg` package info and `indx` indexes (spec 4.1–4.3, 4.10, 7.1), and reading
//! the first block of an ADB file from a stream (for indexing packages without loading them).

use std::cmp::Ordering;
use std::io::Read;

use sha2::{Digest, Sha256};

use super::container::{AdbFile, Compression, ReadOptions};
use super::error::AdbError;
use super::model::{Budget, PkgInfo};
use super::schema::{self, SchemaId};
use super::stream::BlockReader;
use super::value::{Adb, Value, VectorTag};
use super::writer::{AdbWriteError, AdbWriter, write_file};
use crate::dependency::{Dependency, Op};
use crate::keys::SigningKey;
use crate::package::PackageInfo;
use crate::version::{Rules, compare};

/// The number of fields of the pkginfo schema (spec 4.2).
pub const PKGINFO_FIELDS: usize = 21;

/// Whether `name` is a valid package name: an ASCII letter or digit, then letters, digits
/// and `._+-`.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// The `match` slot of a dependency (spec 4.3): absent for plain `=` and for "any version"
/// without conflict; otherwise the operator bits, with 16 for a conflict (and 7, "any", when
/// a conflict has no version).
fn match_bits(dep: &Dependency) -> Option<u64> {
    let bits = dep.constraint().map(|(op, _)| op.bits());
    match (dep.conflict(), bits) {
        (false, None) => None,
        (false, Some(b)) if b == Op::EQUAL.bits() => None,
        (false, Some(b)) => Some(u64::from(b)),
        (true, None) => Some(16 | 7),
        (true, Some(b)) => Some(16 | u64::from(b)),
    }
}

/// Writes one dependency object (spec 4.3): name, then version, then the object.
///
/// ```
/// use apk_index::Dependency;
/// use apk_index::adb::{Adb, AdbDependency, AdbWriter, write_dependency};
///
/// let mut w = AdbWriter::new();
/// let dep: Dependency = "so:libc.musl-x86_64.so.1>=1.2".parse()?;
/// let root = write_dependency(&mut w, &dep)?;
/// let payload = w.finish(root);
/// let read = AdbDependency::from_object(&Adb::new(&payload)?.root()?)?;
/// assert_eq!(read.to_string(), "so:libc.musl-x86_64.so.1>=1.2");
/// assert_eq!(read.match_bits, Some(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dependency(w: &mut AdbWriter, dep: &Dependency) -> Result<u32, AdbWriteError> {
    if dep.tag().is_some() {
        return Err(AdbWriteError::Invalid {
            field: "dependency (a repository tag cannot be stored)",
            value: dep.to_string(),
        });
    }
    let name = w.blob(dep.name().as_bytes())?;
    let version = match dep.constraint() {
        Some((_, version)) => w.blob(version.as_bytes())?,
        None => 0,
    };
    let bits = match match_bits(dep) {
        Some(bits) => w.int(bits)?,
        None => 0,
    };
    w.object(&[name, version, bits])
}

/// Writes a dependency array: each object in the order given, then the array sorted as apk
/// sorts it (name bytewise, then version, then operator) with exact duplicates dropped.
/// Empty: NULL. `tag` is [`VectorTag::Object`] for what apk builds itself and
/// [`VectorTag::Array`] for lists converted from v2 metadata.
///
/// ```
/// use apk_index::Dependency;
/// use apk_index::adb::{Adb, AdbDependency, AdbWriter, Value, VectorTag, write_dependencies};
///
/// let deps: Vec<Dependency> = ["musl", "busybox>=1.36", "musl"].iter().map(|d| d.parse()).collect::<Result<_, _>>()?;
/// let mut w = AdbWriter::new();
/// let array = write_dependencies(&mut w, &deps, VectorTag::Object)?;
/// let payload = w.finish(array);
/// let root = Adb::new(&payload)?.root()?;
/// let names: Vec<String> = root.items().map(|v| match v? {
///     Value::Vector(o) => Ok(AdbDependency::from_object(&o)?.to_string()),
///     _ => Ok(String::new()),
/// }).collect::<Result<_, apk_index::adb::AdbError>>()?;
/// assert_eq!(names, ["busybox>=1.36", "musl"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dependencies(
    w: &mut AdbWriter,
    deps: &[Dependency],
    tag: VectorTag,
) -> Result<u32, AdbWriteError> {
    let mut items = Vec::with_capacity(deps.len());
    for dep in deps {
        items.push((dep, write_dependency(w, dep)?));
    }
    items.sort_by(|(a, wa), (b, wb)| {
        a.name()
            .as_bytes()
            .cmp(b.name().as_bytes())
            .then_with(|| {
                let va = a.constraint().map(|(_, v)| v);
                let vb = b.constraint().map(|(_, v)| v);
                match (va, vb) {
                    (Some(x), Some(y)) => compare(x.as_bytes(), y.as_bytes(), Rules::V3)
                        .then_with(|| x.as_bytes().cmp(y.as_bytes())),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                }
            })
            .then_with(|| match_bits(a).cmp(&match_bits(b)))
            .then_with(|| wa.cmp(wb))
    });
    let mut words: Vec<u32> = items.into_iter().map(|(_, word)| word).collect();
    words.dedup();
    w.array_tagged(&words, tag)
}

/// Decodes 40 hex digits into the 20 bytes of `repo-commit`.
fn commit_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 40 {
        return None;
    }
    (0..20)
        .map(|i| {
            hex.get(2 * i..2 * i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The slots of a pkginfo object being built: `slots[i]` is field `i + 1` (spec 4.2).
///
/// ```
/// use apk_index::adb::{PkgInfoSlots, schema};
/// let mut slots = PkgInfoSlots::default();
/// slots.set(schema::pkginfo::FILE_SIZE, 0x1000_0005);
/// assert_eq!(slots.get(schema::pkginfo::FILE_SIZE), 0x1000_0005);
/// assert_eq!(slots.get(99), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PkgInfoSlots(pub [u32; PKGINFO_FIELDS]);

impl PkgInfoSlots {
    /// The value word of field `field` (1-based; 0 when absent or out of range).
    ///
    /// ```
    /// assert_eq!(apk_index::adb::PkgInfoSlots::default().get(1), 0);
    /// ```
    pub fn get(&self, field: u32) -> u32 {
        field
            .checked_sub(1)
            .and_then(|i| self.0.get(i as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Sets field `field` (1-based; out-of-range fields are ignored).
    ///
    /// ```
    /// let mut slots = apk_index::adb::PkgInfoSlots::default();
    /// slots.set(2, 0x8000_0010);
    /// assert_eq!(slots.0[1], 0x8000_0010);
    /// ```
    pub fn set(&mut self, field: u32, word: u32) {
        if let Some(slot) = field
            .checked_sub(1)
            .and_then(|i| self.0.get_mut(i as usize))
        {
            *slot = word;
        }
    }

    /// Writes the pkginfo object.
    ///
    /// ```
    /// use apk_index::adb::{AdbWriter, PkgInfoSlots};
    /// let mut w = AdbWriter::new();
    /// assert_eq!(PkgInfoSlots::default().write(&mut w)?, 0);
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write(&self, w: &mut AdbWriter) -> Result<u32, AdbWriteError> {
        w.object(&self.0)
    }
}

/// Writes the package-info values of `info` in schema order, as apk's `mkpkg` does before it
/// walks the file tree: name, version, description, arch, license, origin, maintainer, url,
/// repo-commit (from 40 hex digits), build-time, provider-priority, the dependency arrays
/// (items tagged `dep_tag`) and tags. `hashes`, `installed-size` and `file-size` are left for
/// the caller. Empty text and zero numbers (build time, provider priority) are absent.
///
/// The name must be a valid package name, the commit 40 hex digits, and dependencies may not
/// carry a repository tag.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_index::adb::{AdbWriter, VectorTag, schema, write_pkginfo_fields};
///
/// let mut info = PackageInfo::new("hello", "1.0-r0");
/// info.depends.push("musl".parse()?);
/// let mut w = AdbWriter::new();
/// let slots = write_pkginfo_fields(&mut w, &info, VectorTag::Object)?;
/// assert_eq!(slots.get(schema::pkginfo::NAME), 0x8000_0008);
/// assert_ne!(slots.get(schema::pkginfo::DEPENDS), 0);
/// assert_eq!(slots.get(schema::pkginfo::ARCH), 0);
/// info.name = "-bad".into();
/// assert!(write_pkginfo_fields(&mut w, &info, VectorTag::Object).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_pkginfo_fields(
    w: &mut AdbWriter,
    info: &PackageInfo,
    dep_tag: VectorTag,
) -> Result<PkgInfoSlots, AdbWriteError> {
    use schema::pkginfo::*;
    if !valid_name(&info.name) {
        return Err(AdbWriteError::Invalid {
            field: "package name",
            value: info.name.clone(),
        });
    }
    let mut slots = PkgInfoSlots::default();
    let text = |w: &mut AdbWriter, s: Option<&str>| w.blob(s.unwrap_or_default().as_bytes());
    slots.set(NAME, text(w, Some(&info.name))?);
    slots.set(VERSION, text(w, Some(&info.version))?);
    slots.set(DESCRIPTION, text(w, Some(&info.description))?);
    slots.set(ARCH, text(w, info.arch.as_deref())?);
    slots.set(LICENSE, text(w, Some(&info.license))?);
    slots.set(ORIGIN, text(w, info.origin.as_deref())?);
    slots.set(MAINTAINER, text(w, info.maintainer.as_deref())?);
    slots.set(URL, text(w, Some(&info.url))?);
    if let Some(commit) = info.commit.as_deref().filter(|c| !c.is_empty()) {
        let bytes = commit_bytes(commit).ok_or_else(|| AdbWriteError::Invalid {
            field: "commit (40 hex digits expected)",
            value: commit.to_owned(),
        })?;
        slots.set(REPO_COMMIT, w.blob(&bytes)?);
    }
    if info.build_time != 0 {
        slots.set(BUILD_TIME, w.int(info.build_time)?);
    }
    if info.provider_priority != 0 {
        slots.set(PROVIDER_PRIORITY, w.int(u64::from(info.provider_priority))?);
    }
    for (field, deps) in [
        (DEPENDS, &info.depends),
        (PROVIDES, &info.provides),
        (REPLACES, &info.replaces),
        (INSTALL_IF, &info.install_if),
    ] {
        slots.set(field, write_dependencies(w, deps, dep_tag)?);
    }
    let mut tags = Vec::with_capacity(info.tags.len());
    for tag in &info.tags {
        tags.push(w.blob(tag.as_bytes())?);
    }
    slots.set(TAGS, w.array(&tags)?);
    Ok(slots)
}

/// Copies the value `word` of `src` into `w`, deeply: blobs and integers are written again,
/// objects and arrays item by item keeping their tag. `budget` counts the values copied.
fn copy_value(
    w: &mut AdbWriter,
    src: &Adb<'_>,
    word: u32,
    depth: u32,
    budget: &mut Budget,
) -> Result<u32, AdbWriteError> {
    budget.take(1).map_err(AdbWriteError::Read)?;
    Ok(match src.value(word).map_err(AdbWriteError::Read)? {
        Value::Null => 0,
        // Only the special values themselves are immediate: keep the word.
        Value::True | Value::False => word,
        Value::Int(v) => w.int(v)?,
        Value::Blob(b) => w.blob(b)?,
        Value::Vector(v) => {
            if depth == 0 {
                return Err(AdbWriteError::Read(AdbError::Invalid(
                    "values nested too deeply to copy".into(),
                )));
            }
            let mut slots = Vec::with_capacity(v.len());
            for i in 1..v.slot_count().max(1) {
                slots.push(copy_value(w, src, v.word(i), depth - 1, budget)?);
            }
            w.vector_tagged(&slots, v.tag())?
        }
    })
}

/// What a v3 index records as a package's `hashes` (spec 7.1).
///
/// ```
/// use apk_index::adb::IndexHash;
/// assert_eq!(IndexHash::default(), IndexHash::Sha256);
/// assert_eq!("sha256-160".parse::<IndexHash>(), Ok(IndexHash::Sha256Trunc160));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexHash {
    /// SHA-256 of the package's ADB payload, 32 bytes (apk's default; lets apk install an
    /// unsigned package from a signed index).
    #[default]
    Sha256,
    /// The first 20 bytes of it (`mkndx --hash sha256-160`).
    Sha256Trunc160,
}

impl std::str::FromStr for IndexHash {
    type Err = String;

    /// `sha256` or `sha256-160`, as `mkndx --hash` takes them.
    ///
    /// ```
    /// use apk_index::adb::IndexHash;
    /// assert_eq!("sha256".parse::<IndexHash>(), Ok(IndexHash::Sha256));
    /// assert!("md5".parse::<IndexHash>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<IndexHash, String> {
        match s {
            "sha256" => Ok(IndexHash::Sha256),
            "sha256-160" => Ok(IndexHash::Sha256Trunc160),
            other => Err(format!(
                "unknown index hash {other:?} (expected sha256 or sha256-160)"
            )),
        }
    }
}

/// One package entry of an [`IndexWriter`].
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    version: String,
    hashes: Vec<u8>,
    word: u32,
}

/// What [`IndexWriter`] recorded for one package.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_index::adb::IndexWriter;
/// let mut info = PackageInfo::new("a", "1-r0");
/// info.identity = Some(apk_index::Checksum::sha1([1; 20]));
/// let mut index = IndexWriter::new();
/// let added = index.add_package_info(&info)?;
/// assert_eq!((added.name.as_str(), added.hashes.len()), ("a", 20));
/// # Ok::<(), apk_index::adb::AdbWriteError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexedPackage {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The `hashes` value recorded (the package identity).
    pub hashes: Vec<u8>,
}

/// Builds a v3 repository index (`Packages.adb`, schema `indx`) the way apk-tools 3's `mkndx`
/// lays it out.
///
/// Each v3 package's pkginfo is copied field by field into the index heap as it is added
/// ([`add_v3_package`](Self::add_v3_package)); then `file-size` is set and `hashes` becomes
/// the package identity, SHA-256 of the package's ADB payload. (Like apk, this leaves the
/// copy of the package's own unique id in the heap, unreferenced.) v2 packages are converted
/// from their metadata ([`add_package_info`](Self::add_package_info)), with their SHA-1
/// identity. At the end the description, the packages array (sorted by name, version and
/// identity) and the pkgname-spec are written, and the root.
///
/// ```
/// use apk_index::adb::{self, AdbWriter, Compression, IndexWriter};
/// use apk_index::{Index, IndexOptions, PackageInfo};
///
/// let mut info = PackageInfo::new("hello", "1.0-r0");
/// info.identity = Some(apk_index::Checksum::sha1([7; 20]));
/// info.size = 1234;
/// let mut index = IndexWriter::new();
/// index.description(Some("demo".into()));
/// index.add_package_info(&info)?;
/// let bytes = index.write_file(&[], Compression::Deflate)?;
///
/// let loaded = Index::from_adb_bytes(&bytes, None, &IndexOptions::default())?;
/// assert_eq!(loaded.description(), Some("demo"));
/// assert_eq!(loaded.package(0).size(), 1234);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct IndexWriter {
    w: AdbWriter,
    entries: Vec<Entry>,
    description: Option<String>,
    pkgname_spec: Option<String>,
    hash: IndexHash,
}

impl IndexWriter {
    /// An empty index.
    ///
    /// ```
    /// assert!(apk_index::adb::IndexWriter::new().is_empty());
    /// ```
    pub fn new() -> IndexWriter {
        IndexWriter::default()
    }

    /// The number of packages added.
    ///
    /// ```
    /// assert_eq!(apk_index::adb::IndexWriter::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no package was added.
    ///
    /// ```
    /// assert!(apk_index::adb::IndexWriter::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The repository description (`mkndx -d`).
    ///
    /// ```
    /// let mut index = apk_index::adb::IndexWriter::new();
    /// index.description(Some("edge main".into()));
    /// ```
    pub fn description(&mut self, description: Option<String>) -> &mut Self {
        self.description = description;
        self
    }

    /// The download path template (`mkndx --pkgname-spec`), e.g.
    /// `${arch}/${name}-${version}.apk`.
    ///
    /// ```
    /// let mut index = apk_index::adb::IndexWriter::new();
    /// index.pkgname_spec(Some("${name}-${version}.apk".into()));
    /// ```
    pub fn pkgname_spec(&mut self, spec: Option<String>) -> &mut Self {
        self.pkgname_spec = spec;
        self
    }

    /// What `hashes` holds for v3 packages added afterwards (default full SHA-256).
    ///
    /// ```
    /// use apk_index::adb::{IndexHash, IndexWriter};
    /// let mut index = IndexWriter::new();
    /// index.hash(IndexHash::Sha256Trunc160);
    /// ```
    pub fn hash(&mut self, hash: IndexHash) -> &mut Self {
        self.hash = hash;
        self
    }

    /// Adds a v3 package from its ADB block payload (see [`read_adb_head`]) and the size of
    /// the package file in bytes. The payload must be a valid package whose info has a
    /// valid name and a version.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, IndexWriter};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// let mut index = IndexWriter::new();
    /// let added = index.add_v3_package(file.adb().payload(), stream.len() as u64)?;
    /// assert_eq!(added.name, "tiny");
    /// assert_eq!(added.hashes, adb::package_identity(&file.adb()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_v3_package(
        &mut self,
        payload: &[u8],
        file_size: u64,
    ) -> Result<IndexedPackage, AdbWriteError> {
        use schema::pkginfo::{FILE_SIZE, HASHES};
        let adb = Adb::new(payload).map_err(AdbWriteError::Read)?;
        let info = adb
            .root()
            .and_then(|root| root.vector(schema::package::INFO))
            .map_err(AdbWriteError::Read)?
            .ok_or_else(|| AdbWriteError::Read(AdbError::Invalid("package without info".into())))?;
        let mut budget = Budget::for_adb(&adb);
        let typed = PkgInfo::from_object(&info, &mut budget).map_err(AdbWriteError::Read)?;
        let name = typed.name.unwrap_or_default();
        let version = typed.version.unwrap_or_default();
        if !valid_name(name) || version.is_empty() {
            return Err(AdbWriteError::Invalid {
                field: "package name and version",
                value: format!("{name}-{version}"),
            });
        }
        let mut slots = PkgInfoSlots::default();
        for field in 1..=PKGINFO_FIELDS as u32 {
            slots.set(
                field,
                copy_value(&mut self.w, &adb, info.word(field), 8, &mut budget)?,
            );
        }
        slots.set(FILE_SIZE, self.w.int(file_size)?);
        let digest = Sha256::digest(payload);
        let hashes = match self.hash {
            IndexHash::Sha256 => digest.to_vec(),
            IndexHash::Sha256Trunc160 => digest[..20].to_vec(),
        };
        slots.set(HASHES, self.w.blob(&hashes)?);
        let word = slots.write(&mut self.w)?;
        Ok(self.push(name.to_owned(), version.to_owned(), hashes, word))
    }

    /// Copies entry `position` (0-based) of an earlier index, whose ADB block is `old`, as it
    /// is (its `file-size` and `hashes` too): what `mkndx -x` does for a package file that
    /// did not change. Fails when `old` is not an index with such an entry, or when its
    /// `hashes` is not of the length this index records ([`hash`](Self::hash)).
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, IndexWriter};
    /// let old = adb::tests_support::tiny_index();
    /// let file = AdbFile::parse(&old)?;
    /// let mut index = IndexWriter::new();
    /// let copied = index.add_index_entry(&file.adb(), 0)?;
    /// assert_eq!((copied.name.as_str(), copied.hashes.len()), ("hello", 32));
    /// assert!(index.add_index_entry(&file.adb(), 1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_index_entry(
        &mut self,
        old: &Adb<'_>,
        position: usize,
    ) -> Result<IndexedPackage, AdbWriteError> {
        let missing =
            || AdbWriteError::Read(AdbError::Invalid(format!("no index entry {position}")));
        let slot = u32::try_from(position + 1).map_err(|_| missing())?;
        let info = old
            .root()
            .and_then(|root| root.vector(schema::index::PACKAGES))
            .map_err(AdbWriteError::Read)?
            .ok_or_else(missing)?
            .vector(slot)
            .map_err(AdbWriteError::Read)?
            .ok_or_else(missing)?;
        let mut budget = Budget::for_adb(old);
        let typed = PkgInfo::from_object(&info, &mut budget).map_err(AdbWriteError::Read)?;
        let hashes = typed.hashes.unwrap_or_default().to_vec();
        let wanted = match self.hash {
            IndexHash::Sha256 => 32,
            IndexHash::Sha256Trunc160 => 20,
        };
        if hashes.len() != wanted {
            return Err(AdbWriteError::Invalid {
                field: "hashes of the earlier index entry",
                value: format!("{} bytes", hashes.len()),
            });
        }
        let mut slots = PkgInfoSlots::default();
        for field in 1..=PKGINFO_FIELDS as u32 {
            slots.set(
                field,
                copy_value(&mut self.w, old, info.word(field), 8, &mut budget)?,
            );
        }
        let word = slots.write(&mut self.w)?;
        let name = typed.name.unwrap_or_default().to_owned();
        let version = typed.version.unwrap_or_default().to_owned();
        Ok(self.push(name, version, hashes, word))
    }

    /// Adds a package described by v2 metadata (`.PKGINFO` read from a v2 package): its
    /// `identity` (20-byte SHA-1 of the control segment) becomes `hashes`, `size` the
    /// `file-size`; dependency arrays are tagged as arrays (`0xD`), as apk does for
    /// converted metadata. The identity is required.
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// use apk_index::adb::IndexWriter;
    /// let mut index = IndexWriter::new();
    /// assert!(index.add_package_info(&PackageInfo::new("a", "1-r0")).is_err()); // no identity
    /// ```
    pub fn add_package_info(
        &mut self,
        info: &PackageInfo,
    ) -> Result<IndexedPackage, AdbWriteError> {
        use schema::pkginfo::{FILE_SIZE, HASHES, INSTALLED_SIZE};
        let Some(identity) = info.identity.as_ref() else {
            return Err(AdbWriteError::Invalid {
                field: "package identity (missing)",
                value: format!("{}-{}", info.name, info.version),
            });
        };
        if info.version.is_empty() {
            return Err(AdbWriteError::Invalid {
                field: "package version",
                value: info.name.clone(),
            });
        }
        let hashes = identity.as_bytes().to_vec();
        let mut slots = write_pkginfo_fields(&mut self.w, info, VectorTag::Array)?;
        slots.set(HASHES, self.w.blob(&hashes)?);
        slots.set(INSTALLED_SIZE, self.w.int(info.installed_size)?);
        slots.set(FILE_SIZE, self.w.int(info.size)?);
        let word = slots.write(&mut self.w)?;
        Ok(self.push(info.name.clone(), info.version.clone(), hashes, word))
    }

    fn push(
        &mut self,
        name: String,
        version: String,
        hashes: Vec<u8>,
        word: u32,
    ) -> IndexedPackage {
        let added = IndexedPackage {
            name: name.clone(),
            version: version.clone(),
            hashes: hashes.clone(),
        };
        self.entries.push(Entry {
            name,
            version,
            hashes,
            word,
        });
        added
    }

    /// Finishes the index and returns its ADB payload.
    ///
    /// ```
    /// use apk_index::adb::{Adb, IndexWriter};
    /// let mut index = IndexWriter::new();
    /// index.description(Some("empty".into()));
    /// let payload = index.finish()?;
    /// assert_eq!(Adb::new(&payload)?.root()?.str(1)?, Some("empty"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<Vec<u8>, AdbWriteError> {
        use schema::index::*;
        self.entries.sort_by(|a, b| {
            a.name
                .as_bytes()
                .cmp(b.name.as_bytes())
                .then_with(|| version_order(&a.version, &b.version))
                .then_with(|| a.hashes.cmp(&b.hashes))
                .then_with(|| a.word.cmp(&b.word))
        });
        let mut words: Vec<u32> = self.entries.iter().map(|e| e.word).collect();
        words.dedup();
        let mut root = [0u32; 3];
        root[DESCRIPTION as usize - 1] = self
            .w
            .blob(self.description.as_deref().unwrap_or_default().as_bytes())?;
        root[PACKAGES as usize - 1] = self.w.array(&words)?;
        root[PKGNAME_SPEC as usize - 1] = self
            .w
            .blob(self.pkgname_spec.as_deref().unwrap_or_default().as_bytes())?;
        let root_word = self.w.object(&root)?;
        // Readers need a root object: an index with nothing at all still gets one slot.
        let root_word = if root_word == 0 {
            self.w.empty_object()?
        } else {
            root_word
        };
        Ok(self.w.finish(root_word))
    }

    /// Finishes the index and writes the whole file: signed by each key (one SIG block
    /// each, in order) and wrapped with `compression`.
    ///
    /// ```
    /// use apk_index::adb::{Compression, IndexWriter};
    /// let bytes = IndexWriter::new().write_file(&[], Compression::None)?;
    /// assert!(bytes.starts_with(b"ADB.indx"));
    /// # Ok::<(), apk_index::adb::AdbWriteError>(())
    /// ```
    pub fn write_file(
        self,
        keys: &[&SigningKey],
        compression: Compression,
    ) -> Result<Vec<u8>, AdbWriteError> {
        let payload = self.finish()?;
        write_file(SchemaId::INDEX, &payload, keys, compression)
    }
}

/// apk version order, then bytewise for versions that compare equal.
fn version_order(a: &str, b: &str) -> Ordering {
    compare(a.as_bytes(), b.as_bytes(), Rules::V3).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// The first block of an ADB file, read from a stream by [`read_adb_head`].
///
/// ```
/// use apk_index::adb::{self, SchemaId};
/// let stream = adb::tests_support::tiny_package();
/// let head = adb::read_adb_head(&stream[..], &adb::ReadOptions::default())?;
/// assert_eq!(head.schema, SchemaId::PACKAGE);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdbHead {
    /// The compression wrapper.
    pub compression: Compression,
    /// The schema id.
    pub schema: SchemaId,
    /// The ADB block payload (checked to have a valid 8-byte header).
    pub payload: Vec<u8>,
}

/// Reads an ADB file from `reader` only as far as its DATA blocks (through the compression
/// wrapper), without loading them: what indexing a package needs. The SIG blocks are read
/// and checked for structure, not verified; nothing after them is read.
///
/// ```
/// use apk_index::adb::{self, AdbFile};
/// let stream = adb::tests_support::tiny_package();
/// let head = adb::read_adb_head(&stream[..], &adb::ReadOptions::default())?;
/// assert_eq!(head.payload, AdbFile::parse(&stream)?.adb().payload());
/// assert!(adb::read_adb_head(&b"ADB.pckg"[..], &adb::ReadOptions::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_adb_head(reader: impl Read, options: &ReadOptions) -> Result<AdbHead, AdbError> {
    let blocks = BlockReader::open(std::io::BufReader::new(reader), options)?;
    let file = AdbFile::parse(blocks.head())?;
    Ok(AdbHead {
        compression: blocks.compression(),
        schema: file.schema(),
        payload: file.adb().payload().to_vec(),
    })
}
