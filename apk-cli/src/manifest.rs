//! `apk-rs manifest`: the checksum of every file of installed packages.
//!
//! ```text
//! sha1:6e0e0c30c1f6d83a8fce53950541a9bbaeef78f7  etc/hello.conf
//! ```
//!
//! One line per file (`R:` of the installed database) of the named installed packages, or of
//! all of them in database order: the hash algorithm, `:`, the `Z:` checksum in hex, two
//! spaces and the path. The algorithm is `sha1`, `sha256-160` for packages flagged `f:S`
//! (their 20-byte checksums are cut SHA-256), `sha256` for 32-byte checksums and `md5` for
//! legacy ones. Files without a checksum are left out. Names that are not installed are
//! skipped.

use std::io::Write;
use std::process::ExitCode;

use apk_index::{Checksum, ChecksumKind, PackageInfo};

use crate::Global;
use crate::query::{self, join_path, line};

/// Options of `apk-rs manifest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Installed package names (default: all).
    #[arg(value_name = "NAME")]
    names: Vec<String>,
}

/// `alg:hex` of a file checksum of package `pkg`.
pub fn hash_text(pkg: &PackageInfo, checksum: &Checksum) -> String {
    let alg = match checksum.kind() {
        ChecksumKind::Md5 => "md5",
        ChecksumKind::Sha256 => "sha256",
        ChecksumKind::Sha1 if truncated_sha256(pkg) => "sha256-160",
        ChecksumKind::Sha1 => "sha1",
    };
    let mut text = String::with_capacity(alg.len() + 1 + 2 * checksum.as_bytes().len());
    text.push_str(alg);
    text.push(':');
    for b in checksum.as_bytes() {
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// Whether the package's 20-byte checksums are SHA-256 cut to 160 bits (`f:S`).
pub fn truncated_sha256(pkg: &PackageInfo) -> bool {
    pkg.flags.as_deref().is_some_and(|f| f.contains('S'))
}

/// Runs `manifest`, writing its transcript to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let db = query::open(global, false)?;
    let packages: Vec<&PackageInfo> = if args.names.is_empty() {
        db.installed().packages.iter().collect()
    } else {
        args.names
            .iter()
            .filter_map(|n| db.installed_package(n))
            .collect()
    };
    for pkg in packages {
        for dir in &pkg.dirs {
            for file in &dir.files {
                if let Some(sum) = &file.checksum {
                    line(
                        out,
                        format!(
                            "{}  {}",
                            hash_text(pkg, sum),
                            join_path(&dir.path, &file.name)
                        ),
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
