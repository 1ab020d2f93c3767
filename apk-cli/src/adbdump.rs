//! `apk-rs adbdump`: print apk v3 (ADB) files, packages and indexes, as apk-tools 3's
//! `adbdump` does.
//!
//! For each file, in argument order, the text of [`apk_index::adb::dump`] is written to
//! stdout: the schema, the ADB block as a YAML-like tree, then one line per signature and per
//! data block. A signature shows `UNTRUSTED signature` unless a trusted key (from
//! `--keys-dir`, or `ROOT/etc/apk/keys`) verifies it, which shows `OK`; `adbdump` prints the
//! file either way, like `apk adbdump --allow-untrusted`. With no trusted keys the output is
//! byte for byte that of apk-tools 3.0.6.
//!
//! A file that cannot be read or is not a valid ADB file is reported on stderr as
//! `ERROR: FILE: reason` and counted; the exit code is the number of such files (capped
//! at 255).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apk_index::adb::{self, ReadOptions};

use crate::verify::load_keys;
use crate::{Global, failure_count_exit_code};

/// Options of `apk-rs adbdump`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The v3 files to print: packages (.apk) and indexes (Packages.adb).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Runs `adbdump`, writing the dumps to `out`.
pub fn run(args: Args, global: &Global, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let keys = load_keys(global)?;
    let mut failed = 0;
    for file in &args.files {
        let dumped = std::fs::read(file)
            .context("failed to read the file")
            .and_then(|data| {
                adb::dump_bytes(&data, Some(&keys), &ReadOptions::default())
                    .map_err(anyhow::Error::from)
            });
        match dumped {
            Ok(text) => out.write_all(&text).context("failed to write the dump")?,
            Err(err) => {
                out.flush().context("failed to write the dump")?;
                eprintln!("ERROR: {}: {err:#}", file.display());
                failed += 1;
            }
        }
    }
    Ok(failure_count_exit_code(failed))
}
