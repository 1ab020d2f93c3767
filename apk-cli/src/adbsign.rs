//! `apk-rs adbsign`: sign, re-sign or re-compress v3 (ADB) files in place, as apk-tools 3's
//! `adbsign` does.
//!
//! ```text
//! apk-rs adbsign --sign-key ~/.abuild/me.rsa [--reset-signatures] [--compression ALG] FILE…
//! ```
//!
//! Each file (package or index, any compression) streams through: its ADB block is kept as
//! it is (so the package identity does not change), its signatures too, except those by a
//! key given now (replaced) or all of them with `--reset-signatures`; each `--sign-key` adds
//! one; the DATA blocks of a package are copied one at a time. The file keeps its compression
//! unless `--compression` names another. It is written under a temporary name and renamed
//! into place, so a failure leaves it untouched. Signatures are not checked: use `verify`.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use apk_index::SigningKey;
use apk_index::adb::{self, AdbFile, AdbStreamWriter, BlockReader, Compression, ReadOptions};

use crate::Global;

/// Options of `apk-rs adbsign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sign with the private key file KEY (may be repeated).
    #[arg(long = "sign-key", value_name = "KEY")]
    sign_keys: Vec<PathBuf>,

    /// Remove every existing signature first.
    #[arg(long = "reset-signatures")]
    reset_signatures: bool,

    /// Re-compress: deflate, deflate:LEVEL, zstd, zstd:LEVEL or none (default: keep).
    #[arg(long = "compression", value_name = "ALG[:LEVEL]")]
    compression: Option<String>,

    /// The v3 files (packages or indexes).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Runs `adbsign`: exit status 1 when any file failed (each failure is reported).
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let compression: Option<Compression> =
        args.compression.as_deref().map(str::parse).transpose()?;
    let keys = crate::index::load_signing_keys(&args.sign_keys)?;
    let mut failed = false;
    for path in &args.files {
        match resign(path, &keys, args.reset_signatures, compression) {
            Ok(signatures) => {
                if global.verbosity > 0 {
                    writeln!(out, "{}: {signatures} signatures", path.display())?;
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("ERROR: {}: {e:#}", path.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Rewrites one file; returns how many signatures it has now.
fn resign(
    path: &Path,
    keys: &[SigningKey],
    reset: bool,
    compression: Option<Compression>,
) -> anyhow::Result<usize> {
    let file = std::fs::File::open(path).context("cannot open it")?;
    let mut blocks = BlockReader::open(
        BufReader::with_capacity(128 << 10, file),
        &ReadOptions::default(),
    )?;
    let head = blocks.take_head();
    let parsed = AdbFile::parse(&head)?;
    let payload = parsed.adb().payload();
    let new_ids: Vec<[u8; 16]> = keys.iter().map(|k| adb::key_id(&k.public_key())).collect();
    let kept: Vec<&[u8]> = if reset {
        Vec::new()
    } else {
        parsed
            .signatures()
            .iter()
            .filter(|s| s.key_id.is_none_or(|id| !new_ids.contains(&id)))
            .map(|s| s.payload)
            .collect()
    };
    let mut added = Vec::new();
    for key in keys {
        added.push(adb::sign_payload(parsed.schema(), payload, key)?);
    }
    let compression = compression.unwrap_or(blocks.compression());
    crate::index::replace_file(path, |out| {
        let mut w = AdbStreamWriter::new(out, parsed.schema(), compression)?;
        w.write_adb(payload)?;
        for sig in kept.iter().copied().chain(added.iter().map(Vec::as_slice)) {
            w.write_sig(sig)?;
        }
        let mut buf = vec![0u8; 64 * 1024];
        while let Some(h) = blocks.next_data()? {
            w.begin_data(h.path_index, h.file_index, h.size)?;
            loop {
                let n = blocks.read_data(&mut buf)?;
                if n == 0 {
                    break;
                }
                w.write_contents(&buf[..n])?;
            }
        }
        w.finish()?;
        Ok(())
    })?;
    Ok(kept.len() + added.len())
}
