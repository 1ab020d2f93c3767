//! `apk-rs extract`: unpack packages safely into a directory, as apk-tools 3's `extract`.
//!
//! Each package is read as a stream and written with [`apk_pkg::Extractor`]: no path can
//! escape the destination, nothing is written through a symlink, hard links only point to
//! earlier files of the same package, device nodes and fifos need `--allow-devices`, and size,
//! entry-count and compression-ratio limits stop gzip and tar bombs. Files land under
//! temporary names and are renamed into place only once the whole package checked out
//! (checksums, `datahash`, signature), so a failed package leaves no partial files.
//!
//! Unless `--allow-untrusted` is given, each package must be signed by a trusted key (from
//! `--keys-dir`, or `ROOT/etc/apk/keys`). Owners are restored when running as root. Packages
//! are extracted in argument order; the first failure stops the command (exit 1).
//! With `-v`, one line per package: `PKG: N files, M directories, K symlinks`.
//!
//! v3 packages (files starting with `ADB`) stream through
//! [`apk_pkg::Extractor::extract_adb_from`]: the signature (by key id) is checked before
//! anything is written, each data block against its SHA-256 as its file is written, and
//! nothing is renamed into place before the whole package has been checked.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apk_pkg::{Extractor, PackageReader};

use crate::Global;
use crate::verify::load_keys;

/// Options of `apk-rs extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Extract into DIR (created if missing) instead of the current directory.
    #[arg(long = "destination", value_name = "DIR")]
    destination: Option<PathBuf>,

    /// Create device nodes and fifos found in packages.
    #[arg(long = "allow-devices")]
    allow_devices: bool,

    /// The packages to extract.
    #[arg(value_name = "PKG", required = true)]
    packages: Vec<PathBuf>,
}

/// Whether `path` is an apk v3 (ADB) package: it starts with `ADB` (`ADB.`, `ADBd`, `ADBc`).
/// Anything else, unreadable files included, goes to the v2 reader, which reports the error.
fn is_v3(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && matches!(head, [b'A', b'D', b'B', b'.' | b'd' | b'c'])
}

/// Runs `extract`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let keys = if global.allow_untrusted {
        None
    } else {
        Some(load_keys(global)?)
    };
    let dest = args.destination.unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dest)
        .with_context(|| format!("failed to create the destination {}", dest.display()))?;
    let mut extractor = Extractor::new();
    extractor
        .allow_devices(args.allow_devices)
        .trusted_keys(keys);
    for pkg in &args.packages {
        let (files, directories, symlinks) = if is_v3(pkg) {
            let summary = std::fs::File::open(pkg)
                .map_err(anyhow::Error::from)
                .and_then(|file| {
                    let file = std::io::BufReader::with_capacity(128 << 10, file);
                    extractor
                        .extract_adb_from(file, &dest)
                        .map_err(anyhow::Error::from)
                })
                .with_context(|| format!("failed to extract {}", pkg.display()))?;
            (
                summary.files + summary.hardlinks,
                summary.directories,
                summary.symlinks,
            )
        } else {
            let summary = PackageReader::open(pkg)
                .map_err(anyhow::Error::from)
                .and_then(|mut reader| {
                    extractor
                        .extract(&mut reader, &dest)
                        .map_err(anyhow::Error::from)
                })
                .with_context(|| format!("failed to extract {}", pkg.display()))?;
            (
                summary.files + summary.hardlinks,
                summary.directories,
                summary.symlinks,
            )
        };
        if global.verbosity > 0 {
            writeln!(
                out,
                "{}: {files} files, {directories} directories, {symlinks} symlinks",
                pkg.display(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
