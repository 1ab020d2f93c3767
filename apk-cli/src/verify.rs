//! `apk-rs verify`: check the signatures of signed apk files.
//!
//! For each file one line is printed on stdout, in argument order:
//!
//! * `FILE: OK` when a signature by a trusted key checks out. With `-v`:
//!   `FILE: OK (signed by KEY-NAME)`. With `-q` the OK lines are left out.
//! * `FILE: UNTRUSTED` when the file is unsigned, signed only by keys that are not trusted, or
//!   the deciding signature is wrong. With `-v` the reason follows in parentheses:
//!   `FILE: UNTRUSTED (index is not signed)`.
//! * `FILE: MESSAGE` when the file cannot be read or is not a valid signed file, e.g.
//!   `FILE: invalid index archive: no gzip stream at byte 0`.
//!
//! The exit code is the number of files that were not `OK` (capped at 255).
//!
//! The trusted keys are the public keys in `--keys-dir DIR`, or in `ROOT/etc/apk/keys`
//! (`--root`, default `/`), each known by its file name, as apk-tools matches v2 signatures
//! (v3 signatures name the key by its key id instead). An explicit
//! `--keys-dir` that cannot be read is a fatal error; a missing default directory just means no
//! key is trusted. `--allow-untrusted` does not change what `verify` reports.
//!
//! # File kinds
//!
//! v2 repository indexes (`APKINDEX.tar.gz`) and v2 packages (`.apk`) are gzip files, and v3
//! packages and indexes (`Packages.adb`) are ADB files; [`FileKind`] sorts them. A v3 file is
//! `OK` when a signature block verifies with a trusted key, matched by key id (not by file
//! name), and, for a package, every data block matches its file's SHA-256. A file whose name ends in `.apk` is checked as a
//! package; any other gzip file is tried as a package first (streaming, in constant memory)
//! and, when it turns out not to be one before its data stream, read whole as an index. The
//! checks live in one function per kind, all returning an [`Outcome`].
//!
//! A package is `OK` when its signature verifies with a trusted key *and* its contents are
//! intact: every gzip CRC, every file checksum and `datahash`. Tampered contents are reported
//! as `UNTRUSTED` (with `-v`, the reason), like a bad signature.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use apk_index::adb;
use apk_index::keys::LoadKeysError;
use apk_index::{IndexArchive, KeySet, ReadArchiveError};
use apk_pkg::{PackageReader, ReadPackageError, StreamKind};

use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The files to check: signed repository indexes (APKINDEX.tar.gz) and packages (.apk).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// The result of checking one file.
#[derive(Debug)]
enum Outcome {
    /// A signature by the trusted key `key_name` matches.
    Verified {
        /// The file name of the key that verified the file.
        key_name: String,
    },
    /// The file is well-formed but not proven authentic; the error says why.
    Untrusted(anyhow::Error),
    /// The file could not be read, is malformed, or is of a kind we cannot check.
    Failed(anyhow::Error),
}

/// What a file holds, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// Gzip streams: a v2 index archive, or a v2 `.apk` package, which has the same outer
    /// shape. Reading it as an index tells the two apart (a package has no `APKINDEX` entry).
    Gzip,
    /// A v3 ADB file (`ADB.`, `ADBd` or `ADBc` magic): a package or an index.
    Adb,
    /// Anything else.
    Unknown,
}

impl FileKind {
    fn sniff(data: &[u8]) -> FileKind {
        match data {
            [0x1f, 0x8b, ..] => FileKind::Gzip,
            [b'A', b'D', b'B', b'.' | b'd' | b'c', ..] => FileKind::Adb,
            _ => FileKind::Unknown,
        }
    }
}

/// Runs `verify`, writing one line per file to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let keys = load_keys(global)?;
    let mut failed = 0;
    for file in &args.files {
        let outcome = check_file(file, &keys);
        if !matches!(outcome, Outcome::Verified { .. }) {
            failed += 1;
        }
        report(out, file, &outcome, global.verbosity)
            .context("failed to write the verification result")?;
    }
    Ok(failure_count_exit_code(failed))
}

/// Loads the trusted keys (see the module docs for how a missing directory is treated).
pub(crate) fn load_keys(global: &Global) -> anyhow::Result<KeySet> {
    match KeySet::from_dir(&global.keys_dir) {
        Ok(keys) => Ok(keys),
        Err(LoadKeysError::ReadDir { source, .. })
            if !global.keys_dir_explicit && source.kind() == io::ErrorKind::NotFound =>
        {
            Ok(KeySet::new())
        }
        Err(err) => Err(anyhow::Error::new(err).context("failed to load the trusted keys")),
    }
}

/// Sniffs `path` and checks it.
fn check_file(path: &Path, keys: &KeySet) -> Outcome {
    let mut head = [0u8; 4];
    let head = match std::fs::File::open(path).and_then(|mut f| {
        let n = read_up_to(&mut f, &mut head)?;
        Ok(&head[..n])
    }) {
        Ok(head) => head,
        Err(err) => return Outcome::Failed(anyhow!(err).context("failed to read the file")),
    };
    match FileKind::sniff(head) {
        FileKind::Gzip => {
            let is_apk = path.extension().is_some_and(|e| e == "apk");
            match check_package(path, keys) {
                Err(err) if !is_apk && before_data(&err) => {
                    // Not a package (or broken before its data): maybe an index archive.
                    match std::fs::read(path) {
                        Ok(data) => match IndexArchive::from_bytes(&data) {
                            Err(ReadArchiveError::MissingApkindex) => {
                                Outcome::Failed(anyhow!(err).context("invalid package"))
                            }
                            result => check_index_archive(result, keys),
                        },
                        Err(err) => {
                            Outcome::Failed(anyhow!(err).context("failed to read the file"))
                        }
                    }
                }
                Err(err) => package_failure(err),
                Ok(outcome) => outcome,
            }
        }
        FileKind::Adb => check_adb(path, keys),
        FileKind::Unknown => {
            Outcome::Failed(anyhow!("not a signed apk file (neither gzip nor ADB data)"))
        }
    }
}

/// Checks a v3 ADB file (package or index) with [`adb::verify_reader`], as it streams: a
/// signature by a trusted key (matched by key id), and for a package every data block
/// against its hash.
fn check_adb(path: &Path, keys: &KeySet) -> Outcome {
    let file = match std::fs::File::open(path) {
        Ok(file) => io::BufReader::with_capacity(128 << 10, file),
        Err(err) => return Outcome::Failed(anyhow!(err).context("failed to read the file")),
    };
    match adb::verify_reader(file, keys, &adb::ReadOptions::default()) {
        Ok(verified) => Outcome::Verified {
            key_name: verified.key_name,
        },
        Err(err) if err.is_untrusted() => Outcome::Untrusted(anyhow!(err)),
        Err(err) => Outcome::Failed(anyhow!(err).context("invalid ADB file")),
    }
}

/// Reads up to `buf.len()` bytes.
fn read_up_to(reader: &mut impl io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Whether a package error happened before the data stream, where an index archive would
/// also fail.
fn before_data(err: &ReadPackageError) -> bool {
    match err {
        ReadPackageError::NotAPackage { .. } | ReadPackageError::MissingPkgInfo => true,
        ReadPackageError::Malformed { stream, .. }
        | ReadPackageError::Truncated { stream }
        | ReadPackageError::Corrupt { stream, .. } => *stream != StreamKind::Data,
        _ => false,
    }
}

/// How a package read error is reported: tampering is `UNTRUSTED`, the rest a failure.
fn package_failure(err: ReadPackageError) -> Outcome {
    match err {
        ReadPackageError::ChecksumMismatch { .. }
        | ReadPackageError::DataHashMismatch { .. }
        | ReadPackageError::Corrupt { .. } => Outcome::Untrusted(anyhow!(err)),
        err => Outcome::Failed(anyhow!(err).context("invalid package")),
    }
}

/// Checks a v2 package: reads it whole (streaming), then checks the signature.
fn check_package(path: &Path, keys: &KeySet) -> Result<Outcome, ReadPackageError> {
    let reader = PackageReader::open(path)?;
    let summary = reader.finish()?;
    Ok(match summary.verify(keys) {
        Ok(by) => Outcome::Verified {
            key_name: by.key_name().to_owned(),
        },
        Err(err) => Outcome::Untrusted(anyhow!(err)),
    })
}

/// Checks a v2 `APKINDEX.tar.gz` (as read by [`IndexArchive::from_bytes`]).
fn check_index_archive(archive: Result<IndexArchive, ReadArchiveError>, keys: &KeySet) -> Outcome {
    let archive = match archive {
        Ok(archive) => archive,
        Err(err) => {
            return Outcome::Failed(anyhow!(err).context("invalid index archive"));
        }
    };
    match archive.verify(keys) {
        Ok(by) => Outcome::Verified {
            key_name: by.key_name().to_owned(),
        },
        Err(err) => Outcome::Untrusted(anyhow!(err)),
    }
}

/// Writes the line for one file.
fn report(out: &mut impl Write, path: &Path, outcome: &Outcome, verbosity: i16) -> io::Result<()> {
    let file = path.display();
    match outcome {
        Outcome::Verified { .. } if verbosity < 0 => Ok(()),
        Outcome::Verified { key_name } if verbosity > 0 => {
            writeln!(out, "{file}: OK (signed by {key_name})")
        }
        Outcome::Verified { .. } => writeln!(out, "{file}: OK"),
        Outcome::Untrusted(why) if verbosity > 0 => {
            writeln!(out, "{file}: UNTRUSTED ({why:#})")
        }
        Outcome::Untrusted(_) => writeln!(out, "{file}: UNTRUSTED"),
        Outcome::Failed(err) => writeln!(out, "{file}: {err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_file_kinds() {
        assert_eq!(FileKind::sniff(b"\x1f\x8b\x08\0"), FileKind::Gzip);
        assert_eq!(FileKind::sniff(b"ADBd\0\0"), FileKind::Adb);
        assert_eq!(FileKind::sniff(b"ADB.pckg"), FileKind::Adb);
        assert_eq!(FileKind::sniff(b"ADB"), FileKind::Unknown);
        assert_eq!(FileKind::sniff(b""), FileKind::Unknown);
    }
}
