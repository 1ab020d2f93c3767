//! The main job as far as it goes today, end to end on data this program makes itself:
//!
//! ```text
//! cargo run --release -p apk-cli --example install_demo [-- --out DIR]
//! ```
//!
//! 1. generates an RSA key and builds five signed packages with [`PackageBuilder`] (a library
//!    providing `so:libgreet.so.1`, a program needing it, a config file, a doc package pulled
//!    in by `install_if`, and an unrelated package that must not be installed);
//! 2. writes a signed `x86_64/APKINDEX.tar.gz` for them with [`IndexBuilder`];
//! 3. loads and verifies that index with the public key, as a client would;
//! 4. solves the world `hello docs` with apk's rules and prints apk's transcript;
//! 5. for every package of the changeset, checks the package file's identity against the
//!    signed index's `C:` (which is how apk trusts packages from a signed index), then extracts
//!    it into `DIR/root` with every file checksum and the datahash verified.
//!
//! What it does not do yet (issue 5, apk-db): write `lib/apk/db/installed`, world, scripts and
//! triggers, or run package scripts. So the root gets the files but no package database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apk_index::{
    Index, IndexOptions, InstalledDb, KeySet, PackageInfo, SignatureAlgorithm, SigningKey,
};
use apk_pkg::{Extractor, IndexBuilder, PackageBuilder, PackageReader};
use apk_solver::{ChangeKind, Repository, Solver, SolverOptions, SolverTask};
use rand::SeedableRng;

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

    // 3. Load and verify the index as a client.
    let keys = KeySet::from_dir(&keys_dir)?;
    let index_path = repo.join("x86_64/APKINDEX.tar.gz");
    let index = Index::open(&index_path, Some(&keys), &IndexOptions::default())?;
    println!(
        "{}: {} packages, signed by {}",
        index_path.display(),
        index.len(),
        index.signed_by().unwrap_or("?")
    );

    // 4. Solve.
    let solver = Solver::new(
        &[Repository::new(index)],
        &InstalledDb::default(),
        &SolverOptions::default(),
    );
    let task = SolverTask {
        world: vec!["hello".parse()?, "docs".parse()?],
        ..SolverTask::default()
    };
    let changeset = solver.solve(&task)?;
    // Identities from the verified index, to check each package file against.
    let trusted = Index::open(&index_path, Some(&keys), &IndexOptions::default())?;

    // 5. Fetch (local), check identity, extract.
    let total = changeset.changes().len();
    let width = total.to_string().len();
    for (i, change) in changeset.changes().iter().enumerate() {
        println!("({:>width$}/{total}) {change}", i + 1);
        if change.kind != ChangeKind::Install {
            return Err(format!("unexpected change in a fresh root: {change}").into());
        }
        let new = change.new.as_ref().ok_or("install without a package")?;
        let expected = trusted
            .packages()
            .find(|p| p.name() == change.name && p.version() == new.version)
            .and_then(|p| p.identity())
            .ok_or("package missing from the index")?;
        let path = repo.join(format!("x86_64/{}-{}.apk", change.name, new.version));
        let mut reader = PackageReader::open(&path)?;
        if reader.identity() != Some(expected) {
            return Err(format!(
                "{}: identity does not match the signed index",
                path.display()
            )
            .into());
        }
        Extractor::new().extract(&mut reader, &root)?;
    }
    println!("{}", changeset.summary());

    let mut files = Vec::new();
    list(&root, &root, &mut files)?;
    println!("files now in {}:", root.display());
    for f in files {
        println!("  {f}");
    }
    if root.join("opt/unrelated").exists() {
        return Err("a package outside the solution was installed".into());
    }
    println!(
        "OK: installed into {} (no package database yet: issue 5)",
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
