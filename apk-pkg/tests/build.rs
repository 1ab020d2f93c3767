//! Tests of [`PackageBuilder`]: packages built from generated trees and entries, checked by
//! independent means (flate2 to split and inflate the gzip members, the `tar` crate to read
//! the tars, apk-index to parse `.PKGINFO` and check signatures, system `tar` when present).
//!
//! Invariants checked on every package ([`check_package`]): the file is two or three gzip
//! members; the signature and control tars have no end-of-archive blocks; the identity is the
//! SHA-1 of the compressed control member; `datahash` is the SHA-256 of the compressed data
//! member; every signature verifies over the control member; every regular file (and hard
//! link, and symlink) carries an `APK-TOOLS.checksum.SHA1` record equal to the SHA-1 of its
//! content (of its target, for a symlink); every entry's parent directory comes before it.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;

use apk_index::KeySet;
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_index::{PackageInfo, Rules, parse_pkginfo};
use apk_pkg::{
    AddEntryError, AddTreeError, BuildOptions, BuildPackageError, BuiltPackage, EntryKind,
    PackageBuilder, PackageReader, ScriptKind,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use sha1::{Digest, Sha1};
use sha2::Sha256;

const KEY_NAME: &str = "builder@example.org-00000001.rsa.pub";
const OTHER_KEY_NAME: &str = "other@example.org-00000002.rsa.pub";

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = SigningKey::generate(KEY_NAME, 1024, &mut rng).expect("generate a key");
        let b = SigningKey::generate(OTHER_KEY_NAME, 1024, &mut rng).expect("generate a key");
        (a, b)
    })
}

fn key() -> &'static SigningKey {
    &keys().0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

// ---------------------------------------------------------------------------------------------
// Decoding a package by independent means.

/// One gzip member: its compressed bytes and the tar bytes inside.
#[derive(Debug, Clone)]
struct Member {
    compressed: Vec<u8>,
    raw: Vec<u8>,
}

/// Splits a file into its gzip members with `flate2::bufread::GzDecoder`, which consumes
/// exactly one member from its input.
fn split_members(file: &[u8]) -> Vec<Member> {
    let mut rest = file;
    let mut members = Vec::new();
    while !rest.is_empty() {
        let before = rest.len();
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut raw = Vec::new();
        decoder.read_to_end(&mut raw).expect("a valid gzip member");
        rest = decoder.into_inner();
        let used = before - rest.len();
        let start = file.len() - before;
        members.push(Member {
            compressed: file[start..start + used].to_vec(),
            raw,
        });
    }
    members
}

/// An entry read by the `tar` crate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TarEntry {
    path: String,
    kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: Option<String>,
    content: Vec<u8>,
    checksum: Option<String>,
}

fn read_tar(raw: &[u8]) -> Vec<TarEntry> {
    let mut archive = tar::Archive::new(raw);
    let mut out = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("a tar entry");
        let mut checksum = None;
        if let Some(pax) = entry.pax_extensions().expect("pax records") {
            for record in pax {
                let record = record.expect("a pax record");
                if record.key().expect("utf-8 key") == "APK-TOOLS.checksum.SHA1" {
                    checksum = Some(record.value().expect("utf-8 value").to_owned());
                }
            }
        }
        let header = entry.header().clone();
        let path = String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8 path");
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).expect("utf-8 link"));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("entry content");
        out.push(TarEntry {
            path,
            kind: char::from(header.entry_type().as_byte()),
            mode: header.mode().expect("mode"),
            uid: header.uid().expect("uid"),
            gid: header.gid().expect("gid"),
            mtime: header.mtime().expect("mtime"),
            link,
            content,
            checksum,
        });
    }
    out
}

/// Walks the headers of a tar by hand: asserts it holds no zero block (no end-of-archive
/// marker) and ends exactly after its last entry.
fn assert_no_end_of_archive(raw: &[u8], what: &str) {
    assert_eq!(raw.len() % 512, 0, "{what}: not whole blocks");
    let mut off = 0;
    while off < raw.len() {
        let header = &raw[off..off + 512];
        assert!(
            header.iter().any(|&b| b != 0),
            "{what}: zero block at {off}"
        );
        let size_field = std::str::from_utf8(&header[124..135]).expect("octal size");
        let size = u64::from_str_radix(size_field.trim_matches(['\0', ' ']), 8).expect("size");
        off += 512 + usize::try_from(size.div_ceil(512) * 512).expect("small");
    }
    assert_eq!(off, raw.len(), "{what}: trailing bytes");
}

/// A package taken apart.
#[derive(Debug)]
struct Decoded {
    members: Vec<Member>,
    signatures: Vec<TarEntry>,
    control: Vec<TarEntry>,
    data: Vec<TarEntry>,
    pkginfo: PackageInfo,
}

impl Decoded {
    fn control_member(&self) -> &Member {
        &self.members[self.members.len() - 2]
    }

    fn data_member(&self) -> &Member {
        &self.members[self.members.len() - 1]
    }

    fn data_entry(&self, path: &str) -> &TarEntry {
        self.data
            .iter()
            .find(|e| e.path.trim_end_matches('/') == path)
            .unwrap_or_else(|| panic!("no data entry {path}"))
    }
}

/// Takes `file` apart and checks every invariant of the module doc against `built`.
fn check_package(
    file: &[u8],
    built: &BuiltPackage,
    signers: &[(&SigningKey, SignatureAlgorithm)],
) -> Decoded {
    let members = split_members(file);
    let signed = !signers.is_empty();
    assert_eq!(
        members.len(),
        if signed { 3 } else { 2 },
        "number of gzip members"
    );
    assert_eq!(built.size, file.len() as u64);

    let signatures = if signed {
        assert_no_end_of_archive(&members[0].raw, "signature tar");
        read_tar(&members[0].raw)
    } else {
        Vec::new()
    };
    let control_member = &members[members.len() - 2];
    let data_member = &members[members.len() - 1];
    assert_no_end_of_archive(&control_member.raw, "control tar");
    let control = read_tar(&control_member.raw);
    let data = read_tar(&data_member.raw);
    // The data tar ends with the end-of-archive marker.
    assert!(data_member.raw.len() >= 1024);
    assert!(
        data_member.raw[data_member.raw.len() - 1024..]
            .iter()
            .all(|&b| b == 0)
    );

    // Identity and datahash.
    let identity_digest: [u8; 20] = Sha1::digest(&control_member.compressed).into();
    assert_eq!(built.identity, apk_index::Checksum::sha1(identity_digest));
    assert_eq!(
        built.datahash,
        hex(&Sha256::digest(&data_member.compressed))
    );

    // Signatures, in the order given.
    assert_eq!(signatures.len(), signers.len());
    for (entry, (key, alg)) in signatures.iter().zip(signers) {
        assert_eq!(
            entry.path,
            format!(".SIGN.{}.{}", alg.sign_name(), key.key_name())
        );
        assert_eq!(entry.mode, 0o644);
        assert!(
            key.public_key()
                .verify(*alg, &control_member.compressed, &entry.content),
            "signature {} verifies",
            entry.path
        );
    }

    // Control: .PKGINFO first, then scripts with mode 0755.
    assert_eq!(control[0].path, ".PKGINFO");
    assert_eq!(control[0].mode, 0o644);
    for script in &control[1..] {
        assert!(
            ScriptKind::from_entry_name(&script.path).is_some(),
            "{}",
            script.path
        );
        assert_eq!(script.mode, 0o755);
    }
    let pkginfo = parse_pkginfo(&control[0].content, Rules::V3).expect("a valid .PKGINFO");
    assert_eq!(pkginfo.datahash.as_deref(), Some(built.datahash.as_str()));
    assert_eq!(pkginfo.installed_size, built.installed_size);
    let mut expected_info = built.info.clone();
    expected_info.identity = None;
    expected_info.size = 0;
    assert_eq!(pkginfo, expected_info);

    // Data: checksums, parents first, no control-looking names.
    let mut seen_dirs = std::collections::HashSet::new();
    let mut contents: HashMap<String, Vec<u8>> = HashMap::new();
    let mut installed = 0u64;
    for entry in &data {
        let path = entry.path.trim_end_matches('/');
        assert!(!path.starts_with('.') && !path.starts_with('/'), "{path}");
        if let Some((parent, _)) = path.rsplit_once('/') {
            assert!(seen_dirs.contains(parent), "{path} before its parent");
        }
        match entry.kind {
            '5' => {
                assert!(entry.path.ends_with('/'));
                assert_eq!(entry.checksum, None);
                seen_dirs.insert(path.to_owned());
            }
            '0' => {
                assert_eq!(
                    entry.checksum.as_deref(),
                    Some(sha1_hex(&entry.content).as_str()),
                    "{path}"
                );
                installed += entry.content.len() as u64;
                contents.insert(path.to_owned(), entry.content.clone());
            }
            '1' => {
                let target = entry.link.as_deref().expect("hard link target");
                let content = contents.get(target).expect("hard link to an earlier file");
                assert_eq!(
                    entry.checksum.as_deref(),
                    Some(sha1_hex(content).as_str()),
                    "{path}"
                );
            }
            '2' => {
                let target = entry.link.as_deref().expect("symlink target");
                assert_eq!(
                    entry.checksum.as_deref(),
                    Some(sha1_hex(target.as_bytes()).as_str())
                );
                assert_eq!(entry.mode, 0o777);
            }
            other => assert!(matches!(other, '3' | '4' | '6'), "unexpected type {other}"),
        }
    }
    let nonempty = !data.is_empty() || control.len() > 1;
    assert_eq!(
        built.installed_size,
        if installed == 0 && nonempty {
            1
        } else {
            installed
        }
    );

    Decoded {
        members,
        signatures,
        control,
        data,
        pkginfo,
    }
}

/// An entry as (path, type, mode, uid, gid, mtime, content or link target, checksum).
type Flat = (String, char, u32, u64, u64, u64, Vec<u8>, Option<String>);

fn flat_from_tar(entry: &TarEntry) -> Flat {
    let body = match entry.kind {
        '1' | '2' => entry.link.clone().unwrap_or_default().into_bytes(),
        _ => entry.content.clone(),
    };
    (
        entry.path.trim_end_matches('/').to_owned(),
        entry.kind,
        entry.mode,
        entry.uid,
        entry.gid,
        entry.mtime,
        body,
        entry.checksum.clone(),
    )
}

/// Reads `file` back with apk-pkg's own [`PackageReader`] and checks it agrees with `built`
/// and with the independent decoding: metadata, identity, signature, scripts, every entry.
fn check_with_reader(file: &[u8], built: &BuiltPackage, decoded: &Decoded, keys: &KeySet) {
    let mut reader = PackageReader::new(file).expect("the reader opens our package");
    let mut expected_info = built.info.clone();
    expected_info.size = 0;
    assert_eq!(reader.info(), &expected_info);
    assert_eq!(reader.identity(), Some(built.identity));
    if keys.is_empty() {
        assert!(reader.verify(keys).is_err());
    } else {
        let by = reader.verify(keys).expect("the signature verifies");
        assert!(keys.contains(by.key_name()));
    }
    let scripts: Vec<(String, Vec<u8>)> = reader
        .scripts()
        .iter()
        .map(|(kind, body)| (kind.entry_name().to_owned(), body.clone()))
        .collect();
    let expected_scripts: Vec<(String, Vec<u8>)> = decoded.control[1..]
        .iter()
        .map(|e| (e.path.clone(), e.content.clone()))
        .collect();
    assert_eq!(scripts, expected_scripts);

    let mut entries: Vec<Flat> = Vec::new();
    while let Some(mut entry) = reader.next_entry().expect("a data entry") {
        let path = entry.path().to_str().expect("utf-8").to_owned();
        let (kind, mut body) = match entry.kind() {
            EntryKind::File => ('0', Vec::new()),
            EntryKind::Directory => ('5', Vec::new()),
            EntryKind::Symlink { target } => {
                ('2', target.to_str().expect("utf-8").as_bytes().to_vec())
            }
            EntryKind::HardLink { target } => {
                ('1', target.to_str().expect("utf-8").as_bytes().to_vec())
            }
            EntryKind::CharDevice { .. } => ('3', Vec::new()),
            EntryKind::BlockDevice { .. } => ('4', Vec::new()),
            EntryKind::Fifo => ('6', Vec::new()),
            other => panic!("unexpected entry kind {other:?}"),
        };
        let checksum = entry.checksum().map(|c| hex(c.as_bytes()));
        let (mode, uid, gid, mtime) = (entry.mode(), entry.uid(), entry.gid(), entry.mtime());
        if kind == '0' {
            entry
                .read_to_end(&mut body)
                .expect("file contents check out");
        }
        entries.push((path, kind, mode, uid, gid, mtime, body, checksum));
    }
    let expected: Vec<Flat> = decoded.data.iter().map(flat_from_tar).collect();
    assert_eq!(entries, expected);
    let summary = reader.finish().expect("the package reads to its end");
    assert_eq!(summary.identity(), built.identity);
    assert_eq!(summary.file_size(), built.size);
}

fn keyset(keys: &[&SigningKey]) -> KeySet {
    let mut set = KeySet::new();
    for key in keys {
        set.insert(key.key_name(), key.public_key());
    }
    set
}

fn build(builder: &PackageBuilder) -> (Vec<u8>, BuiltPackage) {
    let mut out = Vec::new();
    let built = builder.write(&mut out).expect("build the package");
    (out, built)
}

fn info(name: &str, version: &str) -> PackageInfo {
    let mut info = PackageInfo::new(name, version);
    info.description = "a test package".into();
    info.url = "https://example.org/".into();
    info.license = "MIT".into();
    info.arch = Some("x86_64".into());
    info.origin = Some(name.into());
    info.maintainer = Some("Test <test@example.org>".into());
    info.build_time = 1_700_000_000;
    info.depends = vec![
        "musl>=1.2".parse().expect("dep"),
        "!conflict".parse().expect("dep"),
    ];
    info.provides = vec![format!("cmd:{name}={version}").parse().expect("dep")];
    info.replaces = vec!["old-hello".parse().expect("dep")];
    info.replaces_priority = 5;
    info.provider_priority = 10;
    info.install_if = vec!["base".parse().expect("dep")];
    info
}

/// A tree on disk with every kind of entry the builder takes from a directory.
fn make_tree(root: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut big = vec![0u8; 1536 * 1024 + 17];
    rng.fill(&mut big[..]);
    let files: BTreeMap<&'static str, Vec<u8>> = [
        ("etc/hello.conf", b"greeting=hello\n".to_vec()),
        ("etc/empty", Vec::new()),
        ("usr/bin/hello", b"#!/bin/sh\necho hello\n".to_vec()),
        ("usr/share/hello/big.bin", big),
        ("usr/share/hello/block", vec![b'x'; 512]),
        ("usr/share/hello/deep/er/still/file.txt", b"deep\n".to_vec()),
        ("usr/share/hello/a-b", b"sorts after a/".to_vec()),
        ("usr/share/hello/a/inside", b"inside a\n".to_vec()),
    ]
    .into_iter()
    .collect();
    for (path, content) in &files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
    }
    let chmod = |p: &str, mode: u32| {
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(mode))
            .expect("chmod")
    };
    chmod("usr/bin/hello", 0o755);
    chmod("etc/hello.conf", 0o640);
    chmod("etc/empty", 0o600);
    std::fs::create_dir_all(root.join("var/empty")).expect("mkdir");
    chmod("var/empty", 0o700);
    std::os::unix::fs::symlink("hello", root.join("usr/bin/hi")).expect("symlink");
    std::os::unix::fs::symlink("/run", root.join("var/run")).expect("symlink");
    std::os::unix::fs::symlink("../nowhere", root.join("usr/dangling")).expect("symlink");
    // A symlink to a directory is stored, not followed.
    std::os::unix::fs::symlink("../etc", root.join("usr/etc-link")).expect("symlink");
    // Two more names for usr/bin/hello (usr/bin/hello is first in written order).
    std::fs::hard_link(root.join("usr/bin/hello"), root.join("usr/bin/zz-hello")).expect("link");
    std::fs::hard_link(root.join("usr/bin/hello"), root.join("usr/sbin-hello")).expect("link");
    files
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn tree_package_checks_out() {
    let tree = tempfile::tempdir().expect("tempdir");
    let files = make_tree(tree.path());
    let mut builder = PackageBuilder::new(info("hello", "2.12-r0"));
    builder.add_tree(tree.path()).expect("add the tree");
    builder
        .script(ScriptKind::PostInstall, "#!/bin/sh\necho installed\n")
        .script(ScriptKind::PreUpgrade, "#!/bin/sh\nexit 0\n")
        .script(ScriptKind::Trigger, "#!/bin/sh\necho \"$@\"\n")
        .triggers(["/usr/share/hello/*", "/etc"])
        .sign_with(key(), SignatureAlgorithm::RsaSha1);
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &[(key(), SignatureAlgorithm::RsaSha1)]);
    check_with_reader(&file, &built, &decoded, &keyset(&[key()]));

    // Every regular file comes back with its content.
    for (path, content) in &files {
        let entry = decoded.data_entry(path);
        if entry.kind == '0' {
            assert_eq!(&entry.content, content, "{path}");
        }
    }
    let order: Vec<&str> = decoded.data.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        order,
        [
            "etc/",
            "etc/empty",
            "etc/hello.conf",
            "usr/",
            "usr/bin/",
            "usr/bin/hello",
            "usr/bin/hi",
            "usr/bin/zz-hello",
            "usr/dangling",
            "usr/etc-link",
            "usr/sbin-hello",
            "usr/share/",
            "usr/share/hello/",
            "usr/share/hello/a/",
            "usr/share/hello/a/inside",
            "usr/share/hello/a-b",
            "usr/share/hello/big.bin",
            "usr/share/hello/block",
            "usr/share/hello/deep/",
            "usr/share/hello/deep/er/",
            "usr/share/hello/deep/er/still/",
            "usr/share/hello/deep/er/still/file.txt",
            "var/",
            "var/empty/",
            "var/run",
        ]
    );
    // Modes from disk, owners and mtimes from the options.
    assert_eq!(decoded.data_entry("usr/bin/hello").mode, 0o755);
    assert_eq!(decoded.data_entry("etc/hello.conf").mode, 0o640);
    assert_eq!(decoded.data_entry("etc/empty").mode, 0o600);
    assert_eq!(decoded.data_entry("var/empty").mode, 0o700);
    for entry in &decoded.data {
        assert_eq!(
            (entry.uid, entry.gid, entry.mtime),
            (0, 0, 0),
            "{}",
            entry.path
        );
    }
    // Links.
    let hi = decoded.data_entry("usr/bin/hi");
    assert_eq!((hi.kind, hi.link.as_deref()), ('2', Some("hello")));
    assert_eq!(decoded.data_entry("var/run").link.as_deref(), Some("/run"));
    assert_eq!(decoded.data_entry("usr/etc-link").kind, '2');
    for name in ["usr/bin/zz-hello", "usr/sbin-hello"] {
        let link = decoded.data_entry(name);
        assert_eq!(
            (link.kind, link.link.as_deref()),
            ('1', Some("usr/bin/hello")),
            "{name}"
        );
    }
    // Installed size: regular files once each (the hard links add nothing).
    let expected: u64 = files.values().map(|c| c.len() as u64).sum();
    assert_eq!(built.installed_size, expected);

    // Control.
    let names: Vec<&str> = decoded.control.iter().map(|e| e.path.as_str()).collect();
    // Scripts in apk's order of ScriptKind::ALL.
    assert_eq!(
        names,
        [".PKGINFO", ".post-install", ".pre-upgrade", ".trigger"]
    );
    assert_eq!(decoded.control[1].content, b"#!/bin/sh\necho installed\n");
    let pkginfo = &decoded.pkginfo;
    assert_eq!(pkginfo.triggers, ["/usr/share/hello/*", "/etc"]);
    assert_eq!(pkginfo.replaces_priority, 5);
    assert_eq!(pkginfo.replaces.len(), 1);
    assert_eq!(pkginfo.name, "hello");
    assert!(
        decoded.control[0]
            .content
            .starts_with(b"# Generated by apk-rs ")
    );
    assert_eq!(built.info.identity, Some(built.identity));
    assert_eq!(built.info.size, file.len() as u64);
    assert_eq!(decoded.signatures.len(), 1);
    // Gzip headers: mtime 0, OS unix.
    for member in &decoded.members {
        assert_eq!(&member.compressed[..3], [0x1f, 0x8b, 0x08]);
        assert_eq!(&member.compressed[4..8], [0, 0, 0, 0]);
        assert_eq!(member.compressed[9], 3);
    }
}

#[test]
fn real_package_pax_record_format() {
    let mut builder = PackageBuilder::new(PackageInfo::new("a", "1-r0"));
    builder.add_file("etc/motd", 0o644, "hello\n").expect("add");
    let (file, _) = build(&builder);
    let members = split_members(&file);
    let data = &members[1].raw;
    // etc/ directory header, then the PAX header named as GNU tar names it, its one record,
    // then the file header.
    assert_eq!(&data[..4], b"etc/");
    let pax = &data[512..1024];
    assert_eq!(&pax[..22], b"etc/PaxHeaders/motd\0\0\0");
    assert_eq!(pax[156], b'x');
    assert_eq!(&pax[257..265], b"ustar\x0000");
    let record = format!("68 APK-TOOLS.checksum.SHA1={}\n", sha1_hex(b"hello\n"));
    assert_eq!(&data[1024..1024 + 68], record.as_bytes());
    assert!(data[1024 + 68..1536].iter().all(|&b| b == 0));
    let header = &data[1536..2048];
    assert_eq!(&header[..9], b"etc/motd\0");
    assert_eq!(&header[100..108], b"0000644\0");
    assert_eq!(&header[124..136], b"00000000006\0");
    assert_eq!(&header[154..156], b"\0 ");
    assert_eq!(header[156], b'0');
}

#[test]
fn same_inputs_same_bytes() {
    let tree = tempfile::tempdir().expect("tempdir");
    make_tree(tree.path());
    let make = |mtime: u64| {
        let mut options = BuildOptions::default();
        options.mtime = mtime;
        let mut builder = PackageBuilder::with_options(info("hello", "1.0-r0"), options);
        builder.add_tree(tree.path()).expect("add the tree");
        builder
            .add_file("usr/share/doc/hello/README", 0o644, "readme\n")
            .expect("add");
        builder
            .script(ScriptKind::PostInstall, "#!/bin/sh\n")
            .sign_with(key(), SignatureAlgorithm::RsaSha1);
        builder
    };
    let (a, built_a) = build(&make(1_700_000_000));
    let (b, built_b) = build(&make(1_700_000_000));
    assert!(a == b, "two builds of the same inputs differ");
    assert_eq!(built_a, built_b);
    // Writing the same builder twice gives the same bytes too.
    let builder = make(1_700_000_000);
    assert!(build(&builder).0 == build(&builder).0);
    // The mtime is part of the bytes.
    let (c, built_c) = build(&make(1_600_000_000));
    assert!(a != c);
    assert_ne!(built_a.identity, built_c.identity);
    let decoded = check_package(&c, &built_c, &[(key(), SignatureAlgorithm::RsaSha1)]);
    assert!(decoded.data.iter().all(|e| e.mtime == 1_600_000_000));
    assert!(decoded.control.iter().all(|e| e.mtime == 1_600_000_000));
}

#[test]
fn programmatic_entries_and_long_names() {
    let long_dir = format!("usr/share/{}", "d".repeat(60));
    let long_file = format!("{long_dir}/{}", "f".repeat(70));
    let long_target = format!("/{}", "t".repeat(150));
    let mut builder = PackageBuilder::new(PackageInfo::new("prog", "1.0-r0"));
    builder
        .add_file("usr/bin/prog", 0o4755, "binary")
        .expect("add")
        .add_dir("var/lib/prog", 0o750)
        .expect("add")
        .add_symlink("usr/bin/prog-link", "prog")
        .expect("add")
        .add_hard_link("usr/bin/prog-hard", "usr/bin/prog")
        .expect("add")
        .add_file(&long_file, 0o644, "long")
        .expect("add")
        .add_symlink("usr/long-link", &long_target)
        .expect("add")
        .add_file("var/lib/prog/state", 0o600, "")
        .expect("add")
        .set_owner("var/lib/prog", 100, 101)
        .expect("owner")
        .set_owner("var/lib/prog/state", 100, 101)
        .expect("owner")
        .set_mtime("usr/bin/prog", 1234)
        .expect("mtime");
    // Adding a directory again replaces its mode; an implicit parent can be made explicit.
    builder
        .add_dir("usr/share", 0o775)
        .expect("re-add a directory");
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &[]);
    check_with_reader(&file, &built, &decoded, &KeySet::new());

    let prog = decoded.data_entry("usr/bin/prog");
    assert_eq!(
        (prog.mode, prog.mtime, prog.content.as_slice()),
        (0o4755, 1234, &b"binary"[..])
    );
    assert_eq!(decoded.data_entry("usr").mode, 0o755, "implicit parent");
    assert_eq!(decoded.data_entry("usr/share").mode, 0o775);
    let state = decoded.data_entry("var/lib/prog/state");
    assert_eq!((state.uid, state.gid, state.mode), (100, 101, 0o600));
    assert_eq!(decoded.data_entry("var/lib/prog").uid, 100);
    assert_eq!(decoded.data_entry(&long_file).content, b"long");
    assert_eq!(
        decoded.data_entry("usr/long-link").link.as_deref(),
        Some(long_target.as_str())
    );
    let hard = decoded.data_entry("usr/bin/prog-hard");
    assert_eq!(
        (hard.kind, hard.link.as_deref()),
        ('1', Some("usr/bin/prog"))
    );
    assert_eq!(built.installed_size, 10);
    // Unsigned: two members, no signature.
    assert_eq!(decoded.members.len(), 2);
    assert_eq!(
        built.identity,
        apk_index::Checksum::sha1(Sha1::digest(&decoded.control_member().compressed).into())
    );
    assert_eq!(
        built.datahash,
        hex(&Sha256::digest(&decoded.data_member().compressed))
    );
}

#[test]
fn several_signatures() {
    let (a, b) = keys();
    let signers = [
        (a, SignatureAlgorithm::RsaSha1),
        (b, SignatureAlgorithm::RsaSha256),
        (a, SignatureAlgorithm::RsaSha512),
    ];
    let mut builder = PackageBuilder::new(PackageInfo::new("multi", "1-r0"));
    builder
        .add_file("usr/share/multi", 0o644, "x")
        .expect("add");
    for (key, alg) in signers {
        builder.sign_with(key, alg);
    }
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &signers);
    // Any one of the keys is enough; the first trusted one decides.
    check_with_reader(&file, &built, &decoded, &keyset(&[b]));
    check_with_reader(&file, &built, &decoded, &keyset(&[a, b]));
}

#[test]
fn installed_size_edge_cases() {
    // Nothing at all: a meta package, size 0.
    let builder = PackageBuilder::new(PackageInfo::new("meta", "1-r0"));
    let (file, built) = build(&builder);
    assert_eq!(built.installed_size, 0);
    let decoded = check_package(&file, &built, &[]);
    assert!(decoded.data.is_empty());

    // Only directories, symlinks and empty files: size 1, so apk does not skip it.
    let mut builder = PackageBuilder::new(PackageInfo::new("dirs", "1-r0"));
    builder
        .add_dir("var/lib/dirs", 0o755)
        .expect("add")
        .add_file("etc/dirs.conf", 0o644, "")
        .expect("add");
    let (file, built) = build(&builder);
    assert_eq!(built.installed_size, 1);
    check_package(&file, &built, &[]);

    // Only a script.
    let mut builder = PackageBuilder::new(PackageInfo::new("script", "1-r0"));
    builder.script(ScriptKind::PostInstall, "#!/bin/sh\n");
    let (file, built) = build(&builder);
    assert_eq!(built.installed_size, 1);
    check_package(&file, &built, &[]);
}

#[test]
fn invalid_metadata_is_refused() {
    let write = |info: PackageInfo, edit: &dyn Fn(&mut PackageBuilder)| {
        let mut builder = PackageBuilder::new(info);
        edit(&mut builder);
        builder.write(std::io::sink()).expect_err("refused")
    };
    let nothing = |_: &mut PackageBuilder| {};
    assert!(matches!(
        write(PackageInfo::new("", "1-r0"), &nothing),
        BuildPackageError::InvalidName { .. }
    ));
    assert!(matches!(
        write(PackageInfo::new("-x", "1-r0"), &nothing),
        BuildPackageError::InvalidName { .. }
    ));
    assert!(matches!(
        write(PackageInfo::new("a", "not a version"), &nothing),
        BuildPackageError::InvalidVersion(_)
    ));
    // Valid only under apk-tools 2 rules: accepted.
    PackageBuilder::new(PackageInfo::new("a", "0.1a1"))
        .write(std::io::sink())
        .expect("a v2-only version");
    let mut bad = PackageInfo::new("a", "1-r0");
    bad.description = "two\nlines".into();
    let err = write(bad, &nothing);
    assert_eq!(err.to_string(), "invalid description \"two\\nlines\"");
    let mut bad = PackageInfo::new("a", "1-r0");
    bad.arch = Some("x86 64".into());
    assert!(matches!(
        write(bad, &nothing),
        BuildPackageError::InvalidField { field: "arch", .. }
    ));
    assert!(matches!(
        write(PackageInfo::new("a", "1-r0"), &|b| {
            b.triggers(["/usr/share/*"]);
        }),
        BuildPackageError::TriggersWithoutScript
    ));
    assert!(matches!(
        write(PackageInfo::new("a", "1-r0"), &|b| {
            b.triggers(["usr/share/*"]).script(ScriptKind::Trigger, "");
        }),
        BuildPackageError::InvalidTrigger { .. }
    ));
    assert!(matches!(
        write(PackageInfo::new("a", "1-r0"), &|b| {
            b.options_mut().compression_level = 10;
        }),
        BuildPackageError::InvalidCompressionLevel(10)
    ));
    // A hard link must point to a file written before it.
    let err = write(PackageInfo::new("a", "1-r0"), &|b| {
        b.add_file("b/file", 0o644, "x").expect("add");
        b.add_hard_link("a", "b/file").expect("add");
    });
    assert!(
        matches!(err, BuildPackageError::HardLinkTarget { .. }),
        "{err}"
    );
    let err = write(PackageInfo::new("a", "1-r0"), &|b| {
        b.add_hard_link("z", "nowhere").expect("add");
    });
    assert!(
        matches!(err, BuildPackageError::HardLinkTarget { .. }),
        "{err}"
    );
    // A missing source file is reported with its path.
    let err = write(PackageInfo::new("a", "1-r0"), &|b| {
        b.add_file_from("x", 0o644, "/nonexistent/file")
            .expect("add");
    });
    assert_eq!(err.to_string(), "failed to read /nonexistent/file");
}

#[test]
fn invalid_entries_are_refused() {
    let mut builder = PackageBuilder::new(PackageInfo::new("a", "1-r0"));
    for bad in [
        "", "/abs", "a//b", "a/", "a/../b", "./a", ".hidden", "a/\tb",
    ] {
        let err = builder.add_file(bad, 0o644, "").expect_err(bad);
        assert!(
            matches!(err, AddEntryError::InvalidPath { .. }),
            "{bad:?}: {err}"
        );
    }
    builder.add_file("a/b", 0o644, "").expect("add");
    assert_eq!(
        builder.add_file("a/b", 0o644, "").expect_err("duplicate"),
        AddEntryError::Duplicate { path: "a/b".into() }
    );
    assert!(matches!(
        builder.add_dir("a/b", 0o755).expect_err("file then dir"),
        AddEntryError::Duplicate { .. }
    ));
    assert!(matches!(
        builder
            .add_file("a/b/c", 0o644, "")
            .expect_err("under a file"),
        AddEntryError::ParentNotDirectory { .. }
    ));
    assert!(matches!(
        builder
            .add_file("m", 0o100644, "")
            .expect_err("file type bits"),
        AddEntryError::InvalidMode { .. }
    ));
    assert!(matches!(
        builder.add_symlink("l", "").expect_err("empty target"),
        AddEntryError::InvalidTarget { .. }
    ));
    assert!(matches!(
        builder.set_owner("nope", 1, 1).expect_err("unknown path"),
        AddEntryError::NotFound { .. }
    ));
    assert!(matches!(
        builder
            .set_owner("a/b", 0o10_000_000, 0)
            .expect_err("uid too large"),
        AddEntryError::TooLarge { field: "uid", .. }
    ));
    assert_eq!(
        builder
            .add_file("/abs", 0o644, "")
            .expect_err("absolute")
            .to_string(),
        "invalid package path \"/abs\": absolute (package paths are relative, without a leading '/')"
    );
}

#[test]
fn special_files_in_trees() {
    let tree = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tree.path().join("run")).expect("mkdir");
    let socket = tree.path().join("run/sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind a socket");
    let mut builder = PackageBuilder::new(PackageInfo::new("a", "1-r0"));
    let err = builder.add_tree(tree.path()).expect_err("a socket");
    assert!(matches!(err, AddTreeError::Unsupported { .. }), "{err}");

    let err = PackageBuilder::new(PackageInfo::new("a", "1-r0"))
        .add_tree(tree.path().join("run/sock"))
        .map(|_| ())
        .expect_err("not a directory");
    assert!(matches!(err, AddTreeError::NotADirectory { .. }), "{err}");

    // A fifo, when mkfifo is available: refused by default, stored when allowed.
    let fifo_tree = tempfile::tempdir().expect("tempdir");
    let made = std::process::Command::new("mkfifo")
        .arg(fifo_tree.path().join("pipe"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("mkfifo not available; skipping the fifo part");
        return;
    }
    let err = PackageBuilder::new(PackageInfo::new("a", "1-r0"))
        .add_tree(fifo_tree.path())
        .map(|_| ())
        .expect_err("a fifo");
    assert!(
        matches!(err, AddTreeError::SpecialFile { kind: "fifo", .. }),
        "{err}"
    );
    let mut options = BuildOptions::default();
    options.allow_special_files = true;
    let mut builder = PackageBuilder::with_options(PackageInfo::new("a", "1-r0"), options);
    builder.add_tree(fifo_tree.path()).expect("fifos allowed");
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &[]);
    assert_eq!(decoded.data_entry("pipe").kind, '6');
    check_with_reader(&file, &built, &decoded, &KeySet::new());
}

#[test]
fn tree_owners_and_mtimes_on_request() {
    let tree = tempfile::tempdir().expect("tempdir");
    std::fs::write(tree.path().join("f"), "x").expect("write");
    let meta = std::fs::metadata(tree.path().join("f")).expect("stat");
    let mut options = BuildOptions::default();
    options.keep_tree_mtimes = true;
    options.keep_tree_owners = true;
    let mut builder = PackageBuilder::with_options(PackageInfo::new("a", "1-r0"), options);
    builder.add_tree(tree.path()).expect("add");
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &[]);
    let f = decoded.data_entry("f");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(f.mtime, u64::try_from(meta.mtime()).expect("after 1970"));
    assert_eq!(
        (f.uid, f.gid),
        (u64::from(meta.uid()), u64::from(meta.gid()))
    );
}

#[test]
fn temp_dir_option_and_streaming_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.bin");
    std::fs::write(&source, vec![7u8; 100_000]).expect("write");
    let mut options = BuildOptions::default();
    options.temp_dir = Some(dir.path().to_owned());
    options.compression_level = 9;
    let mut builder = PackageBuilder::with_options(PackageInfo::new("a", "1-r0"), options);
    builder
        .add_file_from("usr/share/a/data", 0o644, &source)
        .expect("add");
    let (file, built) = build(&builder);
    let decoded = check_package(&file, &built, &[]);
    assert_eq!(
        decoded.data_entry("usr/share/a/data").content,
        vec![7u8; 100_000]
    );
    // The anonymous temporary file left nothing behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert_eq!(left.len(), 1);

    let mut options = BuildOptions::default();
    options.temp_dir = Some(dir.path().join("missing"));
    let mut builder = PackageBuilder::with_options(PackageInfo::new("a", "1-r0"), options);
    builder.add_file("a", 0o644, "").expect("add");
    let err = builder.write(std::io::sink()).expect_err("no temp dir");
    assert!(matches!(err, BuildPackageError::TempFile { .. }), "{err}");
}

/// GNU tar and gzip, when installed, read our packages as one tar stream.
#[test]
fn system_tar_lists_the_package() {
    let has = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("tar") || !has("gzip") {
        eprintln!("tar or gzip not available; skipping");
        return;
    }
    let tree = tempfile::tempdir().expect("tempdir");
    make_tree(tree.path());
    let mut builder = PackageBuilder::new(info("hello", "1.0-r0"));
    builder.add_tree(tree.path()).expect("add");
    builder
        .script(ScriptKind::PostInstall, "#!/bin/sh\n")
        .sign_with(key(), SignatureAlgorithm::RsaSha1);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let apk = out_dir.path().join("hello-1.0-r0.apk");
    let built = builder
        .write(std::fs::File::create(&apk).expect("create"))
        .expect("build");
    assert_eq!(std::fs::metadata(&apk).expect("stat").len(), built.size);

    let output = std::process::Command::new("tar")
        .arg("-tzvf")
        .arg(&apk)
        .output()
        .expect("run tar");
    assert!(
        output.status.success(),
        "tar failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = String::from_utf8(output.stdout).expect("utf-8");
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    assert_eq!(
        names[..3],
        [
            &format!(".SIGN.RSA.{KEY_NAME}") as &str,
            ".PKGINFO",
            ".post-install"
        ]
    );
    for expected in [
        "etc/",
        "etc/hello.conf",
        "usr/bin/hello",
        "usr/share/hello/big.bin",
        "var/run",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from\n{listing}"
        );
    }
    assert!(listing.contains("usr/bin/hi -> hello"), "{listing}");
    assert!(
        listing.contains("usr/bin/zz-hello link to usr/bin/hello"),
        "{listing}"
    );
    // Each file's content as tar extracts it equals the tree's.
    let output = std::process::Command::new("tar")
        .arg("-xzOf")
        .arg(&apk)
        .arg("usr/share/hello/big.bin")
        .output()
        .expect("run tar");
    assert!(output.status.success());
    assert_eq!(
        output.stdout,
        std::fs::read(tree.path().join("usr/share/hello/big.bin")).expect("read")
    );
}

// ---------------------------------------------------------------------------------------------
// Property: any small tree comes back as it went in.

#[derive(Debug, Clone)]
enum Node {
    File {
        mode: u32,
        content: Vec<u8>,
    },
    Dir {
        mode: u32,
        children: BTreeMap<String, Node>,
    },
    Symlink(String),
}

fn name() -> impl Strategy<Value = String> {
    "[a-c][a-c._-]{0,2}"
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (
            prop::sample::select(vec![0o644u32, 0o755, 0o600, 0o4755, 0o444]),
            prop::collection::vec(any::<u8>(), 0..1500)
        )
            .prop_map(|(mode, content)| Node::File { mode, content }),
        "[a-z./]{1,12}".prop_map(Node::Symlink),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        (
            prop::sample::select(vec![0o755u32, 0o700, 0o750]),
            prop::collection::btree_map(name(), inner, 0..5),
        )
            .prop_map(|(mode, children)| Node::Dir { mode, children })
    })
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Node>> {
    prop::collection::btree_map(name(), node(), 0..5)
}

fn materialize(dir: &Path, nodes: &BTreeMap<String, Node>) {
    for (name, node) in nodes {
        let path = dir.join(name);
        match node {
            Node::File { mode, content } => {
                std::fs::write(&path, content).expect("write");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .expect("chmod");
            }
            Node::Dir { mode, children } => {
                std::fs::create_dir(&path).expect("mkdir");
                materialize(&path, children);
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .expect("chmod");
            }
            Node::Symlink(target) => std::os::unix::fs::symlink(target, &path).expect("symlink"),
        }
    }
}

/// (path, type, mode, content or target) in written order: sorted, parents first.
fn flatten(
    prefix: &str,
    nodes: &BTreeMap<String, Node>,
    out: &mut Vec<(String, char, u32, Vec<u8>)>,
) {
    for (name, node) in nodes {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match node {
            Node::File { mode, content } => out.push((path, '0', *mode, content.clone())),
            Node::Dir { mode, children } => {
                out.push((path.clone(), '5', *mode, Vec::new()));
                flatten(&path, children, out);
            }
            Node::Symlink(target) => out.push((path, '2', 0o777, target.clone().into_bytes())),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn trees_round_trip(nodes in tree()) {
        let dir = tempfile::tempdir().expect("tempdir");
        materialize(dir.path(), &nodes);
        let mut builder = PackageBuilder::new(PackageInfo::new("prop", "1-r0"));
        builder.add_tree(dir.path()).expect("add the tree");
        builder.sign_with(key(), SignatureAlgorithm::RsaSha256);
        let (file, built) = build(&builder);
        let decoded = check_package(&file, &built, &[(key(), SignatureAlgorithm::RsaSha256)]);

        let mut expected = Vec::new();
        flatten("", &nodes, &mut expected);
        let got: Vec<(String, char, u32, Vec<u8>)> = decoded
            .data
            .iter()
            .map(|e| {
                let body = match e.kind {
                    '2' => e.link.clone().unwrap_or_default().into_bytes(),
                    _ => e.content.clone(),
                };
                (e.path.trim_end_matches('/').to_owned(), e.kind, e.mode, body)
            })
            .collect();
        prop_assert_eq!(got, expected);
        check_with_reader(&file, &built, &decoded, &keyset(&[key()]));
        // The same tree always gives the same bytes.
        prop_assert!(build(&builder).0 == file);
    }
}
