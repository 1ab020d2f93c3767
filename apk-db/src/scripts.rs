//! The scripts database: `lib/apk/db/scripts.tar` (apk-tools 2) or `scripts.tar.gz`
//! (apk-tools 3), one tar entry per installed package script.
//!
//! Entries are named `<name>-<version>.<identity>.<type>`, e.g.
//! `busybox-1.36.1-r2.Q1NN3sp0yr99btRysqty3nQUrWHaY=.post-install`. The name is split from the
//! right: the type is one of the [`ScriptKind`] names, the identity is the part before it (an
//! identity never holds a `.`, though a base64 one can hold `/`), and the version is the
//! shortest valid version after a `-` in the rest, so package names may hold dots and dashes.
//!
//! # The tar layout written
//!
//! [`ScriptsDb::write_tar`] writes headers as the real databases in the test corpus have them
//! (checked with `od` on the four `scripts.tar` files; the two newest, written by apk-tools
//! 2.12.9+ in 2022-2023, are matched exactly):
//!
//! * old-GNU magic `ustar  \0` (`ustar` + two spaces + NUL), type `0`;
//! * mode `0000755\0`, uid and gid `0000000\0`, owner and group names `root`;
//! * size and mtime as **12 octal digits with no terminator** (`000000000213`); the two
//!   databases from apk-tools 2.10/2.12.5 use 11 digits and a NUL instead;
//! * checksum as six octal digits, NUL, space; device numbers, link name and prefix all NUL;
//! * the mtime of each entry as read (apk-tools gives every entry the time of the write);
//! * data padded to 512 bytes, then two zero blocks, with no padding to a 10 KiB record.
//!
//! A name longer than 100 bytes is written as a GNU `././@LongLink` (`L`) entry followed by
//! the entry with its name cut to 100 bytes. None of the corpus databases has such a name, so
//! this part is not confirmed against apk-tools.
//!
//! ```
//! use apk_db::scripts::{ScriptKey, ScriptsDb};
//! use apk_pkg::ScriptKind;
//!
//! let mut db = ScriptsDb::new();
//! let id = "Q1NN3sp0yr99btRysqty3nQUrWHaY=";
//! db.insert("busybox", "1.36.1-r2", id, ScriptKind::Trigger, b"#!/bin/sh\nexit 0\n".to_vec());
//! assert_eq!(
//!     db.entries()[0].key.entry_name(),
//!     "busybox-1.36.1-r2.Q1NN3sp0yr99btRysqty3nQUrWHaY=.trigger"
//! );
//! let tar = db.to_tar_bytes()?;
//! assert_eq!(tar.len(), 512 + 512 + 1024);
//! let again = ScriptsDb::from_bytes(&tar)?;
//! assert_eq!(again, db);
//! assert!(again.get("busybox", "1.36.1-r2", id, ScriptKind::Trigger).is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use apk_index::{Checksum, Rules};
use apk_pkg::ScriptKind;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// The apk-tools 2 scripts database, relative to the root.
pub const SCRIPTS_TAR_PATH: &str = "lib/apk/db/scripts.tar";
/// The apk-tools 3 scripts database, relative to the root.
pub const SCRIPTS_TAR_GZ_PATH: &str = "lib/apk/db/scripts.tar.gz";

const BLOCK: usize = 512;
const NAME_LEN: usize = 100;

/// Returned when a scripts database cannot be read, or a key cannot name an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptsError {
    /// The bytes are not a readable tar (or gzip'd tar) archive.
    #[error("scripts database {what}: {source}")]
    Corrupt {
        /// The file, or `<memory>` for [`ScriptsDb::from_bytes`].
        what: String,
        /// What the tar or gzip reader reported.
        source: io::Error,
    },
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A key whose parts cannot form an entry name that reads back as the same key.
    #[error("cannot name a scripts entry for {name}-{version} ({identity}): {reason}")]
    BadKey {
        /// The package name given.
        name: String,
        /// The version given.
        version: String,
        /// The identity given.
        identity: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// What a script entry belongs to: a package (name, version, identity) and a script type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScriptKey {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The package identity as written (`Q1…` by apk-tools 2, `X1…` by apk-tools 3).
    pub identity: String,
    /// The script type.
    pub kind: ScriptKind,
}

fn valid_version(v: &str) -> bool {
    apk_index::version::is_valid(v.as_bytes(), Rules::V3)
        || apk_index::version::is_valid(v.as_bytes(), Rules::V2)
}

/// Split `<name>-<version>` at the last `-` followed by a digit (apk's rule: a version starts
/// with a digit, and its `-r` revision is not followed by one), when the rest is a valid version.
fn split_name_version(namever: &str) -> Option<(&str, &str)> {
    let dash = namever
        .char_indices()
        .rev()
        .find(|&(i, c)| {
            c == '-'
                && namever
                    .as_bytes()
                    .get(i + 1)
                    .is_some_and(u8::is_ascii_digit)
        })?
        .0;
    let (name, version) = (&namever[..dash], &namever[dash + 1..]);
    (!name.is_empty() && valid_version(version)).then_some((name, version))
}

impl ScriptKey {
    /// A key, checked so that its entry name reads back as the same key: no part is empty or
    /// holds a NUL, the version is valid (v3 or v2 rules), and the identity holds no `.`.
    ///
    /// ```
    /// use apk_db::scripts::ScriptKey;
    /// use apk_pkg::ScriptKind;
    /// assert!(ScriptKey::new("a", "1.0-r0", "Q1x", ScriptKind::PreInstall).is_ok());
    /// assert!(ScriptKey::new("a", "r0", "Q1x", ScriptKind::PreInstall).is_err());
    /// assert!(ScriptKey::new("a", "1.0", "Q1.x", ScriptKind::PreInstall).is_err());
    /// ```
    pub fn new(
        name: &str,
        version: &str,
        identity: &str,
        kind: ScriptKind,
    ) -> Result<ScriptKey, ScriptsError> {
        let reason = if name.is_empty() || identity.is_empty() {
            Some("empty name or identity")
        } else if [name, version, identity].iter().any(|s| s.contains('\0')) {
            Some("NUL byte")
        } else if identity.contains('.') {
            Some("identity holds '.'")
        } else if split_name_version(&format!("{name}-{version}")) != Some((name, version)) {
            Some("invalid version, or one that does not split back from the name")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(ScriptsError::BadKey {
                name: name.to_owned(),
                version: version.to_owned(),
                identity: identity.to_owned(),
                reason,
            });
        }
        Ok(ScriptKey {
            name: name.to_owned(),
            version: version.to_owned(),
            identity: identity.to_owned(),
            kind,
        })
    }

    /// Split an entry name `<name>-<version>.<identity>.<type>`; `None` when it is not one.
    ///
    /// ```
    /// use apk_db::scripts::ScriptKey;
    /// use apk_pkg::ScriptKind;
    /// let k = ScriptKey::parse_entry_name("gtk+3.0-3.24.8-r0.Q1TOIHvWwoo9bclh0KvSP3/abcdefghi=.post-upgrade").unwrap();
    /// assert_eq!((k.name.as_str(), k.version.as_str()), ("gtk+3.0", "3.24.8-r0"));
    /// assert_eq!(k.identity, "Q1TOIHvWwoo9bclh0KvSP3/abcdefghi=");
    /// assert_eq!(k.kind, ScriptKind::PostUpgrade);
    /// assert!(ScriptKey::parse_entry_name("foo-1.0.Q1x.post-frobnicate").is_none());
    /// ```
    pub fn parse_entry_name(entry: &str) -> Option<ScriptKey> {
        let (rest, kind) = entry.rsplit_once('.')?;
        let kind: ScriptKind = kind.parse().ok()?;
        let (namever, identity) = rest.rsplit_once('.')?;
        let (name, version) = split_name_version(namever)?;
        if identity.is_empty() || entry.contains('\0') {
            return None;
        }
        Some(ScriptKey {
            name: name.to_owned(),
            version: version.to_owned(),
            identity: identity.to_owned(),
            kind,
        })
    }

    /// The tar entry name, `<name>-<version>.<identity>.<type>`.
    pub fn entry_name(&self) -> String {
        format!(
            "{}-{}.{}.{}",
            self.name,
            self.version,
            self.identity,
            self.kind.name()
        )
    }

    fn is(&self, name: &str, version: &str, identity: &str) -> bool {
        self.name == name && self.version == version && same_identity(&self.identity, identity)
    }
}

/// Identities are the same when written the same, or when both parse to the same digest
/// (`Q1…` from apk-tools 2 and `X1…` from apk-tools 3 name one package).
fn same_identity(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Text of one form is canonical: only different forms can name the same digest.
    if a.get(..2) == b.get(..2) {
        return false;
    }
    match (
        Checksum::parse_lenient(a.as_bytes()),
        Checksum::parse_lenient(b.as_bytes()),
    ) {
        (Ok(x), Ok(y)) => x.as_bytes() == y.as_bytes(),
        _ => false,
    }
}

/// One script.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScriptEntry {
    /// Whose script this is.
    pub key: ScriptKey,
    /// The tar mtime (seconds since the epoch).
    pub mtime: u64,
    /// The script.
    pub data: Vec<u8>,
}

/// The scripts of the installed packages, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptsDb {
    entries: Vec<ScriptEntry>,
    skipped: Vec<String>,
}

fn corrupt(what: &str) -> impl Fn(io::Error) -> ScriptsError + '_ {
    move |source| ScriptsError::Corrupt {
        what: what.to_owned(),
        source,
    }
}

impl ScriptsDb {
    /// An empty database.
    pub fn new() -> ScriptsDb {
        ScriptsDb::default()
    }

    /// Read a scripts database: a plain tar, or a gzip'd one (told by the gzip magic).
    ///
    /// Regular-file entries whose names are not `<name>-<version>.<identity>.<type>` are
    /// skipped and listed by [`ScriptsDb::skipped`]; other entry types are ignored. Empty
    /// input is an empty database.
    ///
    /// ```
    /// use apk_db::scripts::ScriptsDb;
    /// assert!(ScriptsDb::from_bytes(b"")?.is_empty());
    /// assert!(ScriptsDb::from_bytes(&[0u8; 1024])?.is_empty());
    /// assert!(ScriptsDb::from_bytes(b"not a tar archive at all").is_err());
    /// # Ok::<(), apk_db::scripts::ScriptsError>(())
    /// ```
    pub fn from_bytes(data: &[u8]) -> Result<ScriptsDb, ScriptsError> {
        ScriptsDb::read_named(data, "<memory>")
    }

    fn read_named(data: &[u8], what: &str) -> Result<ScriptsDb, ScriptsError> {
        if data.starts_with(&[0x1f, 0x8b]) {
            let mut tar = Vec::new();
            MultiGzDecoder::new(data)
                .read_to_end(&mut tar)
                .map_err(corrupt(what))?;
            return ScriptsDb::read_tar(&tar, what);
        }
        ScriptsDb::read_tar(data, what)
    }

    fn read_tar(data: &[u8], what: &str) -> Result<ScriptsDb, ScriptsError> {
        let mut db = ScriptsDb::new();
        if data.is_empty() {
            return Ok(db);
        }
        let mut archive = tar::Archive::new(data);
        for entry in archive.entries().map_err(corrupt(what))? {
            let mut entry = entry.map_err(corrupt(what))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let mtime = entry.header().mtime().map_err(corrupt(what))?;
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(corrupt(what))?;
            match ScriptKey::parse_entry_name(&name) {
                Some(key) => {
                    db.insert_entry(ScriptEntry { key, mtime, data });
                }
                None => db.skipped.push(name),
            }
        }
        Ok(db)
    }

    /// Read the scripts database of a root: `lib/apk/db/scripts.tar` if present (apk-tools 3
    /// still reads it), else `lib/apk/db/scripts.tar.gz`, else an empty database.
    ///
    /// ```
    /// let root = tempfile::tempdir()?;
    /// assert!(apk_db::scripts::ScriptsDb::load(root.path())?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(root: &Path) -> Result<ScriptsDb, ScriptsError> {
        for rel in [SCRIPTS_TAR_PATH, SCRIPTS_TAR_GZ_PATH] {
            let path = root.join(rel);
            match std::fs::read(&path) {
                Ok(data) => return ScriptsDb::read_named(&data, &path.display().to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ScriptsError::Io { path, source }),
            }
        }
        Ok(ScriptsDb::new())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[ScriptEntry] {
        &self.entries
    }

    /// The names of entries [`ScriptsDb::from_bytes`] could not attribute to a package.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// The number of scripts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no scripts.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A package's script of one kind.
    pub fn get(
        &self,
        name: &str,
        version: &str,
        identity: &str,
        kind: ScriptKind,
    ) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.key.kind == kind && e.key.is(name, version, identity))
            .map(|e| e.data.as_slice())
    }

    /// All scripts of a package, in order.
    ///
    /// ```
    /// use apk_db::scripts::{ScriptKey, ScriptsDb};
    /// use apk_pkg::ScriptKind;
    /// let mut db = ScriptsDb::new();
    /// for kind in [ScriptKind::PreInstall, ScriptKind::PostInstall] {
    ///     db.insert("a", "1-r0", "Q1x", kind, b"#!/bin/sh\n".to_vec());
    /// }
    /// db.insert("b", "1-r0", "Q1y", ScriptKind::Trigger, vec![]);
    /// assert_eq!(db.package_scripts("a", "1-r0", "Q1x").count(), 2);
    /// assert_eq!(db.remove_package("a", "1-r0"), 2);
    /// assert_eq!(db.len(), 1);
    /// ```
    pub fn package_scripts<'a>(
        &'a self,
        name: &'a str,
        version: &'a str,
        identity: &'a str,
    ) -> impl Iterator<Item = &'a ScriptEntry> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.key.is(name, version, identity))
    }

    /// Add or replace a package's script, stamped with the current time. A replaced entry keeps
    /// its place; a new one is appended. Returns the data it replaced.
    ///
    /// The parts are stored as given: a part that [`ScriptKey::new`] would refuse gives an
    /// entry name that does not read back (it lands in [`ScriptsDb::skipped`] when re-read).
    ///
    /// ```
    /// use apk_db::scripts::ScriptsDb;
    /// use apk_pkg::ScriptKind;
    /// let mut db = ScriptsDb::new();
    /// assert!(db.insert("a", "1-r0", "Q1x", ScriptKind::PostInstall, b"one".to_vec()).is_none());
    /// assert_eq!(db.insert("a", "1-r0", "Q1x", ScriptKind::PostInstall, b"two".to_vec()), Some(b"one".to_vec()));
    /// assert_eq!(db.len(), 1);
    /// ```
    pub fn insert(
        &mut self,
        name: &str,
        version: &str,
        identity: &str,
        kind: ScriptKind,
        data: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let mtime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.insert_entry(ScriptEntry {
            key: ScriptKey {
                name: name.to_owned(),
                version: version.to_owned(),
                identity: identity.to_owned(),
                kind,
            },
            mtime,
            data,
        })
    }

    /// Add or replace a script with a given key and mtime; see [`ScriptsDb::insert`].
    ///
    /// ```
    /// use apk_db::scripts::{ScriptEntry, ScriptKey, ScriptsDb};
    /// use apk_pkg::ScriptKind;
    /// let mut db = ScriptsDb::new();
    /// let key = ScriptKey::new("a", "1", "Q1x", ScriptKind::Trigger)?;
    /// db.insert_entry(ScriptEntry { key, mtime: 1_600_000_000, data: vec![] });
    /// assert_eq!(db.entries()[0].mtime, 1_600_000_000);
    /// # Ok::<(), apk_db::scripts::ScriptsError>(())
    /// ```
    pub fn insert_entry(&mut self, entry: ScriptEntry) -> Option<Vec<u8>> {
        let key = &entry.key;
        let existing = self
            .entries
            .iter_mut()
            .find(|e| e.key.kind == key.kind && e.key.is(&key.name, &key.version, &key.identity));
        match existing {
            Some(e) => {
                let old = std::mem::take(&mut e.data);
                *e = entry;
                Some(old)
            }
            None => {
                self.entries.push(entry);
                None
            }
        }
    }

    /// Remove one script, returning it.
    ///
    /// ```
    /// use apk_db::scripts::{ScriptKey, ScriptsDb};
    /// use apk_pkg::ScriptKind;
    /// let mut db = ScriptsDb::new();
    /// db.insert("a", "1", "Q1x", ScriptKind::Trigger, vec![1]);
    /// assert!(db.remove("a", "1", "Q1x", ScriptKind::PostInstall).is_none());
    /// assert_eq!(db.remove("a", "1", "Q1x", ScriptKind::Trigger).map(|e| e.data), Some(vec![1]));
    /// ```
    pub fn remove(
        &mut self,
        name: &str,
        version: &str,
        identity: &str,
        kind: ScriptKind,
    ) -> Option<ScriptEntry> {
        let i = self
            .entries
            .iter()
            .position(|e| e.key.kind == kind && e.key.is(name, version, identity))?;
        Some(self.entries.remove(i))
    }

    /// Remove every script of a package (`name`-`version`, whatever its identity); returns how
    /// many were removed.
    pub fn remove_package(&mut self, name: &str, version: &str) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| !(e.key.name == name && e.key.version == version));
        before - self.entries.len()
    }

    /// Write the database as a plain tar in apk-tools' layout (see the
    /// [module documentation](self)).
    pub fn write_tar(&self, out: &mut impl Write) -> io::Result<()> {
        for e in &self.entries {
            let name = e.key.entry_name();
            let bytes = name.as_bytes();
            if bytes.len() > NAME_LEN {
                let mut long = bytes.to_vec();
                long.push(0);
                out.write_all(&header(b"././@LongLink", b'L', long.len() as u64, 0))?;
                write_padded(out, &long)?;
            }
            let short = &bytes[..bytes.len().min(NAME_LEN)];
            out.write_all(&header(short, b'0', e.data.len() as u64, e.mtime))?;
            write_padded(out, &e.data)?;
        }
        out.write_all(&[0u8; 2 * BLOCK])
    }

    /// The plain tar as bytes; see [`ScriptsDb::write_tar`].
    ///
    /// ```
    /// use apk_db::scripts::ScriptsDb;
    /// assert_eq!(ScriptsDb::new().to_tar_bytes()?, vec![0u8; 1024]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn to_tar_bytes(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_tar(&mut out)?;
        Ok(out)
    }

    /// The tar gzip'd, for apk-tools 3's `scripts.tar.gz`.
    ///
    /// ```
    /// use apk_db::scripts::ScriptsDb;
    /// let gz = ScriptsDb::new().to_tar_gz()?;
    /// assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    /// assert!(ScriptsDb::from_bytes(&gz)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_tar_gz(&self) -> io::Result<Vec<u8>> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        self.write_tar(&mut gz)?;
        gz.finish()
    }
}

/// Right-aligned zero-padded octal filling `field` (no terminator when `terminate` is false).
fn octal(field: &mut [u8], value: u64, terminate: bool) {
    let digits = if terminate {
        field.len() - 1
    } else {
        field.len()
    };
    let text = format!("{value:0digits$o}");
    let text = text.as_bytes();
    // A value too large for the field keeps its low digits (only reachable for absurd mtimes).
    let text = &text[text.len() - digits..];
    field[..digits].copy_from_slice(text);
    if terminate {
        field[digits] = 0;
    }
}

/// One 512-byte header in the layout apk-tools writes.
fn header(name: &[u8], typeflag: u8, size: u64, mtime: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], 0o755, true);
    octal(&mut h[108..116], 0, true);
    octal(&mut h[116..124], 0, true);
    octal(&mut h[124..136], size, false);
    octal(&mut h[136..148], mtime, false);
    h[156] = typeflag;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    // The checksum is computed with its own field as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    octal(&mut h[148..155], sum, true);
    h[155] = b' ';
    h
}

fn write_padded(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    out.write_all(data)?;
    let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
    out.write_all(&[0u8; BLOCK][..pad])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_parse_from_the_right() {
        let cases = [
            (
                "busybox-1.35.0-r29.Q1NN3sp0yr99btRysqty3nQUrWHaY=.post-install",
                "busybox",
                "1.35.0-r29",
                ScriptKind::PostInstall,
            ),
            (
                "alpine-baselayout-3.2.0-r16.Q1fnpB/J3/KY1H4woPVzsv7mR02/k=.pre-upgrade",
                "alpine-baselayout",
                "3.2.0-r16",
                ScriptKind::PreUpgrade,
            ),
            (
                "py3.12-foo-2-1.0_rc1-r3.X1000102030405060708090a0b0c0d0e0f10111213.trigger",
                "py3.12-foo-2",
                "1.0_rc1-r3",
                ScriptKind::Trigger,
            ),
            (
                "a-b-1.Q1x.pre-deinstall",
                "a-b",
                "1",
                ScriptKind::PreDeinstall,
            ),
        ];
        for (entry, name, version, kind) in cases {
            let k = ScriptKey::parse_entry_name(entry).unwrap_or_else(|| panic!("{entry}"));
            assert_eq!(
                (k.name.as_str(), k.version.as_str(), k.kind),
                (name, version, kind)
            );
            assert_eq!(k.entry_name(), entry);
        }
        for bad in [
            "",
            "trigger",
            "a-1.trigger",
            "a-1..trigger",
            "a.Q1x.trigger",
            "-1.Q1x.trigger",
            "a-r0.Q1x.trigger",
            "a-1.Q1x.post-install.bak",
        ] {
            assert!(ScriptKey::parse_entry_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn header_layout() {
        let h = header(b"a-1.Q1x.trigger", b'0', 0o213, 0o14414710146);
        assert_eq!(&h[100..108], b"0000755\0");
        assert_eq!(&h[108..124], b"0000000\x000000000\0");
        assert_eq!(&h[124..136], b"000000000213");
        assert_eq!(&h[136..148], b"014414710146");
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..265], b"ustar  \0");
        assert_eq!(&h[155..156], b" ");
        assert_eq!(h[154], 0);
        assert!(h[329..].iter().all(|&b| b == 0));
        // The checksum is the byte sum with the checksum field as spaces.
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|&b| u32::from(b)).sum();
        let parsed = tar::Header::from_byte_slice(&h);
        assert_eq!(parsed.cksum().unwrap(), sum);
        assert_eq!(parsed.size().unwrap(), 0o213);
        assert_eq!(parsed.mtime().unwrap(), 0o14414710146);
        assert_eq!(parsed.username().unwrap(), Some("root"));
    }

    #[test]
    fn long_names_round_trip() {
        let mut db = ScriptsDb::new();
        let name = "a-very-long-package-name-that-goes-on-and-on-and-on-for-quite-a-while";
        let id = "X1000102030405060708090a0b0c0d0e0f10111213";
        let key = ScriptKey::new(name, "1.2.3-r4", id, ScriptKind::PostDeinstall).unwrap();
        assert!(key.entry_name().len() > 100);
        db.insert_entry(ScriptEntry {
            key,
            mtime: 42,
            data: b"echo hi\n".to_vec(),
        });
        let tar = db.to_tar_bytes().unwrap();
        let again = ScriptsDb::from_bytes(&tar).unwrap();
        assert_eq!(again, db);
        assert!(again.skipped().is_empty());
    }

    #[test]
    fn identities_compare_by_digest() {
        let mut db = ScriptsDb::new();
        let q1 = "Q1AAECAwQFBgcICQoLDA0ODxAREhM=";
        let x1 = "X1000102030405060708090a0b0c0d0e0f10111213";
        db.insert("a", "1", q1, ScriptKind::PostInstall, vec![1]);
        assert_eq!(
            db.get("a", "1", x1, ScriptKind::PostInstall),
            Some(&[1u8][..])
        );
        assert_eq!(
            db.insert("a", "1", x1, ScriptKind::PostInstall, vec![2]),
            Some(vec![1])
        );
        assert_eq!(db.len(), 1);
        assert_eq!(db.entries()[0].key.identity, x1);
        assert!(db.get("a", "2", x1, ScriptKind::PostInstall).is_none());
    }

    #[test]
    fn skips_foreign_entries() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, "README", &b"hi\n"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_cksum();
        builder
            .append_data(&mut h, "b-2-r0.Q1y.post-upgrade", &b"x\n"[..])
            .unwrap();
        let data = builder.into_inner().unwrap();
        let db = ScriptsDb::from_bytes(&data).unwrap();
        assert_eq!(db.skipped(), ["README"]);
        assert_eq!(db.len(), 1);
        assert_eq!(
            db.get("b", "2-r0", "Q1y", ScriptKind::PostUpgrade),
            Some(&b"x\n"[..])
        );
    }
}
