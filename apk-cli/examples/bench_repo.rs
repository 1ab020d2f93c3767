//! Builds the repository the install benchmark uses (`scripts/bench-install.sh`):
//!
//! ```text
//! cargo run --release -p apk-cli --example bench_repo -- DIR [PACKAGES] [FILES_PER_PACKAGE] [FILE_BYTES]
//! ```
//!
//! Defaults: 200 packages of 50 files of 8 KiB on average (10,000 files, about 80 MiB), with
//! contents that compress like ordinary binaries and text (about 2:1), signed with a fresh
//! key. Writes `DIR/repo/x86_64/{*.apk,APKINDEX.tar.gz}`, `DIR/keys/`, `DIR/tree/` (the same
//! files unpacked, for comparing with `tar`), `DIR/all.tar.gz` (all data in one archive), and
//! `DIR/world` (the package names, one line).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use apk_index::{PackageInfo, SignatureAlgorithm, SigningKey};
use apk_pkg::{IndexBuilder, PackageBuilder};
use rand::{Rng, SeedableRng};

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

/// Contents that compress about 2:1: words from a small vocabulary mixed with random bytes.
fn contents(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    const WORDS: [&[u8]; 8] = [
        b"apk ",
        b"package ",
        b"\x00\x00\x00\x00",
        b"library ",
        b"\x7fELF",
        b"root ",
        b"data\n",
        b"usr/lib/",
    ];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        if rng.gen_bool(0.5) {
            out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())]);
        } else {
            for _ in 0..4 {
                out.push(rng.r#gen());
            }
        }
    }
    out.truncate(len);
    out
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: bench_repo DIR [PACKAGES] [FILES] [BYTES]")?,
    );
    let packages: usize = args.next().map_or(Ok(200), |a| a.parse())?;
    let files: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let bytes: usize = args.next().map_or(Ok(8192), |a| a.parse())?;
    let arch_dir = dir.join("repo/x86_64");
    let keys_dir = dir.join("keys");
    let tree = dir.join("tree");
    std::fs::create_dir_all(&arch_dir)?;
    std::fs::create_dir_all(&keys_dir)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let key = SigningKey::generate("bench@apk-rs.example-1.rsa.pub", 2048, &mut rng)?;
    std::fs::write(keys_dir.join(key.key_name()), key.public_key().to_pem())?;
    let mut index = IndexBuilder::new();
    let mut names = Vec::new();
    for p in 0..packages {
        let name = format!("bench{p:03}");
        let mut info = PackageInfo::new(&name, "1.0-r0");
        info.arch = Some("x86_64".into());
        info.description = "install benchmark package".into();
        info.license = "MIT".into();
        let mut b = PackageBuilder::new(info);
        let base = format!("usr/share/{name}");
        b.add_dir("usr", 0o755)?
            .add_dir("usr/share", 0o755)?
            .add_dir(&base, 0o755)?;
        for f in 0..files {
            let len = rng.gen_range(bytes / 2..=bytes + bytes / 2);
            let data = contents(&mut rng, len);
            let path = format!("{base}/file{f:03}");
            let on_disk = tree.join(&path);
            if let Some(parent) = on_disk.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&on_disk, &data)?;
            b.add_file(&path, 0o644, data)?;
        }
        b.sign_with(&key, SignatureAlgorithm::RsaSha256);
        let path = arch_dir.join(format!("{name}-1.0-r0.apk"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        b.write(&mut out)?;
        out.flush()?;
        drop(out);
        index.add_file(&path)?;
        names.push(name);
    }
    let archive = index.write_archive(&[(&key, SignatureAlgorithm::RsaSha256)])?;
    std::fs::write(arch_dir.join("APKINDEX.tar.gz"), archive)?;
    std::fs::write(dir.join("world"), names.join(" ") + "\n")?;
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(dir.join("all.tar.gz"))
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()?;
    if !status.success() {
        return Err("tar failed".into());
    }
    println!(
        "{packages} packages, {} files, in {}",
        packages * files,
        arch_dir.display()
    );
    Ok(())
}
