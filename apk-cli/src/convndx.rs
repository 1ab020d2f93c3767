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
use apk_index::{Index, IndexOptions};

use crate::Global;
use crate::mkndx::IndexOutput;

/// Options of `apk-rs convndx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: IndexOutput,

    /// The v2 indexes (APKINDEX.tar.gz).
    #[arg(value_name = "INDEX", required = true)]
    indexes: Vec<PathBuf>,
}

/// Runs `convndx`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut builder = args.output.builder()?;
    let trusted = if global.allow_untrusted {
        None
    } else {
        Some(crate::verify::load_keys(global)?)
    };
    // The description is `-d`'s, or the first index's.
    let mut description = args.output.description.clone();
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
    args.output.write(&builder, global, out)
}
