//! v3 (ADB) output of [`PackageBuilder`]: [`PackageBuilder::write_v3`].
//!
//! The ADB block is laid out value by value in the order apk-tools 3's `mkpkg` writes it, so
//! that the same inputs give the same bytes:
//!
//! 1. the package info values, in schema order (name, version, description, arch, license,
//!    origin, maintainer, url, repo-commit, build-time, provider-priority, then each
//!    dependency list: its objects, then the sorted array; then tags);
//! 2. the tree, directory by directory, parents before children and names sorted bytewise:
//!    for each directory first its files (each: name, hash or link target, mtime, ACL, the
//!    file object), then the directory's name, ACL, files array and object. The nameless root
//!    directory comes first;
//! 3. the installed size, the 20 bytes reserved for the unique id, the info object;
//! 4. the `paths` array (sorted by directory name), the scripts, the triggers, the root.
//!
//! Identical values are stored once. The unique id is then computed over the payload (with
//! its own 20 bytes zero) and filled in; every key signs the payload; and the DATA blocks
//! follow in `paths` order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};

use apk_index::adb::{
    self, AdbStreamWriter, AdbWriteError, AdbWriter, SchemaId, VectorTag, schema,
};
use apk_index::{Checksum, ChecksumForm, PackageInfo};
use sha2::{Digest, Sha256};

use super::{BuildPackageError, Entry, EntryKind, Kind, PackageBuilder, ScriptKind, Source};

/// What [`PackageBuilder::write_v3`] made.
///
/// ```
/// use apk_index::PackageInfo;
/// use apk_pkg::PackageBuilder;
///
/// let mut builder = PackageBuilder::new(PackageInfo::new("hello", "1.0-r0"));
/// builder.add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")?;
/// let mut apk = Vec::new();
/// let built = builder.write_v3(&mut apk)?;
/// assert!(apk.starts_with(b"ADBd"));
/// assert_eq!(built.installed_size, 21);
/// assert_eq!(built.size, apk.len() as u64);
/// assert_eq!(built.info.size, built.size);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuiltPackageV3 {
    /// The package identity as v3 indexes record it: SHA-256 of the ADB block payload.
    pub identity: [u8; 32],
    /// The 20-byte unique id stored in the package's `info.hashes`.
    pub unique_id: [u8; 20],
    /// The installed size recorded (see [`PackageBuilder::write`] for the rule).
    pub installed_size: u64,
    /// The size of the package file in bytes.
    pub size: u64,
    /// The metadata as written, with `identity` (the `Q2` form of [`identity`]), `size`,
    /// `installed_size` and the triggers.
    ///
    /// [`identity`]: BuiltPackageV3::identity
    pub info: PackageInfo,
}

/// The v3 form of one non-directory entry.
#[derive(Debug, Clone)]
enum Content<'a> {
    /// A regular file with a DATA block (when `size > 0`).
    Regular {
        source: &'a Source,
        size: u64,
        hash: [u8; 32],
    },
    /// A later name of a regular file.
    HardLink {
        first: &'a str,
        size: u64,
        hash: [u8; 32],
    },
    Symlink(&'a str),
    /// A device or fifo: file-type bits and the device number.
    Special(u16, u64),
}

/// One file of a directory.
#[derive(Debug, Clone)]
struct FileItem<'a> {
    path: &'a str,
    name: &'a str,
    entry: &'a Entry,
}

/// One directory: its path (`""` for the root), ownership and files in name order.
#[derive(Debug, Clone)]
struct DirItem<'a> {
    path: &'a str,
    mode: u32,
    uid: u32,
    gid: u32,
    files: Vec<FileItem<'a>>,
}

/// The ADB `scripts` field of a script kind (spec 4.8).
fn script_field(kind: ScriptKind) -> u32 {
    match kind {
        ScriptKind::Trigger => 1,
        ScriptKind::PreInstall => 2,
        ScriptKind::PostInstall => 3,
        ScriptKind::PreDeinstall => 4,
        ScriptKind::PostDeinstall => 5,
        ScriptKind::PreUpgrade => 6,
        ScriptKind::PostUpgrade => 7,
    }
}

/// Linux's `dev_t` encoding of a device number (glibc `makedev`).
fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    ((major & 0xFFFF_F000) << 32)
        | ((major & 0xFFF) << 8)
        | ((minor & 0xFFFF_FF00) << 12)
        | (minor & 0xFF)
}

/// Owner names for numeric ids: `root` for 0, otherwise the host's `/etc/passwd` and
/// `/etc/group`, or the number itself when the id is unknown there.
#[derive(Debug, Default)]
struct OwnerNames {
    users: Option<HashMap<u32, String>>,
    groups: Option<HashMap<u32, String>>,
}

fn read_id_file(path: &str) -> HashMap<u32, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut map = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        if let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) {
            if let Ok(id) = id.parse::<u32>() {
                map.entry(id).or_insert_with(|| name.to_owned());
            }
        }
    }
    map
}

impl OwnerNames {
    fn user(&mut self, uid: u32) -> String {
        if uid == 0 {
            return "root".to_owned();
        }
        let users = self
            .users
            .get_or_insert_with(|| read_id_file("/etc/passwd"));
        users.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }

    fn group(&mut self, gid: u32) -> String {
        if gid == 0 {
            return "root".to_owned();
        }
        let groups = self
            .groups
            .get_or_insert_with(|| read_id_file("/etc/group"));
        groups.get(&gid).cloned().unwrap_or_else(|| gid.to_string())
    }
}

/// SHA-256 and length of a file on disk.
fn hash_path(path: &std::path::Path) -> Result<([u8; 32], u64), BuildPackageError> {
    let read_err = |source| BuildPackageError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finalize().into(), size))
}

/// Counts the bytes written through it.
struct Counting<W: Write> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn adb_err(e: AdbWriteError) -> BuildPackageError {
    match e {
        AdbWriteError::Io(e) => BuildPackageError::Write(e),
        other => BuildPackageError::Adb(other),
    }
}

impl PackageBuilder {
    /// Writes the package in the apk v3 (ADB) format to `out` and says what was written.
    ///
    /// The metadata is checked as for [`write`](Self::write). The layout follows apk-tools
    /// 3's `mkpkg`: the `pckg` schema with the package info, one `paths` entry per directory
    /// (the nameless root first, with the mode of the tree given to
    /// [`add_tree`](Self::add_tree), `0755` otherwise), files with their ACL (mode and owner
    /// *names*: `root` for 0, others from the host's `/etc/passwd` and `/etc/group`, the
    /// number when unknown), size, mtime (the entry's, or [`BuildOptions::mtime`]) and
    /// SHA-256; symlinks, devices, fifos and hard links as `target`; the scripts and
    /// triggers. Every key given to [`sign_with`](Self::sign_with) adds one SIG block (v3
    /// signatures always use SHA-512, whatever algorithm was named). Then one DATA block per
    /// non-empty regular file. The wrapper is [`BuildOptions::adb_compression`].
    ///
    /// Hard links (from [`add_hard_link`](Self::add_hard_link), or files of the tree that
    /// share an inode) point to the first name in `paths` order, which must be a regular
    /// file. Files from disk are read twice (hashed, then copied); a file that changes in
    /// between is an error, reported after part of the package was written to `out`.
    ///
    /// [`BuildOptions::mtime`]: super::BuildOptions::mtime
    /// [`BuildOptions::adb_compression`]: super::BuildOptions::adb_compression
    ///
    /// ```
    /// use apk_index::adb::{self, AdbFile, Package};
    /// use apk_index::PackageInfo;
    /// use apk_pkg::{PackageBuilder, ScriptKind};
    ///
    /// let mut info = PackageInfo::new("hello", "1.0-r0");
    /// info.arch = Some("x86_64".into());
    /// let mut builder = PackageBuilder::new(info);
    /// builder
    ///     .add_file("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n")?
    ///     .add_symlink("usr/bin/hi", "hello")?;
    /// builder.script(ScriptKind::PostInstall, "#!/bin/sh\n");
    /// let mut apk = Vec::new();
    /// let built = builder.write_v3(&mut apk)?;
    ///
    /// let stream = adb::decompress(&apk, &adb::ReadOptions::default())?;
    /// let file = AdbFile::parse(&stream)?;
    /// assert_eq!(adb::package_identity(&file.adb()), built.identity);
    /// let package = Package::from_file(&file)?;
    /// package.check_data(file.data_blocks())?;
    /// package.check_unique_id(&file.adb())?;
    /// let dirs: Vec<_> = package.paths.iter().map(|d| d.name.unwrap_or("/")).collect();
    /// assert_eq!(dirs, ["/", "usr", "usr/bin"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_v3(&self, out: impl Write) -> Result<BuiltPackageV3, BuildPackageError> {
        let triggers = self.validate()?;

        // The directories in walk order (parents first, names sorted component-wise),
        // each with its files in name order.
        let mut dirs: Vec<DirItem<'_>> = Vec::new();
        let mut dir_index: HashMap<&str, usize> = HashMap::new();
        if self.root.from_tree || !self.entries.is_empty() {
            dirs.push(DirItem {
                path: "",
                mode: self.root.mode,
                uid: self.root.uid,
                gid: self.root.gid,
                files: Vec::new(),
            });
            dir_index.insert("", 0);
        }
        for (key, entry) in &self.entries {
            let path = key.0.as_str();
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            if matches!(entry.kind, EntryKind::Dir) {
                dir_index.insert(path, dirs.len());
                dirs.push(DirItem {
                    path,
                    mode: entry.mode,
                    uid: entry.uid,
                    gid: entry.gid,
                    files: Vec::new(),
                });
            } else {
                // Parents are always in the map: `insert` adds missing ones, and the map's
                // order puts a directory before its contents.
                let Some(&i) = dir_index.get(parent) else {
                    return Err(BuildPackageError::InvalidField {
                        field: "path (parent directory missing)",
                        value: path.to_owned(),
                    });
                };
                dirs[i].files.push(FileItem { path, name, entry });
            }
        }
        // `paths` order: by directory name bytewise, the root first.
        let mut sorted: Vec<usize> = (0..dirs.len()).collect();
        sorted.sort_by(|&a, &b| dirs[a].path.as_bytes().cmp(dirs[b].path.as_bytes()));

        // Resolve every file in `paths` order, hashing regular files (first pass).
        let mut contents: HashMap<&str, Content<'_>> = HashMap::new();
        let mut first_of_inode: HashMap<(u64, u64), &str> = HashMap::new();
        let mut installed = 0u64;
        for &d in &sorted {
            for file in &dirs[d].files {
                let content = match &file.entry.kind {
                    EntryKind::Dir => continue,
                    EntryKind::Symlink(target) => Content::Symlink(target),
                    EntryKind::Special { kind, device } => {
                        let bits = match kind {
                            Kind::CharDevice => 0x2000,
                            Kind::BlockDevice => 0x6000,
                            _ => 0x1000,
                        };
                        Content::Special(bits, makedev(device.0, device.1))
                    }
                    EntryKind::HardLink(target) => match contents.get(target.as_str()) {
                        Some(Content::Regular { size, hash, .. }) => Content::HardLink {
                            first: target,
                            size: *size,
                            hash: *hash,
                        },
                        _ => {
                            return Err(BuildPackageError::HardLinkTarget {
                                path: file.path.to_owned(),
                                target: target.clone(),
                            });
                        }
                    },
                    EntryKind::File { source, inode } => {
                        let first = inode.and_then(|i| first_of_inode.get(&i).copied());
                        match first.and_then(|f| contents.get(f).map(|c| (f, c))) {
                            Some((first, Content::Regular { size, hash, .. })) => {
                                Content::HardLink {
                                    first,
                                    size: *size,
                                    hash: *hash,
                                }
                            }
                            _ => {
                                let (hash, size) = match source {
                                    Source::Bytes(bytes) => {
                                        (Sha256::digest(bytes).into(), bytes.len() as u64)
                                    }
                                    Source::Path(p) => hash_path(p)?,
                                };
                                if let Some(inode) = inode {
                                    first_of_inode.insert(*inode, file.path);
                                }
                                installed = installed.saturating_add(size);
                                Content::Regular { source, size, hash }
                            }
                        }
                    }
                };
                contents.insert(file.path, content);
            }
        }
        let installed_size =
            if installed == 0 && (!self.entries.is_empty() || !self.scripts.is_empty()) {
                1
            } else {
                installed
            };

        // The ADB block.
        let mut w = AdbWriter::new();
        let mut info_slots =
            adb::write_pkginfo_fields(&mut w, &self.info, VectorTag::Object).map_err(adb_err)?;
        let mut owners = OwnerNames::default();
        let mut dir_words = vec![0u32; dirs.len()];
        for (d, dir) in dirs.iter().enumerate() {
            let mut file_words = Vec::with_capacity(dir.files.len());
            for file in &dir.files {
                let Some(content) = contents.get(file.path) else {
                    continue;
                };
                file_words.push(
                    self.write_file_entry(&mut w, &mut owners, file, content)
                        .map_err(adb_err)?,
                );
            }
            let name = w.blob(dir.path.as_bytes()).map_err(adb_err)?;
            let acl =
                write_acl(&mut w, &mut owners, dir.mode, dir.uid, dir.gid).map_err(adb_err)?;
            let files = w.array(&file_words).map_err(adb_err)?;
            dir_words[d] = w.object(&[name, acl, files]).map_err(adb_err)?;
        }
        info_slots.set(
            schema::pkginfo::INSTALLED_SIZE,
            w.int(installed_size).map_err(adb_err)?,
        );
        let (uid_word, uid_at) = w.blob_unique(20).map_err(adb_err)?;
        info_slots.set(schema::pkginfo::HASHES, uid_word);
        let info_word = info_slots.write(&mut w).map_err(adb_err)?;
        let path_words: Vec<u32> = sorted.iter().map(|&d| dir_words[d]).collect();
        let paths_word = w.array(&path_words).map_err(adb_err)?;
        let mut script_slots = [0u32; 7];
        let mut scripts: Vec<(u32, &Vec<u8>)> = self
            .scripts
            .iter()
            .map(|(kind, body)| (script_field(*kind), body))
            .collect();
        scripts.sort_by_key(|(field, _)| *field);
        for (field, body) in scripts {
            script_slots[field as usize - 1] = w.blob(body).map_err(adb_err)?;
        }
        let scripts_word = w.object(&script_slots).map_err(adb_err)?;
        let mut trigger_words = Vec::with_capacity(triggers.len());
        for glob in &triggers {
            trigger_words.push(w.blob(glob.as_bytes()).map_err(adb_err)?);
        }
        let triggers_word = w.array(&trigger_words).map_err(adb_err)?;
        let replaces_priority = match self.info.replaces_priority {
            0 => 0,
            p => w.int(u64::from(p)).map_err(adb_err)?,
        };
        let root = w
            .object(&[
                info_word,
                paths_word,
                scripts_word,
                triggers_word,
                replaces_priority,
            ])
            .map_err(adb_err)?;
        let mut payload = w.finish(root);
        let unique_id: [u8; 20] = {
            let digest = Sha256::digest(&payload);
            let mut id = [0u8; 20];
            id.copy_from_slice(&digest[..20]);
            id
        };
        payload
            .get_mut(uid_at..uid_at + 20)
            .ok_or_else(|| {
                adb_err(AdbWriteError::Order(
                    "the unique id lies outside the payload",
                ))
            })?
            .copy_from_slice(&unique_id);
        let identity: [u8; 32] = Sha256::digest(&payload).into();

        // The file: ADB block, signatures, DATA blocks in `paths` order.
        let mut file = AdbStreamWriter::new(
            Counting {
                inner: io::BufWriter::with_capacity(64 * 1024, out),
                count: 0,
            },
            SchemaId::PACKAGE,
            self.options.adb_compression,
        )
        .map_err(adb_err)?;
        file.write_adb(&payload).map_err(adb_err)?;
        for (key, _) in &self.signers {
            let sig = adb::sign_payload(SchemaId::PACKAGE, &payload, key).map_err(|e| match e {
                AdbWriteError::Sign { key_name, source } => {
                    BuildPackageError::Sign { key_name, source }
                }
                other => adb_err(other),
            })?;
            file.write_sig(&sig).map_err(adb_err)?;
        }
        let mut buf = vec![0u8; 64 * 1024];
        for (path_index, &d) in sorted.iter().enumerate() {
            for (file_index, item) in dirs[d].files.iter().enumerate() {
                let Some(Content::Regular { source, size, hash }) = contents.get(item.path) else {
                    continue;
                };
                if *size == 0 {
                    continue;
                }
                // Indexes are 1-based and fit: `paths` and `files` are ADB vectors.
                file.begin_data(path_index as u32 + 1, file_index as u32 + 1, *size)
                    .map_err(adb_err)?;
                match source {
                    Source::Bytes(bytes) => file.write_contents(bytes).map_err(adb_err)?,
                    Source::Path(p) => copy_checked(&mut file, p, *size, hash, &mut buf)?,
                }
            }
        }
        let counted = file.finish().map_err(adb_err)?;
        let size = counted.count;

        let mut info = self.info.clone();
        info.identity = Checksum::from_digest(&identity, ChecksumForm::Q2);
        info.size = size;
        info.installed_size = installed_size;
        info.datahash = None;
        info.triggers = triggers;
        Ok(BuiltPackageV3 {
            identity,
            unique_id,
            installed_size,
            size,
            info,
        })
    }

    /// Writes one file entry: name, hash or target, mtime, ACL, then the object.
    fn write_file_entry(
        &self,
        w: &mut AdbWriter,
        owners: &mut OwnerNames,
        file: &FileItem<'_>,
        content: &Content<'_>,
    ) -> Result<u32, AdbWriteError> {
        let name = w.blob(file.name.as_bytes())?;
        let (size, hash, target) = match content {
            Content::Regular { size, hash, .. } => (*size, w.blob(hash)?, 0),
            Content::HardLink { first, size, hash } => {
                let hash = w.blob(hash)?;
                let mut target = 0x8000u16.to_le_bytes().to_vec();
                target.extend_from_slice(first.as_bytes());
                (*size, hash, w.blob(&target)?)
            }
            Content::Symlink(link) => {
                let mut target = 0xA000u16.to_le_bytes().to_vec();
                target.extend_from_slice(link.as_bytes());
                (link.len() as u64, 0, w.blob(&target)?)
            }
            Content::Special(bits, dev) => {
                let mut target = bits.to_le_bytes().to_vec();
                target.extend_from_slice(&dev.to_le_bytes());
                (0, 0, w.blob(&target)?)
            }
        };
        let mtime = w.int(file.entry.mtime.unwrap_or(self.options.mtime))?;
        let acl = write_acl(w, owners, file.entry.mode, file.entry.uid, file.entry.gid)?;
        let size = w.int(size)?;
        w.object(&[name, acl, size, mtime, hash, target])
    }
}

/// Writes an ACL object: user and group names, then `[mode, user, group]`.
fn write_acl(
    w: &mut AdbWriter,
    owners: &mut OwnerNames,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<u32, AdbWriteError> {
    let user = w.blob(owners.user(uid).as_bytes())?;
    let group = w.blob(owners.group(gid).as_bytes())?;
    let mode = w.int(u64::from(mode & 0o7777))?;
    w.object(&[mode, user, group])
}

/// Second pass over a file from disk: copies exactly `size` bytes into the current DATA
/// block, checking that the contents still hash to `hash` and that nothing follows.
fn copy_checked<W: Write>(
    file: &mut AdbStreamWriter<W>,
    path: &std::path::Path,
    size: u64,
    hash: &[u8; 32],
    buf: &mut [u8],
) -> Result<(), BuildPackageError> {
    let read_err = |source| BuildPackageError::Read {
        path: path.to_owned(),
        source,
    };
    let changed = || BuildPackageError::FileChanged {
        path: path.to_owned(),
    };
    let mut source = File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match source.read(&mut buf[..want]) {
            Ok(0) => return Err(changed()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        hasher.update(&buf[..n]);
        file.write_contents(&buf[..n]).map_err(adb_err)?;
        left -= n as u64;
    }
    let mut extra = [0u8; 1];
    loop {
        match source.read(&mut extra) {
            Ok(0) => break,
            Ok(_) => return Err(changed()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        }
    }
    if hasher.finalize().as_slice() != hash {
        return Err(changed());
    }
    Ok(())
}
