//! Hand-made tar, gzip and package bytes, so hostile packages can be built exactly as wanted
//! (nothing here validates anything), plus the test keys and the corpus location.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apk_index::keys::{SignatureAlgorithm, SigningKey};
use rand::SeedableRng;
use sha1::{Digest, Sha1};
use sha2::Sha256;

pub const TRUSTED: &str = "trusted@example.org-00000001.rsa.pub";
pub const STRANGER: &str = "stranger@example.org-00000002.rsa.pub";

/// The two test keys, generated once per test run.
pub fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let trusted = SigningKey::generate(TRUSTED, 1024, &mut rng).expect("generate a key");
        let stranger = SigningKey::generate(STRANGER, 1024, &mut rng).expect("generate a key");
        (trusted, stranger)
    })
}

pub fn trusted() -> &'static SigningKey {
    &keys().0
}

pub fn stranger() -> &'static SigningKey {
    &keys().1
}

/// A key set trusting [`TRUSTED`].
pub fn trusted_keys() -> apk_index::KeySet {
    let mut set = apk_index::KeySet::new();
    set.insert(TRUSTED, trusted().public_key());
    set
}

/// `$APK_CORPUS`, or `None` (with a note) when unset. Panics if set but unreadable.
pub fn corpus() -> Option<PathBuf> {
    match std::env::var_os("APK_CORPUS") {
        None => {
            eprintln!("note: APK_CORPUS is not set; skipping a corpus test");
            None
        }
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("SOURCES.md").is_file(),
                "APK_CORPUS={} is not a readable corpus",
                dir.display()
            );
            Some(dir)
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex(&Sha1::digest(data))
}

/// One gzip member.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("write to a Vec");
    enc.finish().expect("write to a Vec")
}

/// A tar stream written by hand.
#[derive(Clone, Default)]
pub struct Tar {
    pub bytes: Vec<u8>,
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{value:0width$o}", width = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

impl Tar {
    pub fn new() -> Tar {
        Tar::default()
    }

    /// A POSIX ustar header. `name` and `link` are cut to 100 bytes (use PAX for more).
    pub fn header(&mut self, name: &[u8], type_flag: u8, mode: u32, size: u64, link: &[u8]) {
        let mut h = [0u8; 512];
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name[..n]);
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 1_700_000_000);
        h[156] = type_flag;
        let l = link.len().min(100);
        h[157..157 + l].copy_from_slice(&link[..l]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.bytes.extend_from_slice(&h);
    }

    /// Contents padded to a block.
    pub fn data(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.resize(self.bytes.len() + pad, 0);
    }

    /// A PAX `x` header with `records`.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) {
        let mut body = Vec::new();
        for (key, value) in records {
            let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
            let mut len = rest + 1;
            while format!("{len}").len() + rest != len {
                len += 1;
            }
            body.extend_from_slice(format!("{len} {key}=").as_bytes());
            body.extend_from_slice(value);
            body.push(b'\n');
        }
        self.header(b"PaxHeader", b'x', 0o644, body.len() as u64, b"");
        self.data(&body);
    }

    /// A regular file with its APK-TOOLS checksum.
    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.file_mode(name, 0o644, data)
    }

    pub fn file_mode(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Self {
        let sum = sha1_hex(data);
        self.pax(&[("APK-TOOLS.checksum.SHA1", sum.as_bytes())]);
        self.header(name.as_bytes(), b'0', mode, data.len() as u64, b"");
        self.data(data);
        self
    }

    /// A regular file with a checksum that does not match.
    pub fn file_bad_checksum(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let sum = sha1_hex(b"something else");
        self.pax(&[("APK-TOOLS.checksum.SHA1", sum.as_bytes())]);
        self.header(name.as_bytes(), b'0', 0o644, data.len() as u64, b"");
        self.data(data);
        self
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.dir_mode(name, 0o755)
    }

    pub fn dir_mode(&mut self, name: &str, mode: u32) -> &mut Self {
        self.header(name.as_bytes(), b'5', mode, 0, b"");
        self
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.header(name.as_bytes(), b'2', 0o777, 0, target.as_bytes());
        self
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.header(name.as_bytes(), b'1', 0o644, 0, target.as_bytes());
        self
    }

    pub fn special(&mut self, name: &str, type_flag: u8) -> &mut Self {
        self.header(name.as_bytes(), type_flag, 0o644, 0, b"");
        self
    }

    /// The end-of-archive marker.
    pub fn end(&mut self) -> &mut Self {
        self.bytes.resize(self.bytes.len() + 1024, 0);
        self
    }
}

/// A package to be assembled from hand-made parts.
#[derive(Clone)]
pub struct TestPkg {
    pub pkginfo: String,
    pub scripts: Vec<(String, Vec<u8>)>,
    pub data: Tar,
    pub datahash: bool,
    pub signers: Vec<(&'static SigningKey, SignatureAlgorithm)>,
}

/// The gzip members of an assembled package.
pub struct Members {
    pub signature: Option<Vec<u8>>,
    pub control: Vec<u8>,
    pub data: Vec<u8>,
}

impl Members {
    pub fn concat(&self) -> Vec<u8> {
        let mut out = self.signature.clone().unwrap_or_default();
        out.extend_from_slice(&self.control);
        out.extend_from_slice(&self.data);
        out
    }
}

impl TestPkg {
    /// `hello 1.0-r0` with a small tree, signed by the trusted key, with datahash.
    pub fn new() -> TestPkg {
        let mut data = Tar::new();
        data.dir("usr")
            .dir("usr/bin")
            .file_mode("usr/bin/hello", 0o755, b"#!/bin/sh\necho hello\n")
            .dir("etc")
            .file("etc/hello.conf", b"greeting=hello\n")
            .symlink("usr/bin/hi", "hello")
            .end();
        TestPkg {
            pkginfo:
                "# Generated by hand\npkgname = hello\npkgver = 1.0-r0\npkgdesc = says hello\n\
                      url = https://example.org\nbuilddate = 1700000000\narch = x86_64\n\
                      license = MIT\nsize = 35\n"
                    .to_owned(),
            scripts: vec![(".post-install".to_owned(), b"#!/bin/sh\nexit 0\n".to_vec())],
            data,
            datahash: true,
            signers: vec![(trusted(), SignatureAlgorithm::RsaSha1)],
        }
    }

    pub fn with_data(mut self, data: Tar) -> TestPkg {
        self.data = data;
        self
    }

    pub fn unsigned(mut self) -> TestPkg {
        self.signers.clear();
        self
    }

    pub fn members(&self) -> Members {
        let data = gzip(&self.data.bytes);
        let mut pkginfo = self.pkginfo.clone();
        if self.datahash {
            pkginfo.push_str(&format!("datahash = {}\n", hex(&Sha256::digest(&data))));
        }
        let mut control = Tar::new();
        control.header(b".PKGINFO", b'0', 0o644, pkginfo.len() as u64, b"");
        control.data(pkginfo.as_bytes());
        for (name, script) in &self.scripts {
            control.header(name.as_bytes(), b'0', 0o755, script.len() as u64, b"");
            control.data(script);
        }
        let control = gzip(&control.bytes);
        let signature = (!self.signers.is_empty()).then(|| {
            let mut signed = control.clone();
            if !self.datahash {
                signed.extend_from_slice(&data);
            }
            let mut tar = Tar::new();
            for (key, alg) in &self.signers {
                let sig = key.sign(*alg, &signed).expect("sign");
                let name = format!(".SIGN.{}.{}", alg.sign_name(), key.key_name());
                tar.header(name.as_bytes(), b'0', 0o644, sig.len() as u64, b"");
                tar.data(&sig);
            }
            gzip(&tar.bytes)
        });
        Members {
            signature,
            control,
            data,
        }
    }

    pub fn build(&self) -> Vec<u8> {
        self.members().concat()
    }
}

/// The expected identity of a package made of `members`.
pub fn identity_of(members: &Members, datahash: bool) -> String {
    let mut h = Sha1::new();
    h.update(&members.control);
    if !datahash {
        h.update(&members.data);
    }
    apk_index::Checksum::sha1(h.finalize().into()).to_string()
}

/// Every path below `root` (relative, sorted), with a type letter, for tree comparisons.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.push(format!("L {rel} -> {}", target.display()));
            } else if meta.is_dir() {
                out.push(format!("D {rel}"));
                walk(root, &path, out);
            } else {
                out.push(format!("F {rel}"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
