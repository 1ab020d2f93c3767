//! Typed views of the `pckg` and `indx` schemas, and their conversion to the crate's models.

use std::borrow::Cow;
use std::fmt;

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::container::{AdbFile, DataBlock, ReadOptions, decompress};
use super::error::{AdbError, DataErrorKind};
use super::schema::{self, SchemaId};
use super::stream::{BlockReader, DataHeader};
use super::trust::unique_id;
use super::value::{Adb, Value, Vector, expect_blob, expect_vector};
use crate::checksum::{Checksum, ChecksumForm};
use crate::dependency::{Dependency, DependencyRef, Op};
use crate::index::{Index, IndexOptions};
use crate::keys::KeySet;
use crate::package::PackageInfo;

/// A cap on how many array items one decode may produce. apk de-duplicates values, so one
/// object may legitimately be referenced many times, but a hostile file could make a small
/// payload describe an enormous tree (an array whose items all point at one huge array). The
/// cap is proportional to the payload: every distinct item costs at least 12 payload bytes,
/// so this allows each one to be reached about six times on average.
pub(crate) struct Budget {
    left: u64,
    limit: u64,
}

impl Budget {
    pub(crate) fn for_adb(adb: &Adb<'_>) -> Budget {
        let limit = adb.payload().len() as u64 / 2 + 4096;
        Budget { left: limit, limit }
    }

    pub(crate) fn take(&mut self, n: u64) -> Result<(), AdbError> {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(AdbError::TooManyItems { limit: self.limit }),
        }
    }
}

/// The items of the array in field `field` of `obj` (none when absent), charged to `budget`.
fn array_items<'a>(
    obj: &Vector<'a>,
    field: u32,
    budget: &mut Budget,
) -> Result<Vec<(u32, Value<'a>)>, AdbError> {
    let Some(array) = obj.vector(field)? else {
        return Ok(Vec::new());
    };
    budget.take(array.len() as u64)?;
    let mut items = Vec::with_capacity(array.len());
    for slot in 1..array.slot_count().max(1) {
        let value = array
            .get(slot)
            .map_err(|e| e.context(format!("[{}]", slot - 1)))?;
        if value != Value::Null {
            items.push((slot, value));
        }
    }
    Ok(items)
}

/// The context name of field `field` of an object of `schema`.
fn field_name(schema: &schema::ObjectSchema, field: u32) -> &'static str {
    schema.field(field).map_or("?", |f| f.name)
}

/// Reads field `field` with `read`, naming the field in an error.
fn in_field<T>(
    schema: &schema::ObjectSchema,
    field: u32,
    read: impl FnOnce() -> Result<T, AdbError>,
) -> Result<T, AdbError> {
    read().map_err(|e| e.context(field_name(schema, field)))
}

/// A dependency object (spec 4.3): `name`, optional `version`, optional `match` bit mask.
///
/// ```
/// use apk_index::adb::AdbDependency;
/// let dep = AdbDependency { name: "so:libc.so", version: Some("1"), match_bits: Some(5) };
/// assert_eq!(dep.to_string(), "so:libc.so>=1");
/// let conflict = AdbDependency { name: "foo", version: None, match_bits: Some(23) };
/// assert_eq!(conflict.to_string(), "!foo");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdbDependency<'a> {
    /// The name (a package, `so:…`, `cmd:…`, …).
    pub name: &'a str,
    /// The version, or the identity for `><`; absent means any version.
    pub version: Option<&'a str>,
    /// The operator bits (1 equal, 2 less, 4 greater, 8 fuzzy, 16 conflict) as stored.
    pub match_bits: Option<u64>,
}

impl<'a> AdbDependency<'a> {
    /// Reads a dependency object.
    ///
    /// ```
    /// use apk_index::adb::{Adb, AdbDependency};
    /// // root = dependency object at P+8: n=2, name = blob8 at P+16 ("libc").
    /// let p = [0, 0, 0, 0, 8, 0, 0, 0xE0, 2, 0, 0, 0, 16, 0, 0, 0x80, 4, b'l', b'i', b'b', b'c'];
    /// let dep = AdbDependency::from_object(&Adb::new(&p)?.root()?)?;
    /// assert_eq!(dep.to_string(), "libc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_object(obj: &Vector<'a>) -> Result<AdbDependency<'a>, AdbError> {
        use schema::dependency::*;
        let s = &schema::DEPENDENCY;
        let name = in_field(s, NAME, || obj.str(NAME))?
            .ok_or_else(|| AdbError::Invalid("dependency without a name".into()))?;
        Ok(AdbDependency {
            name,
            version: in_field(s, VERSION, || obj.str(VERSION))?,
            match_bits: in_field(s, MATCH, || obj.int(MATCH))?,
        })
    }

    /// Whether this is a `!` conflict.
    ///
    /// ```
    /// use apk_index::adb::AdbDependency;
    /// let dep = AdbDependency { name: "foo", version: Some("1"), match_bits: Some(21) };
    /// assert!(dep.conflict());
    /// assert_eq!(dep.to_string(), "!foo>=1");
    /// ```
    pub fn conflict(&self) -> bool {
        self.match_bits.unwrap_or(0) & 16 != 0
    }

    /// The operator bits that apply to the version: none without a version, otherwise the
    /// stored bits (equal when they are 0 or absent).
    ///
    /// ```
    /// use apk_index::adb::AdbDependency;
    /// let dep = AdbDependency { name: "a", version: Some("1"), match_bits: None };
    /// assert_eq!(dep.op_bits(), Some(1));
    /// ```
    pub fn op_bits(&self) -> Option<u8> {
        self.version?;
        let bits = (self.match_bits.unwrap_or(0) & 15) as u8;
        Some(if bits == 0 { 1 } else { bits })
    }

    /// The dependency as the crate's [`DependencyRef`]. An operator apk does not know is an
    /// error.
    ///
    /// ```
    /// use apk_index::Op;
    /// use apk_index::adb::AdbDependency;
    /// let dep = AdbDependency { name: "foo", version: Some("2"), match_bits: Some(9) };
    /// assert_eq!(dep.to_dependency_ref()?.constraint(), Some((Op::FUZZY, "2")));
    /// let odd = AdbDependency { name: "foo", version: Some("2"), match_bits: Some(7) };
    /// assert!(odd.to_dependency_ref().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_dependency_ref(&self) -> Result<DependencyRef<'a>, AdbError> {
        let constraint = match (self.op_bits(), self.version) {
            (Some(bits), Some(version)) => {
                let op = Op::from_bits(bits).ok_or_else(|| {
                    AdbError::Invalid(format!(
                        "dependency {}: unknown operator bits {bits}",
                        self.name
                    ))
                })?;
                Some((op, version))
            }
            _ => None,
        };
        Ok(DependencyRef::from_parts(
            self.name,
            None,
            constraint,
            self.conflict(),
        ))
    }

    /// The dependency as an owned, validated [`Dependency`].
    fn to_dependency(self) -> Result<Dependency, AdbError> {
        let d = self.to_dependency_ref()?;
        check_dep_token(self.name, self.version)?;
        Dependency::new(d.name(), None, d.constraint(), d.conflict())
            .map_err(|e| AdbError::Invalid(format!("invalid dependency: {e}")))
    }
}

impl fmt::Display for AdbDependency<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.conflict() {
            f.write_str("!")?;
        }
        f.write_str(self.name)?;
        if let (Some(bits), Some(version)) = (self.op_bits(), self.version) {
            let op = Op::from_bits(bits).map_or("?", Op::as_str);
            write!(f, "{op}{version}")?;
        }
        Ok(())
    }
}

fn deps<'a>(
    obj: &Vector<'a>,
    field: u32,
    budget: &mut Budget,
) -> Result<Vec<AdbDependency<'a>>, AdbError> {
    in_field(&schema::PKGINFO, field, || {
        array_items(obj, field, budget)?
            .into_iter()
            .map(|(slot, value)| {
                let item = || -> Result<AdbDependency<'a>, AdbError> {
                    let v = expect_vector(value, u64::from(obj.offset()))?
                        .ok_or_else(|| AdbError::Invalid("empty dependency".into()))?;
                    AdbDependency::from_object(&v)
                };
                item().map_err(|e| e.context(format!("[{}]", slot - 1)))
            })
            .collect()
    })
}

fn strings<'a>(
    obj: &Vector<'a>,
    schema: &schema::ObjectSchema,
    field: u32,
    budget: &mut Budget,
) -> Result<Vec<&'a str>, AdbError> {
    in_field(schema, field, || {
        array_items(obj, field, budget)?
            .into_iter()
            .filter_map(|(slot, value)| {
                let item = || -> Result<Option<&'a str>, AdbError> {
                    match expect_blob(value, u64::from(obj.offset()))? {
                        None => Ok(None),
                        Some(b) => std::str::from_utf8(b)
                            .map(Some)
                            .map_err(|_| AdbError::Value {
                                offset: u64::from(obj.offset()),
                                kind: super::error::ValueErrorKind::NotUtf8,
                            }),
                    }
                };
                item()
                    .map_err(|e| e.context(format!("[{}]", slot - 1)))
                    .transpose()
            })
            .collect()
    })
}

/// A package info object (spec 4.2): the metadata of a package, inside a package file or as
/// an index entry. Fields are borrowed from the ADB payload; absent fields are `None` or empty.
///
/// ```
/// use apk_index::adb::{self, AdbFile, IndexFile};
/// let data = adb::tests_support::tiny_index();
/// let index = IndexFile::from_file(&AdbFile::parse(&data)?)?;
/// let hello = &index.packages[0];
/// assert_eq!((hello.name, hello.version), (Some("hello"), Some("1.0-r0")));
/// assert_eq!(hello.hashes.map(<[u8]>::len), Some(32));
/// assert_eq!(hello.file_size, Some(160));
/// assert_eq!(hello.depends[0].name, "libc");
/// let info = hello.to_package_info()?;
/// assert_eq!(info.depends[0].to_string(), "libc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PkgInfo<'a> {
    /// 1 `name`.
    pub name: Option<&'a str>,
    /// 2 `version`.
    pub version: Option<&'a str>,
    /// 3 `hashes`: in an index the package identity (SHA-256 of its ADB payload), in a
    /// package its 20-byte unique id.
    pub hashes: Option<&'a [u8]>,
    /// 4 `description`.
    pub description: Option<&'a str>,
    /// 5 `arch`.
    pub arch: Option<&'a str>,
    /// 6 `license`.
    pub license: Option<&'a str>,
    /// 7 `origin`.
    pub origin: Option<&'a str>,
    /// 8 `maintainer`.
    pub maintainer: Option<&'a str>,
    /// 9 `url`.
    pub url: Option<&'a str>,
    /// 10 `repo-commit` (20 bytes).
    pub repo_commit: Option<&'a [u8]>,
    /// 11 `build-time`, Unix seconds.
    pub build_time: Option<u64>,
    /// 12 `installed-size`.
    pub installed_size: Option<u64>,
    /// 13 `file-size` (index entries).
    pub file_size: Option<u64>,
    /// 14 `provider-priority`.
    pub provider_priority: Option<u64>,
    /// 15 `depends`.
    pub depends: Vec<AdbDependency<'a>>,
    /// 16 `provides`.
    pub provides: Vec<AdbDependency<'a>>,
    /// 17 `replaces`.
    pub replaces: Vec<AdbDependency<'a>>,
    /// 18 `install-if`.
    pub install_if: Vec<AdbDependency<'a>>,
    /// 19 `recommends`.
    pub recommends: Vec<AdbDependency<'a>>,
    /// 20 `layer` (0 root file system, 1 uvol).
    pub layer: Option<u64>,
    /// 21 `tags`, in stored order.
    pub tags: Vec<&'a str>,
}

impl<'a> PkgInfo<'a> {
    /// Reads a pkginfo object. Array items count against `budget` (see [`Package::from_file`]
    /// for the usual entry point).
    pub(crate) fn from_object(obj: &Vector<'a>, budget: &mut Budget) -> Result<Self, AdbError> {
        use schema::pkginfo::*;
        let s = &schema::PKGINFO;
        let text = |i| in_field(s, i, || obj.str(i));
        let blob = |i| in_field(s, i, || obj.blob(i));
        let int = |i| in_field(s, i, || obj.int(i));
        Ok(PkgInfo {
            name: text(NAME)?,
            version: text(VERSION)?,
            hashes: blob(HASHES)?,
            description: text(DESCRIPTION)?,
            arch: text(ARCH)?,
            license: text(LICENSE)?,
            origin: text(ORIGIN)?,
            maintainer: text(MAINTAINER)?,
            url: text(URL)?,
            repo_commit: blob(REPO_COMMIT)?,
            build_time: int(BUILD_TIME)?,
            installed_size: int(INSTALLED_SIZE)?,
            file_size: int(FILE_SIZE)?,
            provider_priority: int(PROVIDER_PRIORITY)?,
            depends: deps(obj, DEPENDS, budget)?,
            provides: deps(obj, PROVIDES, budget)?,
            replaces: deps(obj, REPLACES, budget)?,
            install_if: deps(obj, INSTALL_IF, budget)?,
            recommends: deps(obj, RECOMMENDS, budget)?,
            layer: int(LAYER)?,
            tags: strings(obj, s, TAGS, budget)?,
        })
    }

    /// The `hashes` value as a [`Checksum`]: 20 bytes in the `Q1` form, 32 bytes (a SHA-256
    /// package identity) in the `Q2` form; `None` when absent or of another length.
    ///
    /// ```
    /// use apk_index::adb::PkgInfo;
    /// let mut info = PkgInfo::default();
    /// let id = [7u8; 32];
    /// info.hashes = Some(&id);
    /// assert!(info.identity().unwrap().to_string().starts_with("Q2"));
    /// ```
    pub fn identity(&self) -> Option<Checksum> {
        let hashes = self.hashes?;
        match hashes.len() {
            20 => Checksum::from_digest(hashes, ChecksumForm::Q1),
            32 => Checksum::from_digest(hashes, ChecksumForm::Q2),
            _ => None,
        }
    }

    /// The identity apk-tools identifies the package by: the first 20 bytes of `hashes`
    /// (all of a 20-byte value, a SHA-256 cut to 160 bits otherwise) in the `Q1` form, which
    /// is also what it records as `C:` in the installed database and the triggers file.
    /// `None` when `hashes` is absent or shorter than 20 bytes.
    ///
    /// ```
    /// use apk_index::adb::PkgInfo;
    /// let mut info = PkgInfo::default();
    /// let id: Vec<u8> = (0..32).collect();
    /// info.hashes = Some(&id);
    /// assert_eq!(info.short_identity().unwrap().as_bytes(), &id[..20]);
    /// assert!(info.short_identity().unwrap().to_string().starts_with("Q1"));
    /// ```
    pub fn short_identity(&self) -> Option<Checksum> {
        Checksum::from_digest(self.hashes?.get(..20)?, ChecksumForm::Q1)
    }

    /// The package as the crate's [`PackageInfo`]: identity from `hashes` (see
    /// [`identity`](Self::identity)), `S:` from `file-size`, `c:` as 40 hex digits, the
    /// dependency lists, replaces and tags. `recommends` and `layer` have no place there.
    ///
    /// Names, versions, architectures, origins, tags and dependencies must be single tokens
    /// (no whitespace or control characters; dependency names without `<>=~@!`), and
    /// dependencies must be valid; other text fields have line breaks replaced by spaces, so
    /// that nothing can be smuggled into the line-based text formats.
    ///
    /// ```
    /// use apk_index::adb::PkgInfo;
    /// let mut info = PkgInfo::default();
    /// info.name = Some("hello");
    /// info.version = Some("1.0-r0");
    /// info.description = Some("two\nlines");
    /// let pkg = info.to_package_info()?;
    /// assert_eq!(pkg.description, "two lines");
    /// info.name = Some("bad name");
    /// assert!(info.to_package_info().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_package_info(&self) -> Result<PackageInfo, AdbError> {
        let name = self
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| AdbError::Invalid("package without a name".into()))?;
        let mut info = PackageInfo::new(
            check_token("name", name)?,
            check_token("version", self.version.unwrap_or_default())?,
        );
        info.identity = self.identity();
        info.arch = self
            .arch
            .map(|a| check_token("arch", a))
            .transpose()?
            .map(Into::into);
        info.size = self.file_size.unwrap_or(0);
        info.installed_size = self.installed_size.unwrap_or(0);
        info.description = one_line(self.description.unwrap_or_default()).into_owned();
        info.url = one_line(self.url.unwrap_or_default()).into_owned();
        info.license = one_line(self.license.unwrap_or_default()).into_owned();
        info.origin = self
            .origin
            .map(|o| check_token("origin", o))
            .transpose()?
            .map(Into::into);
        info.maintainer = self.maintainer.map(|m| one_line(m).into_owned());
        info.build_time = self.build_time.unwrap_or(0);
        info.commit = self.repo_commit.map(hex);
        info.provider_priority = self
            .provider_priority
            .map_or(0, |k| u32::try_from(k).unwrap_or(u32::MAX));
        let convert = |list: &[AdbDependency<'_>], what: &str| {
            list.iter()
                .enumerate()
                .map(|(i, d)| {
                    d.to_dependency()
                        .map_err(|e| e.context(format!("{what}[{i}]")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        info.depends = convert(&self.depends, "depends")?;
        info.provides = convert(&self.provides, "provides")?;
        info.replaces = convert(&self.replaces, "replaces")?;
        info.install_if = convert(&self.install_if, "install-if")?;
        info.tags = self
            .tags
            .iter()
            .map(|t| check_token("tag", t).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        Ok(info)
    }

    /// Appends the APKINDEX text record of this index entry (fields `C P V A S I T U L o m t
    /// c k D p i`, then the blank line), with the same token rules as
    /// [`to_package_info`](Self::to_package_info) except that dependency versions are not
    /// validated here: [`Index`] checks them and flags bad ones as problems.
    pub(crate) fn write_index_record(&self, out: &mut String) -> Result<(), AdbError> {
        use std::fmt::Write as _;
        let name = self
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| AdbError::Invalid("package without a name".into()))?;
        // Writing into a String cannot fail.
        let mut line = |key: char, value: &str| {
            let _ = writeln!(out, "{key}:{value}");
        };
        if let Some(id) = self.short_identity() {
            line('C', &id.to_string());
        }
        line('P', check_token("name", name)?);
        line(
            'V',
            check_token("version", self.version.unwrap_or_default())?,
        );
        if let Some(arch) = self.arch {
            line('A', check_token("arch", arch)?);
        }
        line('S', &self.file_size.unwrap_or(0).to_string());
        line('I', &self.installed_size.unwrap_or(0).to_string());
        line('T', &one_line(self.description.unwrap_or_default()));
        line('U', &one_line(self.url.unwrap_or_default()));
        line('L', &one_line(self.license.unwrap_or_default()));
        if let Some(origin) = self.origin {
            line('o', check_token("origin", origin)?);
        }
        if let Some(m) = self.maintainer {
            line('m', &one_line(m));
        }
        if let Some(t) = self.build_time.filter(|t| *t != 0) {
            line('t', &t.to_string());
        }
        if let Some(c) = self.repo_commit {
            line('c', &hex(c));
        }
        if let Some(k) = self.provider_priority.filter(|k| *k != 0) {
            line('k', &k.to_string());
        }
        for (key, list, what) in [
            ('D', &self.depends, "depends"),
            ('p', &self.provides, "provides"),
            ('i', &self.install_if, "install-if"),
        ] {
            if list.is_empty() {
                continue;
            }
            let mut tokens = Vec::with_capacity(list.len());
            for (i, d) in list.iter().enumerate() {
                check_dep_token(d.name, d.version)
                    .map_err(|e| e.context(format!("{what}[{i}]")))?;
                tokens.push(d.to_string());
            }
            line(key, &tokens.join(" "));
        }
        out.push('\n');
        Ok(())
    }
}

/// Refuses a value that is not one token of the text formats.
fn check_token<'s>(what: &str, value: &'s str) -> Result<&'s str, AdbError> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdbError::Invalid(format!(
            "{what} {value:?} contains whitespace or control characters"
        )));
    }
    Ok(value)
}

/// Refuses a dependency whose parts would not read back as the same dependency.
fn check_dep_token(name: &str, version: Option<&str>) -> Result<(), AdbError> {
    check_token("dependency name", name)?;
    if name.is_empty() || name.contains(['<', '>', '=', '~', '@', '!']) {
        return Err(AdbError::Invalid(format!(
            "invalid dependency name {name:?}"
        )));
    }
    if let Some(v) = version {
        check_token("dependency version", v)?;
        if v.is_empty() {
            return Err(AdbError::Invalid(format!("empty version for {name:?}")));
        }
    }
    Ok(())
}

/// Replaces line breaks with spaces.
fn one_line(text: &str) -> Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        Cow::Owned(text.replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(text)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The owner, group, mode and extended attributes of a directory or file (spec 4.7).
///
/// ```
/// use apk_index::adb::Acl;
/// let acl = Acl { mode: Some(0o755), user: Some("root"), group: Some("root"), xattrs: vec![] };
/// assert_eq!(acl.mode_or(0o644), 0o755);
/// assert_eq!(Acl::default().mode_or(0o644), 0o644);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl<'a> {
    /// Permission bits (`& 07777`).
    pub mode: Option<u64>,
    /// Owner name.
    pub user: Option<&'a str>,
    /// Group name.
    pub group: Option<&'a str>,
    /// Extended attributes, each `name\0value`.
    pub xattrs: Vec<&'a [u8]>,
}

impl<'a> Acl<'a> {
    fn from_field(obj: &Vector<'a>, field: u32, budget: &mut Budget) -> Result<Acl<'a>, AdbError> {
        let Some(acl) = obj.vector(field)? else {
            return Ok(Acl::default());
        };
        use schema::acl::*;
        let s = &schema::ACL;
        let xattrs = in_field(s, XATTRS, || {
            array_items(&acl, XATTRS, budget)?
                .into_iter()
                .filter_map(|(_, v)| expect_blob(v, u64::from(acl.offset())).transpose())
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(Acl {
            mode: in_field(s, MODE, || acl.int(MODE))?,
            user: in_field(s, USER, || acl.str(USER))?,
            group: in_field(s, GROUP, || acl.str(GROUP))?,
            xattrs,
        })
    }

    /// The permission bits, or `default` when absent.
    ///
    /// ```
    /// use apk_index::adb::Acl;
    /// let acl = Acl { mode: Some(0o104755), ..Acl::default() };
    /// assert_eq!(acl.mode_or(0o644), 0o4755);
    /// ```
    pub fn mode_or(&self, default: u32) -> u32 {
        self.mode.map_or(default, |m| (m & 0o7777) as u32)
    }
}

/// What a file entry's `target` says it is (spec 4.7).
///
/// ```
/// use apk_index::adb::FileTarget;
/// assert_eq!(FileTarget::parse(b"\x00\xa0hello"), Some(FileTarget::Symlink(b"hello")));
/// assert_eq!(FileTarget::parse(b"\x00\x20\x03\x01\0\0\0\0\0\0"), Some(FileTarget::CharDevice(0x103)));
/// assert_eq!(FileTarget::parse(b"\x00"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTarget<'a> {
    /// `0xA000`: a symbolic link to this text.
    Symlink(&'a [u8]),
    /// `0x8000`: a hard link to this path (relative to the package root).
    HardLink(&'a [u8]),
    /// `0x2000`: a character device with this `dev_t`.
    CharDevice(u64),
    /// `0x6000`: a block device with this `dev_t`.
    BlockDevice(u64),
    /// `0x1000`: a FIFO.
    Fifo,
    /// Any other type bits, or a device without its 8-byte number.
    Other {
        /// The u16 file-type bits.
        kind: u16,
        /// The bytes after them.
        data: &'a [u8],
    },
}

impl<'a> FileTarget<'a> {
    /// Reads a `target` value; `None` when it is shorter than its 2-byte type.
    ///
    /// ```
    /// use apk_index::adb::FileTarget;
    /// assert_eq!(FileTarget::parse(b"\x00\x80usr/bin/a"), Some(FileTarget::HardLink(b"usr/bin/a")));
    /// assert_eq!(FileTarget::parse(b"\x00\x10\0\0\0\0\0\0\0\0"), Some(FileTarget::Fifo));
    /// ```
    pub fn parse(target: &'a [u8]) -> Option<FileTarget<'a>> {
        let (kind, data) = (target.get(..2)?, target.get(2..)?);
        let kind = u16::from_le_bytes([kind[0], kind[1]]);
        let dev = || {
            let b: [u8; 8] = data.try_into().ok()?;
            Some(u64::from_le_bytes(b))
        };
        Some(match kind {
            0xA000 => FileTarget::Symlink(data),
            0x8000 => FileTarget::HardLink(data),
            0x2000 => dev().map_or(FileTarget::Other { kind, data }, FileTarget::CharDevice),
            0x6000 => dev().map_or(FileTarget::Other { kind, data }, FileTarget::BlockDevice),
            0x1000 => FileTarget::Fifo,
            _ => FileTarget::Other { kind, data },
        })
    }
}

/// A file entry of a directory (spec 4.7).
///
/// ```
/// use apk_index::adb::{Acl, FileEntry};
/// let file = FileEntry { slot: 1, name: "a", acl: Acl::default(), size: 3, mtime: None, hash: None, target: None };
/// assert!(file.needs_data());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry<'a> {
    /// The 1-based slot of the entry in its directory's `files` (DATA blocks refer to it).
    pub slot: u32,
    /// The file name (one path component).
    pub name: &'a str,
    /// Permissions and owner.
    pub acl: Acl<'a>,
    /// Content length (link length for symlinks, 0 for devices).
    pub size: u64,
    /// Modification time, Unix seconds.
    pub mtime: Option<u64>,
    /// Content hash: SHA-256 (32 bytes); 20 bytes are read as SHA-1, 64 as SHA-512.
    pub hash: Option<&'a [u8]>,
    /// The raw `target` value, for anything but a regular file.
    pub target: Option<&'a [u8]>,
}

impl FileEntry<'_> {
    /// Whether the contents come in a DATA block: no `target` and a size above 0.
    ///
    /// ```
    /// use apk_index::adb::{Acl, FileEntry};
    /// let link = FileEntry { slot: 1, name: "l", acl: Acl::default(), size: 1, mtime: None, hash: None, target: Some(b"\x00\xa0x") };
    /// assert!(!link.needs_data());
    /// ```
    pub fn needs_data(&self) -> bool {
        self.target.is_none() && self.size > 0
    }

    /// The parsed `target` (`None` for a regular file).
    ///
    /// ```
    /// use apk_index::adb::{Acl, FileEntry, FileTarget};
    /// let link = FileEntry { slot: 1, name: "l", acl: Acl::default(), size: 1, mtime: None, hash: None, target: Some(b"\x00\xa0x") };
    /// assert_eq!(link.file_target(), Some(FileTarget::Symlink(b"x")));
    /// ```
    pub fn file_target(&self) -> Option<FileTarget<'_>> {
        self.target
            .map(|t| FileTarget::parse(t).unwrap_or(FileTarget::Other { kind: 0, data: t }))
    }
}

/// A directory entry of `paths` (spec 4.6).
///
/// ```
/// use apk_index::adb::{Acl, Directory};
/// let root = Directory { slot: 1, name: None, acl: Acl::default(), files: vec![] };
/// assert_eq!(root.path(), "");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory<'a> {
    /// The 1-based slot of the entry in `paths` (DATA blocks refer to it).
    pub slot: u32,
    /// The path relative to the package root; `None` for the root itself.
    pub name: Option<&'a str>,
    /// Permissions and owner.
    pub acl: Acl<'a>,
    /// The files, sorted by name.
    pub files: Vec<FileEntry<'a>>,
}

impl Directory<'_> {
    /// The directory path (`""` for the root).
    ///
    /// ```
    /// use apk_index::adb::{Acl, Directory};
    /// let dir = Directory { slot: 2, name: Some("etc"), acl: Acl::default(), files: vec![] };
    /// assert_eq!(dir.path(), "etc");
    /// ```
    pub fn path(&self) -> &str {
        self.name.unwrap_or("")
    }

    /// The path of `file` in this directory.
    ///
    /// ```
    /// use apk_index::adb::{Acl, Directory, FileEntry};
    /// let dir = Directory { slot: 2, name: Some("usr/bin"), acl: Acl::default(), files: vec![] };
    /// let file = FileEntry { slot: 1, name: "sh", acl: Acl::default(), size: 0, mtime: None, hash: None, target: None };
    /// assert_eq!(dir.file_path(&file), "usr/bin/sh");
    /// ```
    pub fn file_path(&self, file: &FileEntry<'_>) -> String {
        match self.name {
            Some(dir) if !dir.is_empty() => format!("{dir}/{}", file.name),
            _ => file.name.to_owned(),
        }
    }
}

/// The scripts of a package (spec 4.8), as raw bytes.
///
/// ```
/// use apk_index::adb::Scripts;
/// let scripts = Scripts { post_install: Some(b"#!/bin/sh\n"), ..Scripts::default() };
/// assert_eq!(scripts.iter().map(|(name, _)| name).collect::<Vec<_>>(), ["post-install"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scripts<'a> {
    /// 1 `trigger`.
    pub trigger: Option<&'a [u8]>,
    /// 2 `pre-install`.
    pub pre_install: Option<&'a [u8]>,
    /// 3 `post-install`.
    pub post_install: Option<&'a [u8]>,
    /// 4 `pre-deinstall`.
    pub pre_deinstall: Option<&'a [u8]>,
    /// 5 `post-deinstall`.
    pub post_deinstall: Option<&'a [u8]>,
    /// 6 `pre-upgrade`.
    pub pre_upgrade: Option<&'a [u8]>,
    /// 7 `post-upgrade`.
    pub post_upgrade: Option<&'a [u8]>,
}

impl<'a> Scripts<'a> {
    /// The present scripts as (schema name, text), in field order.
    ///
    /// ```
    /// use apk_index::adb::Scripts;
    /// assert_eq!(Scripts::default().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'a [u8])> + '_ {
        [
            ("trigger", self.trigger),
            ("pre-install", self.pre_install),
            ("post-install", self.post_install),
            ("pre-deinstall", self.pre_deinstall),
            ("post-deinstall", self.post_deinstall),
            ("pre-upgrade", self.pre_upgrade),
            ("post-upgrade", self.post_upgrade),
        ]
        .into_iter()
        .filter_map(|(name, s)| s.map(|s| (name, s)))
    }
}

/// A v3 package (`pckg` root, spec 4.5): metadata, file tree, scripts and triggers.
///
/// ```
/// use apk_index::adb::{self, AdbError, AdbFile, Package};
/// let data = adb::tests_support::tiny_index();
/// let file = AdbFile::parse(&data)?;
/// assert!(matches!(Package::from_file(&file), Err(AdbError::WrongSchema { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Package<'a> {
    /// 1 `info`.
    pub info: PkgInfo<'a>,
    /// 2 `paths`, in stored order (sorted by name, the root first).
    pub paths: Vec<Directory<'a>>,
    /// 3 `scripts`.
    pub scripts: Scripts<'a>,
    /// 4 `triggers`, in stored order.
    pub triggers: Vec<&'a str>,
    /// 5 `replaces-priority`.
    pub replaces_priority: Option<u64>,
}

impl<'a> Package<'a> {
    /// Reads the package of a parsed file, whose schema must be `pckg`.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let package = Package::from_file(&AdbFile::parse(&stream)?)?;
    /// assert_eq!(package.info.name, Some("tiny"));
    /// assert_eq!(package.paths[0].files[0].name, "f");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(file: &AdbFile<'a>) -> Result<Package<'a>, AdbError> {
        if file.schema() != SchemaId::PACKAGE {
            return Err(AdbError::WrongSchema {
                expected: SchemaId::PACKAGE,
                found: file.schema(),
            });
        }
        Package::from_adb(&file.adb())
    }

    /// Reads a package from its ADB block.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// assert_eq!(Package::from_adb(&file.adb())?.paths.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_adb(adb: &Adb<'a>) -> Result<Package<'a>, AdbError> {
        let root = adb.root()?;
        let mut budget = Budget::for_adb(adb);
        Package::from_object(&root, &mut budget)
    }

    pub(crate) fn from_object(root: &Vector<'a>, budget: &mut Budget) -> Result<Self, AdbError> {
        use schema::package::*;
        let s = &schema::PACKAGE;
        let info = in_field(s, INFO, || match root.vector(INFO)? {
            Some(info) => PkgInfo::from_object(&info, budget),
            None => Ok(PkgInfo::default()),
        })?;
        let paths = in_field(s, PATHS, || {
            array_items(root, PATHS, budget)?
                .into_iter()
                .map(|(slot, value)| {
                    read_dir(slot, value, root.offset(), budget)
                        .map_err(|e| e.context(format!("[{}]", slot - 1)))
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let scripts = in_field(s, SCRIPTS, || {
            let Some(obj) = root.vector(SCRIPTS)? else {
                return Ok(Scripts::default());
            };
            let script = |i| in_field(&schema::SCRIPTS, i, || obj.blob(i));
            Ok(Scripts {
                trigger: script(1)?,
                pre_install: script(2)?,
                post_install: script(3)?,
                pre_deinstall: script(4)?,
                post_deinstall: script(5)?,
                pre_upgrade: script(6)?,
                post_upgrade: script(7)?,
            })
        })?;
        Ok(Package {
            info,
            paths,
            scripts,
            triggers: strings(root, s, TRIGGERS, budget)?,
            replaces_priority: in_field(s, REPLACES_PRIORITY, || root.int(REPLACES_PRIORITY))?,
        })
    }

    /// The files that take a DATA block, in the order the blocks must come: (directory,
    /// file) for every file without `target` and with a size above 0, in `paths` order.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let package = Package::from_file(&AdbFile::parse(&stream)?)?;
    /// let paths: Vec<String> = package.data_files().map(|(d, f)| d.file_path(f)).collect();
    /// assert_eq!(paths, ["f"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn data_files(&self) -> impl Iterator<Item = (&Directory<'a>, &FileEntry<'a>)> + '_ {
        self.paths
            .iter()
            .flat_map(|d| d.files.iter().map(move |f| (d, f)))
            .filter(|(_, f)| f.needs_data())
    }

    /// Checks the DATA blocks against the file list (spec section 6): each block must be the
    /// next file that needs data, with its size, and hash to the file's `hash`; no file may
    /// be left without data.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbError, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// let package = Package::from_file(&file)?;
    /// package.check_data(file.data_blocks())?;
    /// assert!(matches!(package.check_data(&[]), Err(AdbError::Data { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_data(&self, blocks: &[DataBlock<'_>]) -> Result<(), AdbError> {
        let mut expected = self.data_files();
        let mut end = 0;
        for block in blocks {
            end = block.offset;
            let Some((dir, file)) = expected.next() else {
                return Err(AdbError::Data {
                    offset: block.offset,
                    kind: DataErrorKind::Unexpected {
                        path_index: block.path_index,
                        file_index: block.file_index,
                    },
                });
            };
            check_data_block(dir, file, block)?;
        }
        if let Some((dir, file)) = expected.next() {
            return Err(AdbError::Data {
                offset: end,
                kind: DataErrorKind::Missing {
                    path: dir.file_path(file),
                },
            });
        }
        Ok(())
    }

    /// [`check_data`](Self::check_data) for a package read as it streams: reads the DATA
    /// blocks from `blocks` (whose head this package was parsed from) to the end and checks
    /// each against its file as it goes.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, BlockReader, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let mut blocks = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// let head = blocks.take_head();
    /// let package = Package::from_file(&AdbFile::parse(&head)?)?;
    /// package.check_stream(&mut blocks)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_stream<R: std::io::BufRead>(
        &self,
        blocks: &mut BlockReader<R>,
    ) -> Result<(), AdbError> {
        let mut buf = vec![0u8; 64 * 1024];
        for (dir, file) in self.data_files() {
            let header = blocks.next_data_for(dir, file)?;
            let mut check = ContentCheck::new(dir, file, header.offset)?;
            loop {
                let n = blocks.read_data(&mut buf)?;
                if n == 0 {
                    break;
                }
                check.update(buf.get(..n).unwrap_or_default());
            }
            check.finish()?;
        }
        blocks.expect_end()
    }

    /// Checks `info.hashes` against the unique id computed over the payload (spec 7.2), when
    /// it is a 20-byte value; other values are not checked.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// // The tiny package has no unique id: nothing to check.
    /// Package::from_file(&file)?.check_unique_id(&file.adb())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_unique_id(&self, adb: &Adb<'_>) -> Result<(), AdbError> {
        match (self.info.hashes, unique_id(adb)?) {
            (Some(stored), Some(computed)) if stored.len() == 20 => {
                if stored == computed {
                    Ok(())
                } else {
                    Err(AdbError::UniqueIdMismatch)
                }
            }
            _ => Ok(()),
        }
    }

    /// The package metadata as the crate's [`PackageInfo`] (see
    /// [`PkgInfo::to_package_info`]), with the package's triggers and replaces priority.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let info = Package::from_file(&AdbFile::parse(&stream)?)?.to_package_info()?;
    /// assert_eq!((info.name.as_str(), info.version.as_str()), ("tiny", "1-r0"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_package_info(&self) -> Result<PackageInfo, AdbError> {
        let mut info = self.info.to_package_info()?;
        info.triggers = self
            .triggers
            .iter()
            .map(|t| check_token("trigger", t).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        info.replaces_priority = self
            .replaces_priority
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX));
        Ok(info)
    }
}

/// Checks one DATA block against the file it must hold.
pub(crate) fn check_data_block(
    dir: &Directory<'_>,
    file: &FileEntry<'_>,
    block: &DataBlock<'_>,
) -> Result<(), AdbError> {
    let header = DataHeader {
        path_index: block.path_index,
        file_index: block.file_index,
        size: block.contents.len() as u64,
        offset: block.offset,
    };
    header.check_for(dir, file)?;
    let mut check = ContentCheck::new(dir, file, block.offset)?;
    check.update(block.contents);
    check.finish()
}

impl DataHeader {
    /// Checks that this DATA block is the one `file` (in `dir`) needs: its indexes and its
    /// size (spec section 6). The contents are checked with [`ContentCheck`].
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, BlockReader, Package};
    /// let stream = adb::tests_support::tiny_package();
    /// let file = AdbFile::parse(&stream)?;
    /// let package = Package::from_file(&file)?;
    /// let (dir, entry) = package.data_files().next().expect("one file with data");
    /// let mut reader = BlockReader::open(&stream[..], &adb::ReadOptions::default())?;
    /// reader.next_data()?.expect("its block").check_for(dir, entry)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_for(&self, dir: &Directory<'_>, file: &FileEntry<'_>) -> Result<(), AdbError> {
        let fail = |kind| AdbError::Data {
            offset: self.offset,
            kind,
        };
        if self.path_index != dir.slot || self.file_index != file.slot {
            return Err(fail(DataErrorKind::OutOfOrder {
                path: dir.file_path(file),
                path_index: dir.slot,
                file_index: file.slot,
                found_path: self.path_index,
                found_file: self.file_index,
            }));
        }
        if self.size != file.size {
            return Err(fail(DataErrorKind::SizeMismatch {
                path: dir.file_path(file),
                expected: file.size,
                found: self.size,
            }));
        }
        Ok(())
    }
}

/// A running check of one file's contents against its `hash` (SHA-256, SHA-512 or SHA-1,
/// by the hash's length), for contents read a piece at a time.
///
/// ```
/// use apk_index::adb::{self, AdbError, AdbFile, ContentCheck, Package};
/// let stream = adb::tests_support::tiny_package();
/// let package = Package::from_file(&AdbFile::parse(&stream)?)?;
/// let (dir, file) = package.data_files().next().expect("one file with data");
/// let mut check = ContentCheck::new(dir, file, 0)?;
/// check.update(b"h");
/// check.update(b"i");
/// check.finish()?;
/// let mut wrong = ContentCheck::new(dir, file, 0)?;
/// wrong.update(b"ho");
/// assert!(matches!(wrong.finish(), Err(AdbError::Data { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ContentCheck {
    digest: ContentDigest,
    expected: Vec<u8>,
    path: String,
    offset: u64,
}

impl fmt::Debug for ContentCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentCheck")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

enum ContentDigest {
    Sha1(Sha1),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl ContentCheck {
    /// Starts checking the contents of `file` (in `dir`), whose DATA block is at `offset`;
    /// fails when the file has no hash of a known length.
    pub fn new(
        dir: &Directory<'_>,
        file: &FileEntry<'_>,
        offset: u64,
    ) -> Result<ContentCheck, AdbError> {
        let hash = file.hash.unwrap_or_default();
        let digest = match hash.len() {
            32 => ContentDigest::Sha256(Sha256::new()),
            64 => ContentDigest::Sha512(Sha512::new()),
            20 => ContentDigest::Sha1(Sha1::new()),
            _ => {
                return Err(AdbError::Data {
                    offset,
                    kind: DataErrorKind::NoHash {
                        path: dir.file_path(file),
                    },
                });
            }
        };
        Ok(ContentCheck {
            digest,
            expected: hash.to_vec(),
            path: dir.file_path(file),
            offset,
        })
    }

    /// Takes the next piece of the contents.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.digest {
            ContentDigest::Sha1(h) => h.update(bytes),
            ContentDigest::Sha256(h) => h.update(bytes),
            ContentDigest::Sha512(h) => h.update(bytes),
        }
    }

    /// Compares the digest of everything given with the file's hash (apk's "file integrity
    /// error" when they differ).
    pub fn finish(self) -> Result<(), AdbError> {
        let good = match self.digest {
            ContentDigest::Sha1(h) => h.finalize().as_slice() == self.expected,
            ContentDigest::Sha256(h) => h.finalize().as_slice() == self.expected,
            ContentDigest::Sha512(h) => h.finalize().as_slice() == self.expected,
        };
        if good {
            Ok(())
        } else {
            Err(AdbError::Data {
                offset: self.offset,
                kind: DataErrorKind::HashMismatch { path: self.path },
            })
        }
    }
}

fn read_dir<'a>(
    slot: u32,
    value: Value<'a>,
    at: u32,
    budget: &mut Budget,
) -> Result<Directory<'a>, AdbError> {
    use schema::dir::*;
    let s = &schema::DIR;
    let obj = expect_vector(value, u64::from(at))?
        .ok_or_else(|| AdbError::Invalid("empty directory entry".into()))?;
    let files = in_field(s, FILES, || {
        array_items(&obj, FILES, budget)?
            .into_iter()
            .map(|(file_slot, value)| {
                read_file(file_slot, value, obj.offset(), budget)
                    .map_err(|e| e.context(format!("[{}]", file_slot - 1)))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(Directory {
        slot,
        name: in_field(s, NAME, || obj.str(NAME))?,
        acl: in_field(s, ACL, || Acl::from_field(&obj, ACL, budget))?,
        files,
    })
}

fn read_file<'a>(
    slot: u32,
    value: Value<'a>,
    at: u32,
    budget: &mut Budget,
) -> Result<FileEntry<'a>, AdbError> {
    use schema::file::*;
    let s = &schema::FILE;
    let obj = expect_vector(value, u64::from(at))?
        .ok_or_else(|| AdbError::Invalid("empty file entry".into()))?;
    let name = in_field(s, NAME, || obj.str(NAME))?
        .ok_or_else(|| AdbError::Invalid("file entry without a name".into()))?;
    Ok(FileEntry {
        slot,
        name,
        acl: in_field(s, ACL, || Acl::from_field(&obj, ACL, budget))?,
        size: in_field(s, SIZE, || obj.int(SIZE))?.unwrap_or(0),
        mtime: in_field(s, MTIME, || obj.int(MTIME))?,
        hash: in_field(s, HASH, || obj.blob(HASH))?,
        target: in_field(s, TARGET, || obj.blob(TARGET))?,
    })
}

/// A v3 repository index (`indx` root, spec 4.1).
///
/// ```
/// use apk_index::adb::{self, AdbFile, IndexFile};
/// let data = adb::tests_support::tiny_index();
/// let index = IndexFile::from_file(&AdbFile::parse(&data)?)?;
/// assert_eq!(index.description, Some("demo"));
/// assert_eq!(index.packages.len(), 1);
/// assert_eq!(index.pkgname_spec, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexFile<'a> {
    /// 1 `description`.
    pub description: Option<&'a str>,
    /// 2 `packages`.
    pub packages: Vec<PkgInfo<'a>>,
    /// 3 `pkgname-spec`: the download path template.
    pub pkgname_spec: Option<&'a str>,
}

impl<'a> IndexFile<'a> {
    /// Reads the index of a parsed file, whose schema must be `indx`.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbError, AdbFile, IndexFile};
    /// let stream = adb::tests_support::tiny_package();
    /// assert!(matches!(IndexFile::from_file(&AdbFile::parse(&stream)?), Err(AdbError::WrongSchema { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(file: &AdbFile<'a>) -> Result<IndexFile<'a>, AdbError> {
        if file.schema() != SchemaId::INDEX {
            return Err(AdbError::WrongSchema {
                expected: SchemaId::INDEX,
                found: file.schema(),
            });
        }
        IndexFile::from_adb(&file.adb())
    }

    /// Reads an index from its ADB block.
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, IndexFile};
    /// let stream = adb::tests_support::tiny_index();
    /// let file = AdbFile::parse(&stream)?;
    /// assert_eq!(IndexFile::from_adb(&file.adb())?.packages.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_adb(adb: &Adb<'a>) -> Result<IndexFile<'a>, AdbError> {
        use schema::index::*;
        let s = &schema::INDEX;
        let root = adb.root()?;
        let mut budget = Budget::for_adb(adb);
        let packages = in_field(s, PACKAGES, || {
            array_items(&root, PACKAGES, &mut budget)?
                .into_iter()
                .map(|(slot, value)| {
                    let item = |budget: &mut Budget| {
                        let obj = expect_vector(value, u64::from(root.offset()))?
                            .ok_or_else(|| AdbError::Invalid("empty package entry".into()))?;
                        PkgInfo::from_object(&obj, budget)
                    };
                    item(&mut budget).map_err(|e| e.context(format!("[{}]", slot - 1)))
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(IndexFile {
            description: in_field(s, DESCRIPTION, || root.str(DESCRIPTION))?,
            packages,
            pkgname_spec: in_field(s, PKGNAME_SPEC, || root.str(PKGNAME_SPEC))?,
        })
    }

    /// The index as APKINDEX text, one record per package (see [`Index::from_adb_bytes`]).
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, IndexFile};
    /// let data = adb::tests_support::tiny_index();
    /// let text = IndexFile::from_file(&AdbFile::parse(&data)?)?.to_apkindex_text()?;
    /// assert!(text.contains("P:hello\nV:1.0-r0\nA:noarch\nS:160\nI:0\n"));
    /// assert!(text.contains("D:libc\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_apkindex_text(&self) -> Result<String, AdbError> {
        let mut text = String::with_capacity(self.packages.len() * 256);
        for (i, p) in self.packages.iter().enumerate() {
            p.write_index_record(&mut text)
                .map_err(|e| e.context(format!("packages[{i}]")))?;
        }
        Ok(text)
    }
}

impl Index {
    /// Loads a v3 index (`Packages.adb`, any compression) into the index model and, if `keys`
    /// is given, verifies its signature first (keys are matched by key id).
    ///
    /// Each package entry becomes an APKINDEX record: identity (`C:`: the first 20 bytes of
    /// `hashes` in the `Q1` form, by which apk-tools identifies packages and which it records
    /// in the installed database; the whole value is kept, see [`Index::adb_hashes`]), name,
    /// version, arch, file size, installed size, description, URL,
    /// licence, origin, maintainer, build time, commit, provider priority, depends, provides
    /// and install-if. `replaces`, `recommends`, `layer` and `tags` are not part of the index
    /// model and are left out; read them with [`IndexFile`]. The index description is kept;
    /// [`Index::signed_by`] names the verifying key.
    ///
    /// ```
    /// use apk_index::{Index, IndexOptions};
    /// let data = apk_index::adb::tests_support::tiny_index();
    /// let index = Index::from_adb_bytes(&data, None, &IndexOptions::default())?;
    /// assert_eq!(index.len(), 1);
    /// assert_eq!(index.description(), Some("demo"));
    /// let hello = index.package(0);
    /// assert_eq!((hello.name(), hello.version(), hello.size()), ("hello", "1.0-r0", 160));
    /// assert!(hello.identity().unwrap().to_string().starts_with("Q1"));
    /// assert_eq!(index.adb_hashes(0).map(<[u8]>::len), Some(32));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_adb_bytes(
        data: &[u8],
        keys: Option<&KeySet>,
        options: &IndexOptions,
    ) -> Result<Index, AdbError> {
        Index::from_adb_bytes_with(data, keys, options, &ReadOptions::default())
    }

    /// [`from_adb_bytes`](Self::from_adb_bytes) with explicit read limits.
    ///
    /// ```
    /// use apk_index::adb::{AdbError, ReadOptions};
    /// use apk_index::{Index, IndexOptions};
    /// let data = apk_index::adb::tests_support::tiny_index();
    /// let tight = ReadOptions { max_size: 100 };
    /// let err = Index::from_adb_bytes_with(&data, None, &IndexOptions::default(), &tight);
    /// assert!(matches!(err, Err(AdbError::TooLarge { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_adb_bytes_with(
        data: &[u8],
        keys: Option<&KeySet>,
        options: &IndexOptions,
        read: &ReadOptions,
    ) -> Result<Index, AdbError> {
        let stream = decompress(data, read)?;
        let file = AdbFile::parse_schema(&stream, SchemaId::INDEX)?;
        let signed_by = match keys {
            Some(keys) => Some(file.verify_signature(keys)?.key_name),
            None => None,
        };
        let index_file = IndexFile::from_file(&file)?;
        let text = index_file.to_apkindex_text()?;
        let mut index = Index::from_text(text, options);
        index.set_source_info(index_file.description.map(str::to_owned), signed_by);
        index.set_pkgname_spec(index_file.pkgname_spec.map(str::to_owned));
        index.set_adb_hashes(
            index_file
                .packages
                .iter()
                .map(|p| Box::from(p.hashes.unwrap_or_default()))
                .collect(),
        );
        Ok(index)
    }
}
