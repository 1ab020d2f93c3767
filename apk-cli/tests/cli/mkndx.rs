//! `apk-rs mkpkg --format v3` and `apk-rs mkndx`: v3 packages and indexes built by the
//! binary, read back, verified and extracted; and, with `$APK_CORPUS` (skipped with a note
//! when unset, a failure when set but unreadable), the apk-tools 3.0.6 sample rebuilt from its
//! inputs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apk_index::adb::{self, AdbFile, Package, ReadOptions};
use apk_index::keys::{KeySet, SigningKey};
use apk_index::{Index, IndexOptions};
use rand::SeedableRng;

use crate::util::Dir;

const KEY_FILE: &str = "v3@example.org-1.rsa";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        SigningKey::generate(&format!("{KEY_FILE}.pub"), 1024, &mut rng).expect("generate a key")
    })
}

fn keys() -> KeySet {
    let mut keys = KeySet::new();
    keys.insert(format!("{KEY_FILE}.pub"), key().public_key());
    keys
}

fn fixture() -> Dir {
    let dir = Dir::new();
    dir.create("root/usr/bin/hello", "#!/bin/sh\necho hello\n");
    dir.create("root/etc/hello.conf", "greeting=hello\n");
    std::os::unix::fs::symlink("hello", dir.join("root/usr/bin/hi")).expect("symlink");
    dir.create("post-install.sh", "#!/bin/sh\necho installed\n");
    dir.create(Path::new("keys").join(KEY_FILE), key().private_key_pem());
    dir.create(
        Path::new("pub").join(format!("{KEY_FILE}.pub")),
        key().public_key().to_pem(),
    );
    dir
}

fn mkpkg(dir: &Dir, name: &str, extra: &[&str]) {
    let mut args: Vec<String> = [
        "mkpkg",
        "--format",
        "v3",
        "-I",
        &format!("name:{name}"),
        "-I",
        "version:1.0-r0",
        "-I",
        "arch:x86_64",
        "-I",
        "depends:musl",
        "-F",
        "root",
        "-s",
        "post-install:post-install.sh",
        "--sign-key",
        &format!("keys/{KEY_FILE}"),
        "-o",
        &format!("repo/{name}-1.0-r0.apk"),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    std::fs::create_dir_all(dir.join("repo")).expect("mkdir");
    dir.apk(&args).assert(0, "");
}

/// `apk-rs extract` of `repo/hello-1.0-r0.apk`, trusting `pub/`, gives the fixture's script.
fn extracts_hello(dir: &Dir) {
    dir.apk([
        "extract",
        "--keys-dir",
        "pub",
        "--destination",
        "out",
        "repo/hello-1.0-r0.apk",
    ])
    .assert_stdout(0, "");
    assert_eq!(
        std::fs::read(dir.join("out/usr/bin/hello")).expect("extracted"),
        b"#!/bin/sh\necho hello\n"
    );
}

#[test]
fn builds_v3_packages_and_an_index() {
    let dir = fixture();
    mkpkg(&dir, "hello", &[]);
    mkpkg(&dir, "hello-plain", &["--compression", "none"]);
    mkpkg(&dir, "hello-zstd", &["--compression", "zstd"]);

    for name in ["hello", "hello-plain", "hello-zstd"] {
        let file = std::fs::read(dir.join(format!("repo/{name}-1.0-r0.apk"))).expect("package");
        adb::verify_bytes(&file, &keys(), &ReadOptions::default()).expect("verifies");
        let stream = adb::decompress(&file, &ReadOptions::default()).expect("inflate");
        let parsed = AdbFile::parse(&stream).expect("parse");
        let package = Package::from_file(&parsed).expect("package");
        package.check_unique_id(&parsed.adb()).expect("unique id");
        assert_eq!(package.info.name, Some(name));
        assert!(package.scripts.post_install.is_some());
    }
    let plain = std::fs::read(dir.join("repo/hello-plain-1.0-r0.apk")).expect("package");
    assert!(plain.starts_with(b"ADB.pckg"));

    dir.apk([
        "verify",
        "--keys-dir",
        "pub",
        "repo/hello-1.0-r0.apk",
        "repo/hello-zstd-1.0-r0.apk",
    ])
    .assert(
        0,
        "repo/hello-1.0-r0.apk: OK\nrepo/hello-zstd-1.0-r0.apk: OK\n",
    );
    extracts_hello(&dir);

    dir.apk([
        "mkndx",
        "-v",
        "-o",
        "repo/Packages.adb",
        "-d",
        "test repository",
        "--sign-key",
        &format!("keys/{KEY_FILE}"),
        "repo/hello-zstd-1.0-r0.apk",
        "repo/hello-1.0-r0.apk",
        "repo/hello-plain-1.0-r0.apk",
    ])
    .assert(0, "Index has 3 packages\n");
    let bytes = std::fs::read(dir.join("repo/Packages.adb")).expect("index");
    let index =
        Index::from_adb_bytes(&bytes, Some(&keys()), &IndexOptions::default()).expect("index");
    assert_eq!(index.description(), Some("test repository"));
    let names: Vec<&str> = (0..index.len()).map(|i| index.package(i).name()).collect();
    assert_eq!(names, ["hello", "hello-plain", "hello-zstd"]);
    assert_eq!(index.package(1).size(), plain.len() as u64);
    dir.apk(["verify", "--keys-dir", "pub", "repo/Packages.adb"])
        .assert(0, "repo/Packages.adb: OK\n");

    let out = dir.apk([
        "mkndx",
        "-o",
        "x.adb",
        "--hash",
        "md5",
        "repo/hello-1.0-r0.apk",
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("unknown index hash"), "{out:?}");
    let out = dir.apk(["mkndx", "-o", "x.adb", "post-install.sh"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("failed to index post-install.sh"),
        "{out:?}"
    );
}

/// An ECDSA P-256 key in OpenSSL's `ecparam -genkey` form (what OpenWrt signs v3 repositories
/// with) signs v3 packages and indexes, and `verify` trusts them through the public key in
/// a keys directory; v2 signing with it is refused with a clear message.
#[test]
fn ecdsa_keys_sign_v3_files() {
    let dir = fixture();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let ec = SigningKey::generate_ecdsa_p256("openwrt.pem", &mut rng).expect("ec key");
    dir.create("eckeys/openwrt.pem", ec.private_key_pem());
    dir.create("ecpub/openwrt.pem", ec.public_key().to_pem());
    std::fs::create_dir_all(dir.join("repo")).expect("mkdir");
    let mkpkg = |format: &str, out: &str| {
        dir.apk([
            "mkpkg",
            "--format",
            format,
            "-I",
            "name:hello",
            "-I",
            "version:1.0-r0",
            "-F",
            "root",
            "--sign-key",
            "eckeys/openwrt.pem",
            "-o",
            out,
        ])
    };
    mkpkg("v3", "repo/hello-1.0-r0.apk").assert(0, "");
    dir.apk([
        "mkndx",
        "-o",
        "repo/Packages.adb",
        "--sign-key",
        "eckeys/openwrt.pem",
        "repo/hello-1.0-r0.apk",
    ])
    .assert(0, "");
    dir.apk([
        "verify",
        "--keys-dir",
        "ecpub",
        "repo/hello-1.0-r0.apk",
        "repo/Packages.adb",
    ])
    .assert(0, "repo/hello-1.0-r0.apk: OK\nrepo/Packages.adb: OK\n");
    // Not trusted through the RSA keys.
    let out = dir.apk(["verify", "--keys-dir", "pub", "repo/Packages.adb"]);
    assert_ne!(out.code, 0, "{out:?}");

    let out = mkpkg("v2", "repo/hello-v2.apk");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("v2 signatures need an rsa key"),
        "{out:?}"
    );
    assert!(!dir.join("repo/hello-v2.apk").exists());
}

fn apk3() -> Option<PathBuf> {
    let Some(corpus) = std::env::var_os("APK_CORPUS") else {
        eprintln!("note: APK_CORPUS is not set: skipping the mkpkg/mkndx v3 corpus test");
        return None;
    };
    let dir = PathBuf::from(corpus).join("apk3-made");
    assert!(
        dir.join("inputs.tar").is_file(),
        "APK_CORPUS is set but {} is not readable",
        dir.display()
    );
    Some(dir)
}

#[test]
fn rebuilds_the_apk_tools_3_sample() {
    let Some(apk3) = apk3() else { return };
    let dir = Dir::new();
    let mut archive =
        tar::Archive::new(std::fs::File::open(apk3.join("inputs.tar")).expect("inputs.tar"));
    archive.set_preserve_permissions(true);
    archive.unpack(dir.path()).expect("unpack inputs.tar");
    std::fs::create_dir_all(dir.join("out")).expect("mkdir");
    let key = apk3.join("keys/test@example-1.rsa");
    let key = key.to_str().expect("utf-8 path");
    let builds: [&[&str]; 4] = [
        &[
            "-I",
            "name:hello3",
            "-I",
            "version:1.0-r0",
            "-I",
            "description:hello in v3 format",
            "-I",
            "arch:x86_64",
            "-I",
            "license:MIT",
            "-I",
            "origin:hello3",
            "-I",
            "depends:so:libgreet.so.2",
            "-F",
            "t/hello",
            "-s",
            "post-install:post-install.sh",
            "-o",
            "out/hello3-1.0-r0.apk",
        ],
        &[
            "-I",
            "name:libgreet",
            "-I",
            "version:2.1-r0",
            "-I",
            "description:greeting library",
            "-I",
            "arch:x86_64",
            "-I",
            "license:MIT",
            "-I",
            "provides:so:libgreet.so.2=2",
            "-F",
            "t/lib",
            "-o",
            "out/libgreet-2.1-r0.apk",
        ],
        &[
            "-I",
            "name:trig",
            "-I",
            "version:1-r0",
            "-I",
            "arch:x86_64",
            "-F",
            "t/trig",
            "-s",
            "trigger:trigger.sh",
            "-t",
            "/usr/share/foo/*",
            "-o",
            "out/trig-1-r0.apk",
        ],
        &[
            "-I",
            "name:fooplug",
            "-I",
            "version:1-r0",
            "-I",
            "arch:x86_64",
            "-F",
            "t/plug",
            "-o",
            "out/fooplug-1-r0.apk",
        ],
    ];
    for args in builds {
        let mut full = vec!["mkpkg", "--format", "v3", "--sign-key", key];
        full.extend_from_slice(args);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_apk-rs"))
            .args(&full)
            .current_dir(dir.path())
            .env("SOURCE_DATE_EPOCH", "1795801122")
            .output()
            .expect("run apk-rs");
        assert!(output.status.success(), "{output:?}");
    }
    let inner = |path: &Path| {
        let bytes = std::fs::read(path).expect("read");
        adb::decompress(&bytes, &ReadOptions::default())
            .expect("inflate")
            .into_owned()
    };
    let files = [
        "fooplug-1-r0.apk",
        "hello3-1.0-r0.apk",
        "libgreet-2.1-r0.apk",
        "trig-1-r0.apk",
    ];
    for file in files {
        let ours = dir.join("out").join(file);
        let theirs = apk3.join("x86_64").join(file);
        assert!(
            inner(&ours) == inner(&theirs),
            "{file}: inner stream differs"
        );
    }
    // Indexing apk-tools' own packages gives apk-tools' index, byte for byte.
    let mut args = vec![
        "mkndx".to_owned(),
        "-o".to_owned(),
        dir.join("Packages.adb").to_str().expect("utf-8").to_owned(),
        "-d".to_owned(),
        "apk-rs v3 test repository".to_owned(),
        "--sign-key".to_owned(),
        key.to_owned(),
    ];
    for file in files {
        let path = apk3.join("x86_64").join(file);
        args.push(path.to_str().expect("utf-8").to_owned());
    }
    dir.apk(&args).assert(0, "");
    assert!(
        std::fs::read(dir.join("Packages.adb")).expect("index")
            == std::fs::read(apk3.join("x86_64/Packages.adb")).expect("index"),
        "Packages.adb differs"
    );
}

/// `adbsign`: an unsigned v3 package gets a signature (and `verify` then trusts it) while its
/// identity and contents stay; signing again with the same key replaces that signature;
/// `--compression` re-compresses; `--reset-signatures` with no key leaves it unsigned; a file
/// that is not ADB is reported and left as it was.
#[test]
fn adbsign_signs_resigns_and_recompresses_in_place() {
    let dir = fixture();
    mkpkg(&dir, "hello", &[]);
    let path = dir.join("repo/hello-1.0-r0.apk");
    // An unsigned copy: the same package with its SIG blocks dropped (adbsign can do that).
    dir.apk(["adbsign", "--reset-signatures", "repo/hello-1.0-r0.apk"])
        .assert(0, "");
    let unsigned = std::fs::read(&path).expect("package");
    let identity = |bytes: &[u8]| {
        let stream = adb::decompress(bytes, &ReadOptions::default()).expect("inflate");
        let file = AdbFile::parse(&stream).expect("parse");
        (
            adb::package_identity(&file.adb()),
            file.signatures().len(),
            file.data_blocks()
                .iter()
                .map(|b| b.contents.to_vec())
                .collect::<Vec<_>>(),
        )
    };
    let (id, sigs, data) = identity(&unsigned);
    assert_eq!(sigs, 0);
    let out = dir.apk(["verify", "--keys-dir", "pub", "repo/hello-1.0-r0.apk"]);
    assert_ne!(out.code, 0, "{out:?}");

    let key = format!("keys/{KEY_FILE}");
    dir.apk(["adbsign", "--sign-key", &key, "repo/hello-1.0-r0.apk"])
        .assert(0, "");
    let signed = std::fs::read(&path).expect("package");
    assert!(signed.starts_with(b"ADBd"), "the compression is kept");
    assert_eq!(identity(&signed), (id, 1, data.clone()));
    dir.apk(["verify", "--keys-dir", "pub", "repo/hello-1.0-r0.apk"])
        .assert(0, "repo/hello-1.0-r0.apk: OK\n");

    dir.apk([
        "adbsign",
        "-v",
        "--sign-key",
        &key,
        "--compression",
        "zstd",
        "repo/hello-1.0-r0.apk",
    ])
    .assert(0, "repo/hello-1.0-r0.apk: 1 signatures\n");
    let zstd = std::fs::read(&path).expect("package");
    assert!(zstd.starts_with(b"ADBc\x02"));
    assert_eq!(identity(&zstd), (id, 1, data));
    dir.apk(["verify", "--keys-dir", "pub", "repo/hello-1.0-r0.apk"])
        .assert(0, "repo/hello-1.0-r0.apk: OK\n");
    extracts_hello(&dir);

    let out = dir.apk(["adbsign", "--sign-key", &key, "post-install.sh"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("ERROR: post-install.sh: "),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(dir.join("post-install.sh")).expect("script"),
        b"#!/bin/sh\necho installed\n"
    );
    assert!(!dir.join("post-install.sh.tmp").exists());
}

/// `convndx`: a signed v2 index becomes a signed v3 index with the same packages, versions,
/// identities, sizes and description; an index signed by an unknown key is refused unless
/// `--allow-untrusted`.
#[test]
fn convndx_converts_a_v2_index() {
    let dir = fixture();
    let key = key();
    let mut names = Vec::new();
    for (name, deps) in [("zeta", vec!["alpha>=1"]), ("alpha", vec![])] {
        let mut info = apk_index::PackageInfo::new(name, "1.0-r0");
        info.arch = Some("x86_64".to_owned());
        info.depends = deps
            .iter()
            .map(|d| apk_index::Dependency::parse(d, apk_index::Rules::default()).expect("dep"))
            .collect();
        let mut b = apk_pkg::PackageBuilder::new(info);
        b.add_file(
            &format!("usr/share/{name}"),
            0o644,
            name.as_bytes().to_vec(),
        )
        .expect("file");
        b.sign_with(key, apk_index::keys::SignatureAlgorithm::RsaSha1);
        let mut bytes = Vec::new();
        b.write(&mut bytes).expect("package");
        dir.create(format!("v2/{name}-1.0-r0.apk"), bytes);
        names.push(format!("v2/{name}-1.0-r0.apk"));
    }
    let mut args = vec![
        "index".to_owned(),
        "-o".to_owned(),
        "v2/APKINDEX.tar.gz".to_owned(),
        "-d".to_owned(),
        "v2 repository".to_owned(),
        "--sign-key".to_owned(),
        format!("keys/{KEY_FILE}"),
    ];
    args.extend(names);
    dir.apk(args).assert(0, "");

    let out = dir.apk([
        "convndx",
        "--keys-dir",
        "pub",
        "-o",
        "v3/Packages.adb",
        "v2/APKINDEX.tar.gz",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("ERROR: failed to write v3/Packages.adb"),
        "{out:?}"
    );
    dir.create("v3/README", "the v3 index\n");
    dir.apk([
        "convndx",
        "-v",
        "--keys-dir",
        "pub",
        "-o",
        "v3/Packages.adb",
        "--sign-key",
        &format!("keys/{KEY_FILE}"),
        "v2/APKINDEX.tar.gz",
    ])
    .assert(0, "Index has 2 packages\n");
    let v2 = Index::open(
        dir.join("v2/APKINDEX.tar.gz"),
        Some(&keys()),
        &IndexOptions::default(),
    )
    .expect("v2 index");
    let bytes = std::fs::read(dir.join("v3/Packages.adb")).expect("v3 index");
    let v3 = Index::from_adb_bytes(&bytes, Some(&keys()), &IndexOptions::default())
        .expect("a signed v3 index");
    assert_eq!(v3.description(), Some("v2 repository"));
    let summary = |index: &Index| {
        let mut all: Vec<String> = index
            .packages()
            .map(|p| {
                format!(
                    "{} {} {:?} {} {}",
                    p.name(),
                    p.version(),
                    p.identity(),
                    p.size(),
                    p.depends()
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(summary(&v3), summary(&v2));
    assert_eq!(v3.package(0).name(), "alpha");

    // Signed by a key nobody trusts: refused, unless --allow-untrusted.
    let out = dir.apk([
        "convndx",
        "--keys-dir",
        "keys-none",
        "-o",
        "v3/other.adb",
        "v2/APKINDEX.tar.gz",
    ]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!dir.join("v3/other.adb").exists());
    dir.apk([
        "convndx",
        "--allow-untrusted",
        "-o",
        "v3/other.adb",
        "v2/APKINDEX.tar.gz",
    ])
    .assert(0, "");
}

/// `mkndx -x OLD`: a file named and sized as a package of the earlier index is not read again
/// (a same-sized file of zeros keeps its entry); a file whose size changed is read anew.
#[test]
fn mkndx_reuses_entries_of_an_earlier_index() {
    let dir = fixture();
    mkpkg(&dir, "hello", &[]);
    mkpkg(&dir, "hello-plain", &["--compression", "none"]);
    dir.apk([
        "mkndx",
        "-o",
        "repo/Packages.adb",
        "repo/hello-1.0-r0.apk",
        "repo/hello-plain-1.0-r0.apk",
    ])
    .assert(0, "");
    let load = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("index");
        Index::from_adb_bytes(&bytes, None, &IndexOptions::default()).expect("index")
    };
    let old = load("repo/Packages.adb");
    let len = std::fs::metadata(dir.join("repo/hello-1.0-r0.apk"))
        .expect("package")
        .len();
    dir.create("repo/hello-1.0-r0.apk", vec![0u8; len as usize]);
    // hello-plain rebuilt compressed: another size (the same identity: the compression is not
    // part of it).
    mkpkg(&dir, "hello-plain", &[]);
    dir.apk([
        "mkndx",
        "-x",
        "repo/Packages.adb",
        "-o",
        "repo/Packages.new.adb",
        "repo/hello-1.0-r0.apk",
        "repo/hello-plain-1.0-r0.apk",
    ])
    .assert(0, "");
    let new = load("repo/Packages.new.adb");
    assert_eq!(new.len(), 2);
    assert_eq!(new.adb_hashes(0), old.adb_hashes(0), "hello kept");
    assert_eq!(new.package(0).size(), len);
    let plain = std::fs::metadata(dir.join("repo/hello-plain-1.0-r0.apk"))
        .expect("package")
        .len();
    assert_ne!(plain, old.package(1).size());
    assert_eq!(new.package(1).size(), plain, "hello-plain read anew");
    // Without -x the file of zeros is not a package.
    let out = dir.apk(["mkndx", "-o", "x.adb", "repo/hello-1.0-r0.apk"]);
    assert_ne!(out.code, 0, "{out:?}");
}
