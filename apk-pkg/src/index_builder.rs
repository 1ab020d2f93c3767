//! Building a repository index from package files, as `apk index` does.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use apk_index::archive::{WriteArchiveError, write_index_archive};
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{PackageInfo, Rules};

use crate::reader::{ReadPackageError, read_package_info};

/// Returned by [`IndexBuilder::add_file`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexPackageError {
    /// The package could not be read (or failed its checks).
    #[error("failed to index {}", path.display())]
    Read {
        /// The package file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ReadPackageError,
    },
    /// A v3 package could not be read or indexed.
    #[error("failed to index {}", path.display())]
    Adb {
        /// The package file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: apk_index::adb::AdbWriteError,
    },
    /// The package file could not be opened or read.
    #[error("failed to read {}", path.display())]
    Io {
        /// The package file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Collects packages and writes an `APKINDEX` (and a signed `APKINDEX.tar.gz`) the way
/// `apk index` does: one record per package with its identity (`C:`), the file size (`S:`)
/// and the `.PKGINFO` fields, packages sorted by name and then version.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_pkg::IndexBuilder;
///
/// let mut builder = IndexBuilder::new();
/// let mut pkg = PackageInfo::new("hello", "1.0-r0");
/// pkg.arch = Some("noarch".to_owned());
/// builder.rewrite_arch(Some("x86_64".to_owned())).add_package(pkg);
/// let text = String::from_utf8(builder.build())?;
/// assert_eq!(text, "P:hello\nV:1.0-r0\nA:x86_64\nS:0\nI:0\nT:\nU:\nL:\n\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    packages: Vec<PackageInfo>,
    rewrite_arch: Option<String>,
    description: Option<String>,
    /// `-x`: the records of an earlier index by file name (`<name>-<version>.apk`).
    previous: HashMap<String, PackageInfo>,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// `--rewrite-arch`: packages whose arch is `noarch` are recorded with `arch` instead
    /// (applies to packages added before and after).
    pub fn rewrite_arch(&mut self, arch: Option<String>) -> &mut Self {
        self.rewrite_arch = arch;
        self
    }

    /// `-d`: the repository description stored in the archive's `DESCRIPTION` entry.
    pub fn description(&mut self, description: Option<String>) -> &mut Self {
        self.description = description;
        self
    }

    /// `-x`: an earlier index of the same packages. A file given to
    /// [`add_file`](Self::add_file) whose name is `<name>-<version>.apk` of one of its
    /// records, with that record's size (`S:`), is taken as unchanged: its record is reused
    /// and the file is not read (what makes re-indexing a large repository quick).
    ///
    /// ```
    /// use apk_index::{Index, IndexOptions};
    /// let old = Index::from_text("P:hello\nV:1.0-r0\nS:4\nC:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n", &IndexOptions::default());
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("hello-1.0-r0.apk");
    /// std::fs::write(&file, b"four")?; // not a package, but named and sized as the record
    /// let mut builder = apk_pkg::IndexBuilder::new();
    /// builder.previous_index(&old);
    /// assert_eq!(builder.add_file(&file)?.version, "1.0-r0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn previous_index(&mut self, index: &apk_index::Index) -> &mut Self {
        self.previous = index
            .packages()
            .map(|p| (format!("{}-{}.apk", p.name(), p.version()), p.to_owned()))
            .collect();
        self
    }

    /// Reads the package file at `path` (whole, streaming: identity, datahash and checksums
    /// are checked) and adds it, unless [`previous_index`](Self::previous_index) has it.
    /// Returns the recorded metadata.
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<&PackageInfo, IndexPackageError> {
        let path = path.as_ref();
        if let Some(known) = self.unchanged(path) {
            return Ok(self.add_package(known));
        }
        let (info, _) = read_package_info(path).map_err(|source| IndexPackageError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.add_package(info))
    }

    /// The earlier index's record of the file at `path`, when its name and size match.
    fn unchanged(&self, path: &Path) -> Option<PackageInfo> {
        let known = self.previous.get(path.file_name()?.to_str()?)?;
        let size = std::fs::metadata(path).ok()?.len();
        (known.size == size).then(|| known.clone())
    }

    /// Adds already-read metadata (its `identity` and `size` are used as given).
    pub fn add_package(&mut self, info: PackageInfo) -> &PackageInfo {
        self.packages.push(info);
        let last = self.packages.len() - 1;
        &self.packages[last]
    }

    /// The packages added so far, in the order added.
    pub fn packages(&self) -> &[PackageInfo] {
        &self.packages
    }

    /// The `APKINDEX` text.
    pub fn build(&self) -> Vec<u8> {
        let mut order: Vec<&PackageInfo> = self.packages.iter().collect();
        order.sort_by(|a, b| {
            a.name.cmp(&b.name).then_with(|| {
                let cmp = apk_index::version::compare(
                    a.version.as_bytes(),
                    b.version.as_bytes(),
                    Rules::V2,
                );
                if cmp == Ordering::Equal {
                    a.version.cmp(&b.version)
                } else {
                    cmp
                }
            })
        });
        let mut out = Vec::new();
        for pkg in order {
            let rewritten;
            let pkg = match (&self.rewrite_arch, pkg.arch.as_deref()) {
                (Some(arch), Some("noarch")) => {
                    let mut copy = pkg.clone();
                    copy.arch = Some(arch.clone());
                    rewritten = copy;
                    &rewritten
                }
                _ => pkg,
            };
            pkg.write_index_record(&mut out)
                .expect("writing into a Vec cannot fail");
            out.push(b'\n');
        }
        out
    }

    /// The `APKINDEX.tar.gz` bytes: the index text and the description, signed by each of
    /// `signers` (none: unsigned).
    pub fn write_archive(
        &self,
        signers: &[(&SigningKey, SignatureAlgorithm)],
    ) -> Result<Vec<u8>, WriteArchiveError> {
        write_index_archive(
            &self.build(),
            self.description.as_deref().map(str::as_bytes),
            signers,
        )
    }
}
