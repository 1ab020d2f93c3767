//! Package metadata: the owned [`PackageInfo`] and the borrowed [`PackageRef`] view, and the
//! `X:value` record writer shared by APKINDEX and the installed database.

use std::fmt;
use std::io::{self, Write};

use crate::checksum::Checksum;
use crate::dependency::{Dependency, DependencyRef};
use crate::index::DepSlice;

/// Owner, group, mode and optional xattr hash of an installed file or directory (`M:`/`a:`).
///
/// ```
/// use apk_index::Acl;
/// let acl: Acl = "0:0:755".parse()?;
/// assert_eq!(acl.mode, 0o755);
/// assert_eq!(acl.to_string(), "0:0:755");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Acl {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits (including setuid/setgid/sticky), without the file type.
    pub mode: u32,
    /// Hash of the extended attributes, if the entry has any.
    pub xattr_checksum: Option<Checksum>,
}

impl Acl {
    /// The default for directories: root:root 0755 (left out of the installed db).
    pub const DEFAULT_DIR: Acl = Acl {
        uid: 0,
        gid: 0,
        mode: 0o755,
        xattr_checksum: None,
    };
    /// The default for files: root:root 0644 (left out of the installed db).
    pub const DEFAULT_FILE: Acl = Acl {
        uid: 0,
        gid: 0,
        mode: 0o644,
        xattr_checksum: None,
    };
}

/// Returned when an `M:`/`a:` value is not `uid:gid:octal-mode[:checksum]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid file permissions '{0}', expected uid:gid:octal-mode[:checksum]")]
pub struct ParseAclError(String);

impl std::str::FromStr for Acl {
    type Err = ParseAclError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseAclError(s.to_owned());
        let mut parts = s.splitn(4, ':');
        let uid = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let gid = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let mode = parts
            .next()
            .and_then(|p| u32::from_str_radix(p, 8).ok())
            .filter(|m| *m <= 0o7777)
            .ok_or_else(err)?;
        let xattr_checksum = match parts.next() {
            None => None,
            Some(c) => Some(c.parse().map_err(|_| err())?),
        };
        Ok(Acl {
            uid,
            gid,
            mode,
            xattr_checksum,
        })
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{:o}", self.uid, self.gid, self.mode)?;
        if let Some(c) = &self.xattr_checksum {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

/// A directory owned by an installed package (`F:`), with its files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledDir {
    /// Path relative to the root, without a leading `/` (empty for the root itself).
    pub path: String,
    /// Permissions, when not the default root:root 0755.
    pub acl: Option<Acl>,
    /// The files in this directory that the package owns, in order.
    pub files: Vec<InstalledFile>,
}

/// A file owned by an installed package (`R:`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledFile {
    /// File name inside its directory.
    pub name: String,
    /// Permissions, when not the default root:root 0644.
    pub acl: Option<Acl>,
    /// Content hash (`Z:`); for a symlink, the hash of its target.
    pub checksum: Option<Checksum>,
}

/// Everything apk knows about one package: index fields, install-time fields and, for an
/// installed package, the files it owns.
///
/// Text fields are kept as written; versions stay strings so that a package whose version is
/// invalid under the rules in use can still be read, listed and written back (such a package is
/// only uninstallable).
///
/// ```
/// use apk_index::PackageInfo;
/// let mut pkg = PackageInfo::new("hello", "1.0-r0");
/// pkg.description = "says hello".into();
/// pkg.depends.push("musl>=1.2".parse()?);
/// let mut text = Vec::new();
/// pkg.write_index_record(&mut text)?;
/// assert_eq!(String::from_utf8(text)?, "P:hello\nV:1.0-r0\nS:0\nI:0\nT:says hello\nU:\nL:\nD:musl>=1.2\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageInfo {
    /// `C:` the package identity (SHA-1 of the control stream).
    pub identity: Option<Checksum>,
    /// `P:` name.
    pub name: String,
    /// `V:` version.
    pub version: String,
    /// `A:` architecture.
    pub arch: Option<String>,
    /// `S:` size of the `.apk` file in bytes.
    pub size: u64,
    /// `I:` installed size in bytes (0 marks a meta package).
    pub installed_size: u64,
    /// `T:` one-line description.
    pub description: String,
    /// `U:` project URL.
    pub url: String,
    /// `L:` licence.
    pub license: String,
    /// `o:` origin (source package).
    pub origin: Option<String>,
    /// `m:` maintainer.
    pub maintainer: Option<String>,
    /// `t:` build time, unix seconds (0 = unknown).
    pub build_time: u64,
    /// `c:` commit of the build recipes.
    pub commit: Option<String>,
    /// `k:` provider priority (0 = none).
    pub provider_priority: u32,
    /// `D:` dependencies (`!` entries are conflicts).
    pub depends: Vec<Dependency>,
    /// `p:` provided names, with or without a version.
    pub provides: Vec<Dependency>,
    /// `i:` install-if conditions.
    pub install_if: Vec<Dependency>,
    /// `r:` replaces (installed db and `.PKGINFO` only).
    pub replaces: Vec<Dependency>,
    /// `q:` replaces priority (0 = none).
    pub replaces_priority: u32,
    /// `s:` the repository tag the package was installed with.
    pub repository_tag: Option<String>,
    /// `f:` flags (`f`, `s`, `x`, `S`), as written.
    pub flags: Option<String>,
    /// `g:` tags (apk-tools 3).
    pub tags: Vec<String>,
    /// Trigger globs (from `.PKGINFO`; the installed db keeps them in the triggers file).
    pub triggers: Vec<String>,
    /// `datahash` from `.PKGINFO`: hex SHA-256 of the compressed data stream.
    pub datahash: Option<String>,
    /// Fields this version does not know, in order, as (key, value).
    pub extra: Vec<(u8, String)>,
    /// Directories and files owned by an installed package.
    pub dirs: Vec<InstalledDir>,
}

impl PackageInfo {
    /// A package with a name and version and everything else empty.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        PackageInfo {
            name: name.into(),
            version: version.into(),
            ..PackageInfo::default()
        }
    }

    /// A borrowed view, the form the record writer and the index share.
    pub fn as_ref(&self) -> PackageRef<'_> {
        PackageRef {
            identity: self.identity,
            name: &self.name,
            version: &self.version,
            arch: self.arch.as_deref(),
            size: self.size,
            installed_size: self.installed_size,
            description: &self.description,
            url: &self.url,
            license: &self.license,
            origin: self.origin.as_deref(),
            maintainer: self.maintainer.as_deref(),
            build_time: self.build_time,
            commit: self.commit.as_deref(),
            provider_priority: self.provider_priority,
            depends: DepList(DepListInner::Owned(&self.depends)),
            provides: DepList(DepListInner::Owned(&self.provides)),
            install_if: DepList(DepListInner::Owned(&self.install_if)),
            extra: ExtraFields(ExtraInner::Owned(&self.extra)),
        }
    }

    /// Write the APKINDEX record (index fields only, apk's order, ending with the blank line
    /// that separates records is left to the caller).
    pub fn write_index_record(&self, out: &mut impl Write) -> io::Result<()> {
        self.as_ref().write_index_fields(out)
    }

    /// Write the installed-db record: index fields, install-time fields, then the file list.
    /// The blank separator line is left to the caller.
    pub fn write_installed_record(&self, out: &mut impl Write) -> io::Result<()> {
        let r = self.as_ref();
        r.write_index_fields_without_extra(out)?;
        if !self.replaces.is_empty() {
            write_deps(out, b'r', DepList(DepListInner::Owned(&self.replaces)))?;
        }
        if self.replaces_priority != 0 {
            writeln!(out, "q:{}", self.replaces_priority)?;
        }
        if let Some(tag) = &self.repository_tag {
            writeln!(out, "s:{tag}")?;
        }
        if let Some(flags) = &self.flags {
            writeln!(out, "f:{flags}")?;
        }
        for tag in &self.tags {
            writeln!(out, "g:{tag}")?;
        }
        for (key, value) in &self.extra {
            out.write_all(&[*key, b':'])?;
            out.write_all(value.as_bytes())?;
            out.write_all(b"\n")?;
        }
        for dir in &self.dirs {
            writeln!(out, "F:{}", dir.path)?;
            if let Some(acl) = &dir.acl {
                writeln!(out, "M:{acl}")?;
            }
            for file in &dir.files {
                writeln!(out, "R:{}", file.name)?;
                if let Some(acl) = &file.acl {
                    writeln!(out, "a:{acl}")?;
                }
                if let Some(c) = &file.checksum {
                    writeln!(out, "Z:{c}")?;
                }
            }
        }
        Ok(())
    }
}

/// A dependency list inside a [`PackageRef`]: iterate it for [`DependencyRef`]s.
#[derive(Clone, Copy)]
pub struct DepList<'a>(pub(crate) DepListInner<'a>);

#[derive(Clone, Copy)]
pub(crate) enum DepListInner<'a> {
    Owned(&'a [Dependency]),
    Indexed(DepSlice<'a>),
}

impl<'a> DepList<'a> {
    /// Number of dependencies.
    pub fn len(&self) -> usize {
        match self.0 {
            DepListInner::Owned(d) => d.len(),
            DepListInner::Indexed(d) => d.len(),
        }
    }
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The dependencies in order.
    pub fn iter(&self) -> impl Iterator<Item = DependencyRef<'a>> + 'a {
        let this = *self;
        (0..this.len()).map(move |i| this.get_unchecked(i))
    }
    /// Dependency `i`, if there is one.
    ///
    /// ```
    /// use apk_index::PackageInfo;
    /// let mut pkg = PackageInfo::new("a", "1-r0");
    /// pkg.depends.push("b>=2".parse()?);
    /// assert_eq!(pkg.as_ref().depends().get(0).map(|d| d.name()), Some("b"));
    /// assert!(pkg.as_ref().depends().get(1).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, i: usize) -> Option<DependencyRef<'a>> {
        (i < self.len()).then(|| self.get_unchecked(i))
    }

    /// The interned name of dependency `i` in the [`NameTable`](crate::NameTable) of the
    /// [`Index`](crate::Index) the list comes from (see [`Index::names`](crate::Index::names));
    /// `None` for a list that is not an index's, or when there is no dependency `i`. Lets a
    /// caller map names through a side table instead of hashing each mention.
    ///
    /// ```
    /// use apk_index::{Index, IndexOptions};
    /// let index = Index::from_text("P:a\nV:1\nD:b c\n\n", &IndexOptions::default());
    /// let deps = index.package(0).depends();
    /// let id = deps.name_id(1).map(|id| index.names().get(id));
    /// assert_eq!(id, Some("c"));
    /// assert_eq!(deps.name_id(2), None);
    /// ```
    pub fn name_id(&self, i: usize) -> Option<crate::NameId> {
        match self.0 {
            DepListInner::Owned(_) => None,
            DepListInner::Indexed(d) => d.name_id(i),
        }
    }

    fn get_unchecked(&self, i: usize) -> DependencyRef<'a> {
        match self.0 {
            DepListInner::Owned(d) => d[i].as_ref(),
            DepListInner::Indexed(d) => d.get(i),
        }
    }
}

impl fmt::Debug for DepList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for DepList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Unknown fields kept from a record, as (key, value) pairs.
#[derive(Clone, Copy)]
pub struct ExtraFields<'a>(pub(crate) ExtraInner<'a>);

/// An unknown field kept by an index: (package, key, start, length) in the index text.
pub(crate) type IndexedExtra = (u32, u8, u32, u32);

#[derive(Clone, Copy)]
pub(crate) enum ExtraInner<'a> {
    Owned(&'a [(u8, String)]),
    Indexed(&'a [IndexedExtra], &'a [u8]),
}

impl<'a> ExtraFields<'a> {
    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a str)> + 'a {
        let (owned, indexed, text): (&'a [(u8, String)], &'a [IndexedExtra], &'a [u8]) =
            match self.0 {
                ExtraInner::Owned(o) => (o, &[], &[]),
                ExtraInner::Indexed(i, t) => (&[], i, t),
            };
        owned
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(indexed.iter().map(move |&(_, k, s, l)| {
                let value = text.get(s as usize..(s + l) as usize).unwrap_or_default();
                // Index text is valid UTF-8 and spans end at line ends, so this always succeeds.
                (k, std::str::from_utf8(value).unwrap_or(""))
            }))
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        match self.0 {
            ExtraInner::Owned(o) => o.is_empty(),
            ExtraInner::Indexed(i, _) => i.is_empty(),
        }
    }
}

/// A borrowed view of a package's index fields, from an [`Index`](crate::Index) or a
/// [`PackageInfo`].
#[derive(Clone, Copy)]
pub struct PackageRef<'a> {
    pub(crate) identity: Option<Checksum>,
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) arch: Option<&'a str>,
    pub(crate) size: u64,
    pub(crate) installed_size: u64,
    pub(crate) description: &'a str,
    pub(crate) url: &'a str,
    pub(crate) license: &'a str,
    pub(crate) origin: Option<&'a str>,
    pub(crate) maintainer: Option<&'a str>,
    pub(crate) build_time: u64,
    pub(crate) commit: Option<&'a str>,
    pub(crate) provider_priority: u32,
    pub(crate) depends: DepList<'a>,
    pub(crate) provides: DepList<'a>,
    pub(crate) install_if: DepList<'a>,
    pub(crate) extra: ExtraFields<'a>,
}

impl<'a> PackageRef<'a> {
    /// `C:` identity.
    pub fn identity(&self) -> Option<Checksum> {
        self.identity
    }
    /// `P:` name.
    pub fn name(&self) -> &'a str {
        self.name
    }
    /// `V:` version.
    pub fn version(&self) -> &'a str {
        self.version
    }
    /// `A:` architecture.
    pub fn arch(&self) -> Option<&'a str> {
        self.arch
    }
    /// `S:` package file size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// `I:` installed size.
    pub fn installed_size(&self) -> u64 {
        self.installed_size
    }
    /// `T:` description.
    pub fn description(&self) -> &'a str {
        self.description
    }
    /// `U:` URL.
    pub fn url(&self) -> &'a str {
        self.url
    }
    /// `L:` licence.
    pub fn license(&self) -> &'a str {
        self.license
    }
    /// `o:` origin.
    pub fn origin(&self) -> Option<&'a str> {
        self.origin
    }
    /// `m:` maintainer.
    pub fn maintainer(&self) -> Option<&'a str> {
        self.maintainer
    }
    /// `t:` build time (0 = unknown).
    pub fn build_time(&self) -> u64 {
        self.build_time
    }
    /// `c:` recipe commit.
    pub fn commit(&self) -> Option<&'a str> {
        self.commit
    }
    /// `k:` provider priority (0 = none).
    pub fn provider_priority(&self) -> u32 {
        self.provider_priority
    }
    /// `D:` dependencies.
    pub fn depends(&self) -> DepList<'a> {
        self.depends
    }
    /// `p:` provides.
    pub fn provides(&self) -> DepList<'a> {
        self.provides
    }
    /// `i:` install-if.
    pub fn install_if(&self) -> DepList<'a> {
        self.install_if
    }
    /// Fields not known to this version, kept in order.
    pub fn extra_fields(&self) -> ExtraFields<'a> {
        self.extra
    }

    /// An owned copy of the index fields.
    pub fn to_owned(&self) -> PackageInfo {
        PackageInfo {
            identity: self.identity,
            name: self.name.to_owned(),
            version: self.version.to_owned(),
            arch: self.arch.map(str::to_owned),
            size: self.size,
            installed_size: self.installed_size,
            description: self.description.to_owned(),
            url: self.url.to_owned(),
            license: self.license.to_owned(),
            origin: self.origin.map(str::to_owned),
            maintainer: self.maintainer.map(str::to_owned),
            build_time: self.build_time,
            commit: self.commit.map(str::to_owned),
            provider_priority: self.provider_priority,
            depends: self.depends.iter().map(|d| d.to_owned()).collect(),
            provides: self.provides.iter().map(|d| d.to_owned()).collect(),
            install_if: self.install_if.iter().map(|d| d.to_owned()).collect(),
            extra: self.extra.iter().map(|(k, v)| (k, v.to_owned())).collect(),
            ..PackageInfo::default()
        }
    }

    /// Write the index fields in apk's order: `C P V A S I T U L o m t c k D p i`, then any
    /// unknown fields that were kept. `A o m t c k` are left out when unset or 0; `T U L` are
    /// always written.
    pub fn write_index_fields(&self, out: &mut impl Write) -> io::Result<()> {
        self.write_index_fields_without_extra(out)?;
        for (key, value) in self.extra.iter() {
            out.write_all(&[key, b':'])?;
            out.write_all(value.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn write_index_fields_without_extra(&self, out: &mut impl Write) -> io::Result<()> {
        if let Some(c) = &self.identity {
            writeln!(out, "C:{c}")?;
        }
        writeln!(out, "P:{}", self.name)?;
        writeln!(out, "V:{}", self.version)?;
        if let Some(a) = self.arch {
            writeln!(out, "A:{a}")?;
        }
        writeln!(out, "S:{}", self.size)?;
        writeln!(out, "I:{}", self.installed_size)?;
        writeln!(out, "T:{}", self.description)?;
        writeln!(out, "U:{}", self.url)?;
        writeln!(out, "L:{}", self.license)?;
        if let Some(o) = self.origin {
            writeln!(out, "o:{o}")?;
        }
        if let Some(m) = self.maintainer {
            writeln!(out, "m:{m}")?;
        }
        if self.build_time != 0 {
            writeln!(out, "t:{}", self.build_time)?;
        }
        if let Some(c) = self.commit {
            writeln!(out, "c:{c}")?;
        }
        if self.provider_priority != 0 {
            writeln!(out, "k:{}", self.provider_priority)?;
        }
        if !self.depends.is_empty() {
            write_deps(out, b'D', self.depends)?;
        }
        if !self.provides.is_empty() {
            write_deps(out, b'p', self.provides)?;
        }
        if !self.install_if.is_empty() {
            write_deps(out, b'i', self.install_if)?;
        }
        Ok(())
    }
}

fn write_deps(out: &mut impl Write, key: u8, deps: DepList<'_>) -> io::Result<()> {
    out.write_all(&[key, b':'])?;
    write!(out, "{deps}")?;
    out.write_all(b"\n")
}

impl fmt::Debug for PackageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageRef")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}
