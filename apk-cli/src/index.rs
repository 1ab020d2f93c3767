//! `apk-rs index`: build a (signed) repository index from package files, as `apk index`.
//!
//! `apk-rs index -o OUT [-x OLD] [--rewrite-arch ARCH] [-d DESC] [--sign-key KEY]… PKG…` reads
//! each package whole (streaming; identity, datahash and file checksums are checked; with
//! `-x`, a file named and sized as a record of the earlier index `OLD` is not read, its record
//! is reused), writes one
//! record per package sorted by name and version, and stores `APKINDEX` (and `DESCRIPTION`
//! with `-d`) in `OUT`. With `--sign-key`, the private key file `KEY` signs as `KEY`'s file
//! name + `.pub`, as abuild does (`.SIGN.RSA.<name>.pub`); `--sign-alg rsa256` or `rsa512`
//! select SHA-256 or SHA-512 instead of SHA-1. `OUT` is written to a temporary name and
//! renamed, so a failure leaves any earlier index in place. With `-v`: `Index has N packages`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use apk_index::keys::{SignatureAlgorithm, SigningKey};
use apk_pkg::IndexBuilder;

use crate::Global;

/// Options of `apk-rs index`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the index to OUT.
    #[arg(short = 'o', long = "output", value_name = "OUT", required = true)]
    output: PathBuf,

    /// Reuse the records of the earlier index OLD for unchanged files (same name and size).
    #[arg(short = 'x', long = "index", value_name = "OLD")]
    previous: Option<PathBuf>,

    /// Record `noarch` packages with ARCH instead.
    #[arg(long = "rewrite-arch", value_name = "ARCH")]
    rewrite_arch: Option<String>,

    /// The repository description.
    #[arg(short = 'd', long = "description", value_name = "DESC")]
    description: Option<String>,

    /// Sign with the private key file KEY (may be repeated).
    #[arg(long = "sign-key", value_name = "KEY")]
    sign_keys: Vec<PathBuf>,

    /// The signature algorithm: rsa (SHA-1, as abuild), rsa256 or rsa512.
    #[arg(long = "sign-alg", value_name = "ALG", default_value = "rsa")]
    sign_alg: String,

    /// The package files.
    #[arg(value_name = "PKG", required = true)]
    packages: Vec<PathBuf>,
}

fn parse_alg(name: &str) -> anyhow::Result<SignatureAlgorithm> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "rsa" | "rsa1" | "sha1" => SignatureAlgorithm::RsaSha1,
        "rsa256" | "sha256" => SignatureAlgorithm::RsaSha256,
        "rsa512" | "sha512" => SignatureAlgorithm::RsaSha512,
        _ => bail!("unknown signature algorithm '{name}' (expected rsa, rsa256 or rsa512)"),
    })
}

/// Writes `path` through `write` under a temporary name beside it, then renames it into
/// place: a failure leaves any earlier file untouched (and no temporary file).
pub(crate) fn replace_file(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let written = std::fs::File::create(&tmp)
        .map_err(anyhow::Error::from)
        .and_then(|mut file| {
            write(&mut file)?;
            file.sync_all()?;
            Ok(())
        })
        .with_context(|| format!("failed to write {}", path.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("failed to write {}", path.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The private keys of `--sign-key` (for `index`, `mkndx`, `convndx` and `adbsign`).
pub(crate) fn load_signing_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SigningKey>> {
    paths
        .iter()
        .map(|path| {
            SigningKey::from_file(path)
                .with_context(|| format!("failed to load the signing key {}", path.display()))
        })
        .collect()
}

/// Runs `index`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let alg = parse_alg(&args.sign_alg)?;
    let keys = load_signing_keys(&args.sign_keys)?;
    let mut builder = IndexBuilder::new();
    builder
        .rewrite_arch(args.rewrite_arch)
        .description(args.description);
    if let Some(old) = &args.previous {
        // The repository's own earlier index: read, not verified (as apk does).
        let old = apk_index::Index::open(old, None, &apk_index::IndexOptions::default())
            .with_context(|| format!("failed to read the old index {}", old.display()))?;
        builder.previous_index(&old);
    }
    for pkg in &args.packages {
        builder.add_file(pkg)?;
    }
    let signers: Vec<(&SigningKey, SignatureAlgorithm)> = keys.iter().map(|k| (k, alg)).collect();
    let archive = builder
        .write_archive(&signers)
        .context("failed to sign the index")?;
    replace_file(&args.output, |file| Ok(file.write_all(&archive)?))?;
    if global.verbosity > 0 {
        writeln!(out, "Index has {} packages", builder.packages().len())?;
    }
    Ok(ExitCode::SUCCESS)
}
