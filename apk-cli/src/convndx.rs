//! `apk-rs convndx`: convert v2 repository indexes (`APKINDEX.tar.gz`) into one v3 index
//! (`Packages.adb`), as apk-tools 3's `convndx` does.
//!
//! ```text
//! apk-rs convndx -o x86_64/Packages.adb --sign-key ~/.abuild/me.rsa x86_64/APKINDEX.tar.gz
//! ```
//!
//! Each index's signature is checked against the trusted keys (`--keys-dir`, or
//! `ROOT/etc/apk/keys`) unless `--allow-untrusted` is given. Every record becomes an entry
//! of the v3 index with its metadata, its identity (`C:`, the SHA-1 of the package's control
//! part) as `hashes` and its size (`S:`) as `file-size`; entries are sorted as `mkndx` sorts
//! them. The description is the first index's (`DESCRIPTION`) unless `-d` gives one.
//! `--sign-key`, `--compression` and the atomic write are those of `mkndx`. With `-v`:
//! `Index has N packages`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apk_index::adb::Compression;
use apk_index::{Index, IndexOptions};
use apk_pkg::AdbIndexBuilder;

use crate::Global;

/// Options of `apk-rs convndx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the v3 index to OUT.
    #[arg(short = 'o', long = "output", value_name = "OUT", required = true)]
    output: PathBuf,

    /// The repository description (default: the first index's).
    #[arg(short = 'd', long = "description", value_name = "DESC")]
    description: Option<String>,

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

    /// The v2 indexes (APKINDEX.tar.gz).
    #[arg(value_name = "INDEX", required = true)]
    indexes: Vec<PathBuf>,
}

/// Runs `convndx`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let compression: Compression = args.compression.parse()?;
    let signing = crate::index::load_signing_keys(&args.sign_keys)?;
    let trusted = if global.allow_untrusted {
        None
    } else {
        Some(crate::verify::load_keys(global)?)
    };
    let mut builder = AdbIndexBuilder::new();
    for key in &signing {
        builder.sign_with(key);
    }
    let mut description = args.description;
    for path in &args.indexes {
        let index = Index::open(path, trusted.as_ref(), &IndexOptions::default())
            .with_context(|| format!("failed to read {}", path.display()))?;
        if description.is_none() {
            description = index.description().map(str::to_owned);
        }
        for p in index.packages() {
            builder.add_package(&p.to_owned()).with_context(|| {
                format!(
                    "{}: cannot convert {}-{}",
                    path.display(),
                    p.name(),
                    p.version()
                )
            })?;
        }
    }
    builder.description(description);
    let bytes = builder
        .write_file(compression)
        .context("failed to write the index")?;
    crate::index::replace_file(&args.output, |file| Ok(file.write_all(&bytes)?))?;
    if global.verbosity > 0 {
        writeln!(out, "Index has {} packages", builder.len())?;
    }
    Ok(ExitCode::SUCCESS)
}
