//! The project's main job, for now: make a signed repository index and load it back.
//!
//! ```text
//! cargo run --release -p apk-index --example demo_repository [-- --out DIR] [--packages N]
//! ```
//!
//! apk-rs cannot install packages yet (that needs apk-pkg and apk-db). Until it can, this
//! demonstrates the index half of the job on data the project makes itself: it generates an
//! RSA key, writes an Alpine-shaped repository index of N packages (default 5000) signed with
//! both `.SIGN.RSA.` and `.SIGN.RSA256.` into `DIR/x86_64/APKINDEX.tar.gz` with the public key
//! in `DIR/keys/`, then loads and verifies it as a client would, checks that writing it back
//! gives the same bytes, and shows that a changed byte is refused.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use apk_index::archive::write_index_archive;
use apk_index::{Index, IndexArchive, IndexOptions, KeySet, SignatureAlgorithm, SigningKey};
use rand::SeedableRng;

#[path = "../benches/support/synth.rs"]
#[allow(dead_code)]
mod synth;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::env::temp_dir().join(format!("apk-rs-demo-{}", std::process::id()));
    let mut count = 5000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "--packages" => count = args.next().ok_or("--packages needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let repo = out.join("x86_64");
    let keys_dir = out.join("keys");
    std::fs::create_dir_all(&repo)?;
    std::fs::create_dir_all(&keys_dir)?;

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_nanos() as u64;
    let t = Instant::now();
    let key = SigningKey::generate(
        "demo@apk-rs.example-0001.rsa.pub",
        2048,
        &mut rand::rngs::StdRng::seed_from_u64(seed),
    )?;
    std::fs::write(keys_dir.join(key.key_name()), key.public_key().to_pem())?;
    println!(
        "generated a 2048-bit RSA key in {:?}: {}",
        t.elapsed(),
        keys_dir.join(key.key_name()).display()
    );

    let packages = synth::packages(count, "x86_64", seed);
    let text = synth::apkindex_text(&packages);
    let archive = write_index_archive(
        &text,
        Some(b"apk-rs demo repository"),
        &[
            (&key, SignatureAlgorithm::RsaSha1),
            (&key, SignatureAlgorithm::RsaSha256),
        ],
    )?;
    let index_path = repo.join("APKINDEX.tar.gz");
    std::fs::write(&index_path, &archive)?;
    println!(
        "wrote {} ({} packages, {} bytes of APKINDEX, {} bytes signed archive)",
        index_path.display(),
        packages.len(),
        text.len(),
        archive.len()
    );

    let keys = KeySet::from_dir(&keys_dir)?;
    let t = Instant::now();
    let index = Index::open(&index_path, Some(&keys), &IndexOptions::default())?;
    let elapsed = t.elapsed();
    println!(
        "loaded and verified: {} packages, {} names, description {:?}, signed by {} ({elapsed:?})",
        index.len(),
        index.names().len(),
        index.description().unwrap_or(""),
        index.signed_by().unwrap_or("?"),
    );
    if index.len() != packages.len() {
        return Err("package count differs".into());
    }
    let mut written = Vec::new();
    index.write_text(&mut written)?;
    if written != text {
        return Err("writing the index back changed it".into());
    }
    println!(
        "writing the loaded index back gives the same {} bytes",
        written.len()
    );

    let mut tampered = archive.clone();
    let signed = IndexArchive::from_bytes(&archive)?.signed_range();
    let at = signed.start + (signed.end - signed.start) / 2;
    tampered[at] ^= 0x01;
    match Index::from_archive_bytes(&tampered, Some(&keys), &IndexOptions::default()) {
        Ok(_) => return Err("a tampered index verified".into()),
        Err(e) => println!("with one bit changed at byte {at}: refused ({})", chain(&e)),
    }
    println!("OK: repository in {}", out.display());
    Ok(())
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
