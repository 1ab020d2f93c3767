//! The main job, end to end on data this program makes itself:
//!
//! ```text
//! cargo run --release -p apk-cli --example install_demo [-- --out DIR]
//! ```
//!
//! 1. generates an RSA key and builds five signed packages with [`PackageBuilder`] (a library
//!    providing `so:libgreet.so.1`, a program needing it with a config file and a symlink, a
//!    doc package, a package pulled in by `install_if`, and an unrelated package that must not
//!    be installed);
//! 2. writes a signed `x86_64/APKINDEX.tar.gz` for them with [`IndexBuilder`];
//! 3. makes a new root that trusts the key and names the repository;
//! 4. runs `apk add hello docs` on it with apk-db: `--initdb`, lock, index verified with the
//!    root's keys, apk's solver, each package checked against the signed index's `C:`,
//!    extracted to temporary names and renamed into place, `lib/apk/db/installed`, world,
//!    scripts and triggers written atomically — printing apk's transcript;
//! 5. runs `apk del docs` (which takes the `install_if` package away too);
//! 6. checks that the database lists exactly the files on disk, with matching checksums.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apk_db::{CommitOptions, Database, Event, OpenOptions, Transaction};
use apk_index::{Checksum, PackageInfo, SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder};
use apk_solver::command::{Invocation, run as run_command};
use rand::SeedableRng;
use sha1::{Digest, Sha1};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn package(name: &str, version: &str, deps: &[&str]) -> Result<PackageInfo> {
    let mut info = PackageInfo::new(name, version);
    info.arch = Some("x86_64".into());
    info.description = format!("{name} (apk-rs demo)");
    info.license = "MIT".into();
    info.origin = Some(name.into());
    for d in deps {
        info.depends.push(d.parse()?);
    }
    Ok(info)
}

fn build_repository(repo: &Path, key: &SigningKey) -> Result<()> {
    let arch_dir = repo.join("x86_64");
    std::fs::create_dir_all(&arch_dir)?;
    let mut builders = Vec::new();

    let mut info = package("libgreet", "2.1-r0", &[])?;
    info.provides.push("so:libgreet.so.1=1".parse()?);
    let mut b = PackageBuilder::new(info);
    b.add_dir("usr", 0o755)?
        .add_dir("usr/lib", 0o755)?
        .add_file(
            "usr/lib/libgreet.so.1",
            0o755,
            b"\x7fELF not really\n".to_vec(),
        )?;
    builders.push(b);

    let info = package("hello", "1.0-r0", &["so:libgreet.so.1"])?;
    let mut b = PackageBuilder::new(info);
    b.add_dir("etc", 0o755)?
        .add_file("etc/hello.conf", 0o644, b"greeting=hello\n".to_vec())?
        .add_dir("usr", 0o755)?
        .add_dir("usr/bin", 0o755)?
        .add_file(
            "usr/bin/hello",
            0o755,
            b"#!/bin/sh\necho \"$(cat /etc/hello.conf)\"\n".to_vec(),
        )?
        .add_symlink("usr/bin/hi", "hello")?;
    builders.push(b);

    let info = package("docs", "1-r0", &[])?;
    let mut b = PackageBuilder::new(info);
    b.add_dir("usr", 0o755)?
        .add_dir("usr/share", 0o755)?
        .add_dir("usr/share/doc", 0o755)?
        .add_file(
            "usr/share/doc/README",
            0o644,
            b"documentation lives here\n".to_vec(),
        )?;
    builders.push(b);

    let mut info = package("hello-doc", "1.0-r0", &[])?;
    info.install_if = vec!["hello=1.0-r0".parse()?, "docs".parse()?];
    let mut b = PackageBuilder::new(info);
    b.add_dir("usr", 0o755)?
        .add_dir("usr/share", 0o755)?
        .add_dir("usr/share/doc", 0o755)?
        .add_dir("usr/share/doc/hello", 0o755)?
        .add_file(
            "usr/share/doc/hello/index.txt",
            0o644,
            b"hello: says hello\n".to_vec(),
        )?;
    builders.push(b);

    let info = package("unrelated", "9-r0", &["no-such-thing"])?;
    let mut b = PackageBuilder::new(info);
    b.add_dir("opt", 0o755)?.add_file(
        "opt/unrelated",
        0o644,
        b"must not be installed\n".to_vec(),
    )?;
    builders.push(b);

    let mut index = IndexBuilder::new();
    index.description(Some("apk-rs demo repository".into()));
    for b in &mut builders {
        b.sign_with(key, SignatureAlgorithm::RsaSha1);
        let info = b.info();
        let path = arch_dir.join(format!("{}-{}.apk", info.name, info.version));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let built = b.write(&mut file)?;
        drop(file);
        println!(
            "built {} ({} bytes, identity {})",
            path.display(),
            built.size,
            built.identity
        );
        index.add_file(&path)?;
    }
    let archive = index.write_archive(&[(key, SignatureAlgorithm::RsaSha1)])?;
    std::fs::write(arch_dir.join("APKINDEX.tar.gz"), archive)?;
    Ok(())
}

fn run() -> Result<()> {
    let mut out = std::env::temp_dir().join(format!("apk-rs-install-demo-{}", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let repo = out.join("repo");
    let keys_dir = out.join("keys");
    let root = out.join("root");
    std::fs::create_dir_all(&keys_dir)?;
    std::fs::create_dir_all(&root)?;

    // 1-2. Key, packages, signed index.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let key = SigningKey::generate(
        "demo@apk-rs.example-0001.rsa.pub",
        2048,
        &mut rand::rngs::StdRng::seed_from_u64(seed),
    )?;
    std::fs::write(keys_dir.join(key.key_name()), key.public_key().to_pem())?;
    build_repository(&repo, &key)?;

    // 3. A new root that trusts the key and names the repository, as `apk --initdb` makes it.
    std::fs::create_dir_all(root.join("etc/apk/keys"))?;
    std::fs::write(
        root.join("etc/apk/keys").join(key.key_name()),
        key.public_key().to_pem(),
    )?;
    std::fs::write(
        root.join("etc/apk/repositories"),
        format!("{}\n", repo.display()),
    )?;

    // 4-5. `apk add hello docs`, then `apk del docs`: solve, fetch, verify against the
    // signed index, extract, write the database.
    for args in [&["add", "hello", "docs"][..], &["del", "docs"][..]] {
        println!("$ apk-rs --root {} {}", root.display(), args.join(" "));
        let opts = OpenOptions::new(&root).initdb(true).arch("x86_64");
        let mut db = Database::open(&opts)?;
        db.load_indexes(false);
        for l in db.loaded_repositories() {
            if let Some(e) = &l.error {
                return Err(format!("{}: {e}", l.index_url).into());
            }
        }
        let inv = Invocation::parse(args)?;
        let world = db.world().to_vec();
        let outcome = run_command(&inv, db.solver_repositories(), db.installed(), world);
        let changeset = outcome
            .changeset
            .ok_or_else(|| format!("solve failed:\n{}", outcome.transcript))?;
        print!("{}", outcome.preamble);
        let summary = Transaction::new(&mut db, changeset, outcome.world).commit(
            &CommitOptions::default(),
            &mut |e| match e {
                Event::Change {
                    position,
                    total,
                    change,
                } => {
                    let w = total.to_string().len();
                    println!("({position:>w$}/{total}) {change}");
                }
                Event::Error(m) => println!("ERROR: {m}"),
                Event::Warning(m) => println!("WARNING: {m}"),
                _ => {}
            },
        )?;
        println!("{summary}");
        if summary.errors > 0 {
            return Err("the commit reported errors".into());
        }
    }

    // 6. Check: the database lists exactly what is on disk, with matching checksums.
    let db = Database::open(&OpenOptions::new(&root).lock(None))?;
    let names: Vec<&str> = db
        .installed()
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if names != ["hello", "libgreet"] {
        return Err(format!("unexpected installed set {names:?}").into());
    }
    let mut checked = 0;
    for p in &db.installed().packages {
        for d in &p.dirs {
            for f in &d.files {
                let path = root.join(&d.path).join(&f.name);
                let meta = std::fs::symlink_metadata(&path)?;
                let data = if meta.file_type().is_symlink() {
                    std::fs::read_link(&path)?
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    std::fs::read(&path)?
                };
                let sum = Checksum::sha1(Sha1::digest(&data).into());
                if f.checksum.as_ref() != Some(&sum) {
                    return Err(
                        format!("{}: checksum differs from the database", path.display()).into(),
                    );
                }
                checked += 1;
            }
        }
    }
    if root.join("usr/share/doc/README").exists() || root.join("opt/unrelated").exists() {
        return Err("a removed or unrelated package left files".into());
    }
    let mut files = Vec::new();
    list(&root, &root, &mut files)?;
    println!("files now in {}:", root.display());
    for f in files {
        println!("  {f}");
    }
    println!(
        "OK: {} packages installed in {}, {checked} files match lib/apk/db/installed",
        names.len(),
        root.display()
    );
    Ok(())
}

fn list(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::result::Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let rel = path.strip_prefix(root)?.display().to_string();
        if meta.is_dir() {
            list(root, &path, out)?;
        } else if meta.file_type().is_symlink() {
            out.push(format!("{rel} -> {}", std::fs::read_link(&path)?.display()));
        } else {
            out.push(rel);
        }
    }
    Ok(())
}
