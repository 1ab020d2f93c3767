//! `apk-rs mkndx`: build a (signed) v3 repository index, `Packages.adb`, from package files,
//! as apk-tools 3's `mkndx` does.
//!
//! ```text
//! apk-rs mkndx -o x86_64/Packages.adb -d "my repository" --sign-key ~/.abuild/me.rsa x86_64/*.apk
//! ```
//!
//! * v3 packages (`ADB…`) are read only as far as their ADB block; each entry is their
//!   package info with `file-size` (the file's size) and `hashes`, the SHA-256 of the ADB
//!   block payload (with `--hash sha256-160` its first 20 bytes), which lets apk install a
//!   package from the index without a package signature. v2 packages are read whole and
//!   checked, and recorded with their SHA-1 identity.
//! * `-d DESC`: the description; `--pkgname-spec SPEC`: the download path template (e.g.
//!   `${arch}/${name}-${version}.apk`).
//! * `-x OLD`: an earlier index; a file named and sized as one of its packages is not read,
//!   its entry is copied.
//! * `--sign-key KEY` (repeatable): sign with the PEM private key file KEY (RSA PKCS#1 v1.5,
//!   or ECDSA for a P-256 key, over SHA-512), one SIG block per key. v3 keys are matched by
//!   key id, so the file name does not matter.
//! * `--compression ALG[:LEVEL]`: `deflate` (default), `deflate:N`, `zstd[:N]` or `none`.
//!
//! Entries are sorted by name and version, and laid out as apk-tools 3 lays them out. `OUT`
//! is written under a temporary name and renamed into place. With `-v`:
//! `Index has N packages`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use apk_index::adb::{Compression, IndexHash};
use apk_pkg::AdbIndexBuilder;

use crate::Global;

/// Options of `apk-rs mkndx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: IndexOutput,

    /// What identifies v3 packages: sha256 (default) or sha256-160.
    #[arg(long = "hash", value_name = "HASH", default_value = "sha256")]
    hash: String,

    /// Reuse the entries of the earlier index OLD for unchanged files (same name and size).
    #[arg(short = 'x', long = "index", value_name = "OLD")]
    previous: Option<PathBuf>,

    /// The download path template, e.g. '${arch}/${name}-${version}.apk'.
    #[arg(long = "pkgname-spec", value_name = "SPEC")]
    pkgname_spec: Option<String>,

    /// The package files.
    #[arg(value_name = "PKG", required = true)]
    packages: Vec<PathBuf>,
}

/// What `mkndx` and `convndx` write, and how.
#[derive(Debug, clap::Args)]
pub(crate) struct IndexOutput {
    /// Write the index to OUT.
    #[arg(short = 'o', long = "output", value_name = "OUT", required = true)]
    output: PathBuf,

    /// The repository description.
    #[arg(short = 'd', long = "description", value_name = "DESC")]
    pub(crate) description: Option<String>,

    /// Sign with the private key file KEY (may be repeated).
    #[arg(long = "sign-key", value_name = "KEY")]
    sign_keys: Vec<PathBuf>,

    /// The compression: deflate (default), deflate:LEVEL, zstd, zstd:LEVEL or none.
    #[arg(
        long = "compression",
        value_name = "ALG[:LEVEL]",
        default_value = "deflate"
    )]
    compression: String,
}

impl IndexOutput {
    /// An empty index that signs with the `--sign-key` keys (checked before any work).
    pub(crate) fn builder(&self) -> anyhow::Result<AdbIndexBuilder> {
        self.compression.parse::<Compression>()?;
        let mut builder = AdbIndexBuilder::new();
        for key in crate::index::load_signing_keys(&self.sign_keys)? {
            builder.sign_with(&key);
        }
        Ok(builder)
    }

    /// Writes the index to `--output` (under a temporary name, then renamed); with `-v`,
    /// `Index has N packages`.
    pub(crate) fn write(
        &self,
        builder: &AdbIndexBuilder,
        global: &Global,
        out: &mut impl Write,
    ) -> anyhow::Result<ExitCode> {
        let bytes = builder
            .write_file(self.compression.parse()?)
            .context("failed to write the index")?;
        crate::index::replace_file(&self.output, |file| Ok(file.write_all(&bytes)?))?;
        if global.verbosity > 0 {
            writeln!(out, "Index has {} packages", builder.len())?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Runs `mkndx`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let hash: IndexHash = args.hash.parse().map_err(|e: String| anyhow!(e))?;
    let mut builder = args.output.builder()?;
    builder
        .description(args.output.description.clone())
        .pkgname_spec(args.pkgname_spec)
        .hash(hash);
    if let Some(old) = &args.previous {
        let bytes = std::fs::read(old)
            .with_context(|| format!("failed to read the old index {}", old.display()))?;
        builder
            .previous_index(&bytes)
            .with_context(|| format!("failed to read the old index {}", old.display()))?;
    }
    for pkg in &args.packages {
        builder.add_file(pkg)?;
    }
    args.output.write(&builder, global, out)
}
